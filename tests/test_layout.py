"""The house: packages by concept, imports that run one way, faces that find every name.

Read from the source with ``ast`` (imports inside functions included), so a lazy import that
climbs a layer fails here as a top-level one would."""
from __future__ import annotations

import ast
import graphlib
import importlib
from pathlib import Path

import pytest

import mgdl_core

LIB = Path(mgdl_core.__file__).parent
# Lowest first: a module may import its own layer and the layers below it, never one above.
LAYERS = {"ground": 0, "core": 1, "theory": 2, "tasks": 3, "runs": 4, "pages": 5, "face": 6}
PACKAGES = ("core", "theory", "tasks", "runs", "pages")


def _name(path: Path) -> str:
    parts = path.relative_to(LIB.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(LIB.rglob("*.py"))}


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in PACKAGES:
        return parts[1]
    return "face" if parts[-1] in ("cli", "cli_parser", "__main__") else "ground"


def _imports(module: str) -> set[str]:
    """The library modules ``module`` imports (a package face counts as itself)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            if not base.startswith("mgdl_core"):
                continue
            for alias in node.names:  # `from ..tasks import restoration_baselines` imports a module
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("mgdl_core")}
    return found - {module}


GRAPH = {m: _imports(m) for m in MODULES}


def test_every_import_names_a_module_that_exists():
    """A relative import that lost its way in a move (``from .core import`` inside ``runs/``)
    fails only when its function runs: here it fails at once."""
    missing = [f"{m} imports {d}" for m, deps in GRAPH.items() for d in deps if d not in MODULES]
    assert not missing, "\n".join(missing)


def test_every_module_is_in_a_layer():
    ground = sorted(m for m in MODULES if _layer(m) == "ground")
    assert ground == ["mgdl_core", "mgdl_core._face", "mgdl_core.errors", "mgdl_core.runtime"]
    assert sorted(m for m in MODULES if _layer(m) == "face") == ["mgdl_core.__main__", "mgdl_core.cli", "mgdl_core.cli_parser"]


def test_no_import_climbs_a_layer():
    climbs = [f"{m} ({_layer(m)}) imports {d} ({_layer(d)})" for m, deps in GRAPH.items() for d in deps
              if LAYERS[_layer(d)] > LAYERS[_layer(m)]]
    assert not climbs, "\n".join(climbs)


def test_no_import_circle():
    graphlib.TopologicalSorter(GRAPH).prepare()  # raises CycleError naming the circle


def test_library_modules_import_modules_not_faces():
    """Faces (a package's ``__init__``) are for pages and users; inside the library an import
    names the module, so what a module needs is visible in its first lines."""
    faces = {f"mgdl_core.{p}" for p in PACKAGES}
    wrong = [f"{m} imports the face {d}" for m, deps in GRAPH.items() if m not in faces for d in deps if d in faces]
    assert not wrong, "\n".join(wrong)


def test_the_ground_imports_nothing_above_it():
    """errors and _face import no library module; runtime only errors (its environment variables' bounds)."""
    for m, below in (("mgdl_core.errors", set()), ("mgdl_core.runtime", {"mgdl_core.errors"}), ("mgdl_core._face", set())):
        assert GRAPH[m] <= {"mgdl_core"} | below, (m, GRAPH[m])


def _defined(path: Path) -> list[str]:
    """The public names a module defines at its top level (classes, functions, constants)."""
    names = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [n for n in names if not n.startswith("_")]


@pytest.mark.parametrize("package", PACKAGES)
def test_a_face_finds_every_public_name(package):
    """Each public name of each module is on its package's face, the same object, unless two
    modules define it differently (then neither is, and the module gives it)."""
    face = importlib.import_module(f"mgdl_core.{package}")
    defined: dict[str, list] = {}
    for path in sorted((LIB / package).glob("*.py")):
        if path.name == "__init__.py":
            continue
        mod = importlib.import_module(f"mgdl_core.{package}.{path.stem}")
        names = getattr(mod, "__all__", None) or _defined(path)
        for n in names:
            defined.setdefault(n, []).append(getattr(mod, n))
        assert getattr(face, path.stem) is mod
    for name, objects in defined.items():
        if all(o is objects[0] for o in objects):
            assert getattr(face, name) is objects[0], f"mgdl_core.{package}.{name}"
        else:
            assert name not in face.__all__, f"mgdl_core.{package}.{name} is ambiguous: two modules define it"
    assert set(face.__all__) <= set(defined)


def test_the_map_in_the_package_docstring_lists_every_module():
    for package in PACKAGES:
        doc = importlib.import_module(f"mgdl_core.{package}").__doc__
        for path in (LIB / package).glob("*.py"):
            if path.name != "__init__.py":
                assert f"``{path.stem}``" in doc, (package, path.stem)
    for package in PACKAGES:
        assert f"``{package}/``" in mgdl_core.__doc__


def test_no_module_over_400_lines_unless_its_docstring_says_why():
    for path in sorted(LIB.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > 400:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            assert "Over 400 lines:" in doc, f"{path.relative_to(LIB)}: {lines} lines and no reason in its docstring"


def test_a_record_hash_names_no_module_path():
    """A record's folder is the hash of its kind, fields and record version: these are the
    hashes the same configurations had before the modules moved into packages (stop 33), so
    every record and committed result made before reads as before."""
    from mgdl_core.runs.records import config_hash
    from mgdl_core.tasks.image_regression import ImageRegressionRun
    from mgdl_core.tasks.restoration import RestorationRun
    from mgdl_core.tasks.synthetic import SyntheticRun

    before = {"synthetic": "801589e1f681f882", "image_regression": "4352899ae5614fa5", "restoration": "9853cd4c76095733"}
    for config in (SyntheticRun(), ImageRegressionRun(image="cameraman"), RestorationRun()):
        assert config_hash(config.kind, config) == before[config.kind]
