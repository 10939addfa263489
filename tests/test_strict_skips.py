"""CI's guard (tests/conftest.py, MGDL_STRICT_SKIPS=1): a skipped test fails the session unless
the machine is the reason. Run on a tiny suite in a subprocess, with this conftest."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).with_name("conftest.py")


def _pytest(tmp_path: Path, body: str, strict: bool) -> subprocess.CompletedProcess:
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_some.py").write_text("import pytest\n" + body)
    env = {**os.environ, "MGDL_STRICT_SKIPS": "1" if strict else "0"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:nbval",
                           "-o", "addopts=", str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True)


def test_a_skip_for_missing_data_fails_ci(tmp_path):
    body = ("def test_data():\n    pytest.skip('paper images not found (cache: /root/.cache/x); set MGDL_DATA_DIR')\n"
            "def test_ok():\n    pass\n")
    strict = _pytest(tmp_path, body, strict=True)
    assert strict.returncode == 1 and "1 test(s) skipped that must run here" in strict.stdout
    assert _pytest(tmp_path, body, strict=False).returncode == 0


def test_a_skip_for_the_machine_is_allowed(tmp_path):
    body = ("@pytest.mark.skipif(True, reason='this machine has CUDA')\ndef test_cpu_only():\n    pass\n"
            "def test_ok():\n    pass\n")
    assert _pytest(tmp_path, body, strict=True).returncode == 0
