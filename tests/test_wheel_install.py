"""The wheel, installed: a wheel built from this checkout installs into a fresh virtual
environment, and its ``mgdl`` console script runs from another directory, writing the record
under that directory's ``runs/`` and nothing inside the installed package.

Offline: the wheel is built with ``--no-build-isolation`` (the build backend must already be in
this environment), installed with ``--no-deps --no-index``, and the fresh environment sees this
environment's torch, numpy, ... through a ``.pth`` file, placed after its own site-packages so the
wheel's ``mgdl_core`` is the one imported. The build runs on a copy of the project's files, so the
checkout gains no ``build/`` or ``*.egg-info``.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "mgdl_core"
BIN = "Scripts" if os.name == "nt" else "bin"
EXE = ".exe" if os.name == "nt" else ""
# The smallest synthetic run: one hidden layer of width 4, five epochs (about a second of CPU).
RUN_ARGS = ["run", "synthetic", "--method", "sgdl", "--lr", "0.05", "--epochs", "5",
            "--structure", "[1]->[4]x1->[1]", "--device", "cpu", "--quiet", "--json"]


def _pyproject() -> str:
    return (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def _build_requirements_missing() -> str:
    """Why this environment cannot build the wheel offline (empty when it can)."""
    text = _pyproject()
    backend = re.search(r'^build-backend\s*=\s*"([^"]+)"', text, re.M)
    requires = re.search(r"^requires\s*=\s*\[([^\]]*)\]", text, re.M)
    if backend is None or requires is None:
        return "pyproject.toml names no [build-system] build-backend/requires"
    module = backend.group(1).split(":")[0]
    if importlib.util.find_spec(module.split(".")[0]) is None:
        return f"the build backend {module} is not importable in {sys.executable} (no download attempted)"
    try:
        from packaging.requirements import Requirement
    except ImportError:
        from pip._vendor.packaging.requirements import Requirement
    for spec in re.findall(r'"([^"]+)"', requires.group(1)):
        req = Requirement(spec)
        try:
            have = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            return f"build requirement {spec!r} is not installed in {sys.executable} (no download attempted)"
        if not req.specifier.contains(have, prereleases=True):
            return f"build requirement {spec!r} is not met: {req.name} {have} (no download attempted)"
    # setuptools before 70.1 builds wheels only with the `wheel` package beside it
    if module.startswith("setuptools") and importlib.util.find_spec("setuptools.command.bdist_wheel") is None \
            and importlib.util.find_spec("wheel") is None:
        return "setuptools here has no bdist_wheel and the `wheel` package is missing (no download attempted)"
    return ""


def _copy_project(dest: Path) -> Path:
    """The files the build reads: pyproject.toml, the files it names (readme, license) and the package."""
    dest.mkdir()
    text = _pyproject()
    names = {"pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "setup.py", "setup.cfg"}
    names |= set(re.findall(r'^(?:readme|license)\s*=\s*"([^"]+)"', text, re.M))
    names |= set(re.findall(r'^(?:readme|license)\s*=\s*\{\s*file\s*=\s*"([^"]+)"', text, re.M))
    for name in names:
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / PACKAGE, dest / PACKAGE, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def _clean_env() -> dict[str, str]:
    """This process's environment less everything that could point the installed copy back at the
    checkout or at a runs folder (the test suite may set MGDL_RUNS_DIR)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MGDL_") and k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV",
                                                       "PYTHONSAFEPATH")}
    env.update(OMP_NUM_THREADS="1", MPLBACKEND="Agg", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return env


def _check(cmd: list, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))} exited {out.returncode}\n{out.stdout}\n{out.stderr}"
    return out


def _files(folder: Path) -> set[str]:
    """Every file under ``folder`` (bytecode caches aside), relative to it."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    why = _build_requirements_missing()
    if why:
        pytest.skip(why)
    env = _clean_env()
    timings = {}

    # 1. The wheel, offline, from a copy of the project's files.
    t0 = time.perf_counter()
    dist = tmp_path / "dist"
    _check([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
            "--no-cache-dir", "-q", "-w", dist, _copy_project(tmp_path / "src")], env=env, cwd=tmp_path)
    timings["build"] = time.perf_counter() - t0
    wheels = list(dist.glob("*.whl"))
    assert len(wheels) == 1, wheels
    version = re.search(r'^version\s*=\s*"([^"]+)"', _pyproject(), re.M).group(1)
    assert wheels[0].name.startswith(f"mgdl_core-{version}-"), wheels[0].name
    with zipfile.ZipFile(wheels[0]) as whl:
        names = whl.namelist()
        entry_points = whl.read(f"mgdl_core-{version}.dist-info/entry_points.txt").decode()
    # every module of the package is in the wheel, and nothing from outside it (tests, book, runs)
    shipped = {n for n in names if n.startswith(f"{PACKAGE}/")}
    source = {f"{PACKAGE}/{p}" for p in _files(ROOT / PACKAGE) if not p.endswith(".pyc")}
    assert source <= shipped, f"files of the package missing from the wheel: {sorted(source - shipped)}"
    assert {n.split("/")[0] for n in names} == {PACKAGE, f"mgdl_core-{version}.dist-info"}, sorted(names)
    assert re.search(r"^mgdl\s*=\s*mgdl_core\.cli:main$", entry_points, re.M), entry_points

    # 2. A fresh venv (of the interpreter this one is made from), the wheel installed into it
    # with this environment's pip, and this environment's dependencies after its own site-packages.
    t0 = time.perf_counter()
    venv = tmp_path / "venv"
    base = getattr(sys, "_base_executable", None) or sys.executable
    _check([base, "-m", "venv", "--without-pip", venv], env=env)
    python = venv / BIN / f"python{EXE}"
    _check([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
            "--no-cache-dir", "-q", wheels[0]], env=env, cwd=tmp_path)
    purelib = Path(_check([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          env=env, cwd=tmp_path).stdout.strip())
    (purelib / "zz_mgdl_test_parent_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    timings["venv+install"] = time.perf_counter() - t0

    work = tmp_path / "elsewhere"
    work.mkdir()
    imported = _check([python, "-c", "import mgdl_core, numpy, torch; print(mgdl_core.__file__)"],
                      env=env, cwd=work).stdout.strip()
    assert Path(imported).resolve() == (purelib / PACKAGE / "__init__.py").resolve(), \
        f"mgdl_core imported from {imported}, not from the fresh venv's {purelib}"

    # 3. The console script from an empty directory: the version, then a tiny run.
    mgdl = venv / BIN / f"mgdl{EXE}"
    assert mgdl.is_file(), f"the wheel declared no `mgdl` script: {sorted(os.listdir(venv / BIN))}"
    out = _check([mgdl, "--version"], env=env, cwd=work).stdout
    assert out.startswith(f"mgdl {version} ") and "not a git checkout" in out, out

    before = _files(venv)
    checkout_runs = ROOT / "runs" / "synthetic"
    known = set(os.listdir(checkout_runs)) if checkout_runs.is_dir() else set()
    t0 = time.perf_counter()
    out = _check([mgdl, *RUN_ARGS], env=env, cwd=work).stdout
    timings["mgdl run"] = time.perf_counter() - t0
    result = json.loads(out)
    record = Path(result["record"])
    assert result["outcome"] == "completed" and result["epochs_run"] == 5, result
    assert record.parent.resolve() == (work / "runs" / "synthetic").resolve(), record
    summary = json.loads((work / "runs" / "synthetic" / record.name / "summary.json").read_text(encoding="utf-8"))
    assert summary["hash"] == record.name and summary["git_sha"] == "unknown", summary
    assert summary["library_version"] == version

    # nothing written inside the installed package or the fresh environment, nor in the checkout
    assert _files(venv) == before, f"the run wrote into the venv: {sorted(_files(venv) - before)}"
    # (mgdl_core/runs is a subpackage: a record there would be a synthetic/ folder)
    for folder in (purelib / "runs", purelib / "results", purelib / PACKAGE / "results",
                   purelib / PACKAGE / "runs" / "synthetic"):
        assert not folder.exists(), f"the run wrote {folder}"
    if record.name not in known:
        assert not (checkout_runs / record.name).exists(), "the installed copy wrote into the checkout's runs/"
    assert sorted(os.listdir(work)) == ["runs"], os.listdir(work)

    print("wheel install test: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
