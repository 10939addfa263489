"""What a reader of a computational book asks for besides the code: a licence, how to cite the
paper and this edition, and the version of what they run (issue 27)."""
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

import mgdl_core

ROOT = Path(__file__).resolve().parents[1]


def test_the_licence_is_the_one_the_package_declares():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]  # SPDX (PEP 639)
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_citation_asks_for_the_paper_and_names_this_edition():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["version"] == mgdl_core.__version__
    paper = cff["preferred-citation"]
    assert paper["title"].startswith("Computational Advantages of Multi-Grade Deep Learning")
    assert [a["family-names"] for a in paper["authors"]] == ["Fang", "Xu"]
    assert "edition" in cff["title"] and cff["license"] == "MIT"


def test_version_names_the_package_and_the_checkout_without_importing_torch():
    code = ("import sys; from mgdl_core.cli import main\n"
            "try:\n    main(['--version'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
            "assert 'torch' not in sys.modules, 'mgdl --version imported torch'\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    line = out.stdout.strip()
    assert line.startswith(f"mgdl {mgdl_core.__version__} (") and str(ROOT) in line
    if (ROOT / ".git").exists():
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True).stdout.strip()
        assert sha and sha in line
