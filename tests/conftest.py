"""Shared test setup: the paper's images, found the way the library finds them, and strict skips.

Data: the image tests use the folder in which :func:`mgdl_core.tasks.images.local_image_path` finds
the paper's files (``MGDL_DATA_DIR``, then the library's cache; no download). When
``MGDL_DATA_DIR`` is set the user says the data is there, so a missing or wrong file fails
the data tests instead of skipping them.

The browser test (``tests/browser``) needs the built book; ``MGDL_BROWSER=after-book`` leaves
it out of the session (CI's ``make test`` runs before ``make book``).

Strict skips (``MGDL_STRICT_SKIPS=1``, set by ``.ci/run``): the session fails if any test was
skipped for a reason other than the machine (no GPU, or running as root). CI has the images and installs Ray,
so a skipped image or Ray test there means a broken setup, not a missing optional extra.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# No progress output in the tests' processes and the notebook kernels nbval starts (which inherit
# this environment): the executed notebooks were made without it (the book's runner sets it too).
os.environ.setdefault("TQDM_DISABLE", "1")

from mgdl_core.tasks.images import available_images, local_image_path

# Skip reasons that stay legitimate under MGDL_STRICT_SKIPS: what depends on the machine, not on
# the setup (a GPU; running as root, for whom read-only folders are writable).
# Whole phrases: a skip reason may contain a path such as /root/.cache.
ALLOWED_SKIPS = ("this machine has CUDA", "needs CUDA", "needs a GPU", "root writes into read-only folders",
                 "no C compiler on this machine")


def find_paper_images() -> tuple[Path | None, str]:
    """The folder holding every paper image (as the library finds them), or (None, why not)."""
    folders, missing = set(), []
    for name in available_images():
        path, tried = local_image_path(name)
        if path is None:
            missing.append(f"{name}: " + "; ".join(tried))
        else:
            folders.add(path.parent)
    if missing:
        return None, "paper images not found (" + " | ".join(missing[:2]) + "); set MGDL_DATA_DIR"
    if len(folders) != 1:
        return None, f"paper images are split over {sorted(map(str, folders))}; set MGDL_DATA_DIR"
    return folders.pop(), ""


@pytest.fixture(scope="session")
def paper_images() -> Path:
    """The folder of the paper's images; skips (or, with ``MGDL_DATA_DIR`` set, fails) without it.
    Session-scoped, so it reads the user's environment before any test's monkeypatching."""
    folder, why = find_paper_images()
    if folder is None:
        if os.environ.get("MGDL_DATA_DIR"):
            pytest.fail(f"MGDL_DATA_DIR={os.environ['MGDL_DATA_DIR']} is set but {why}")
        pytest.skip(why)
    return folder


_skipped: list[tuple[str, str]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skipped.append((report.nodeid, reason))


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A whole module skipped (``allow_module_level``) counts as a skip too."""
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skipped.append((report.nodeid, reason))


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """``MGDL_BROWSER=after-book``: the browser test is left for later (CI runs ``make test``
    before ``make book``, then the browser test on the built book)."""
    if os.environ.get("MGDL_BROWSER") == "after-book" and collection_path.name == "browser" \
            and collection_path.parent == Path(__file__).parent:
        return True
    return None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("MGDL_STRICT_SKIPS") != "1":
        return
    bad = [(node, why) for node, why in _skipped if not any(phrase in why for phrase in ALLOWED_SKIPS)]
    if bad:
        lines = "\n".join(f"  {node}: {why}" for node, why in bad)
        print(f"\nMGDL_STRICT_SKIPS: {len(bad)} test(s) skipped that must run here:\n{lines}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_configure(config: pytest.Config) -> None:
    """``MGDL_TOLERANCE_LOG=FILE``: log how much room each numeric assertion uses (tests/tolerance_log.py)."""
    if os.environ.get("MGDL_TOLERANCE_LOG") and (Path(__file__).parent / "tolerance_log.py").exists():
        import tolerance_log

        config.pluginmanager.register(tolerance_log, "tolerance_log")
