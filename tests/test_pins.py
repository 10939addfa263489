"""pyproject.toml is the one list of pins; environment.yml must repeat it exactly."""
from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
SELF = canonicalize_name(PROJECT["name"])


def _pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        if name == SELF:  # "mgdl-core[book,test]" inside the `all` extra
            continue
        pins[name] = str(req.specifier)
    return pins


def pyproject_pins() -> dict[str, str]:
    lines = list(PROJECT["dependencies"])
    for extra in PROJECT.get("optional-dependencies", {}).values():
        lines += extra
    return _pins(lines)


def environment_yml():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return env, conda, pip


def test_pyproject_pins_are_exact():
    loose = {n: s for n, s in pyproject_pins().items() if not s.startswith("==") or "," in s}
    assert not loose, f"pyproject.toml: pin these exactly (==): {loose}"


def test_environment_yml_matches_pyproject():
    env, conda, pip = environment_yml()
    assert env.get("channels") == ["conda-forge"]
    assert "python=3.11" in conda and "pip" in conda
    assert pip[-1] == "-e .", "environment.yml: the pip list must end with `-e .`"
    got = _pins(pip[:-1])
    want = pyproject_pins()
    diff = {n: (want.get(n), got.get(n)) for n in sorted(set(want) | set(got)) if want.get(n) != got.get(n)}
    assert not diff, ("environment.yml and pyproject.toml disagree "
                      f"(package: (pyproject, environment.yml)): {diff}")


def _checked_pins() -> list[str]:
    """Every pinned package, but those of the ``bench`` extra only where they are installed: JAX
    is for bench/bench_vs_jax.py alone, and neither `make test` nor CI installs it (a skip there
    would be one that ``MGDL_STRICT_SKIPS`` rightly refuses)."""
    bench = set(_pins(PROJECT.get("optional-dependencies", {}).get("bench", [])))
    installed = set()
    for name in bench:
        try:
            metadata.version(name)
            installed.add(name)
        except metadata.PackageNotFoundError:
            pass
    return sorted(n for n in pyproject_pins() if n not in bench or n in installed)


@pytest.mark.parametrize("name", _checked_pins())
def test_installed_version_matches_pin(name):
    """The venv has what pyproject pins (a local tag such as torch's +cpu/+cu128 is fine)."""
    spec = pyproject_pins()[name]
    try:
        installed = Version(metadata.version(name))
    except metadata.PackageNotFoundError:
        pytest.skip(f"{name} not installed")
    assert Version(installed.public) in Requirement(f"{name}{spec}").specifier, (
        f"{name} {installed} is installed but pyproject.toml pins {spec}: re-run `make test` "
        "(touch pyproject.toml to force a reinstall)")
