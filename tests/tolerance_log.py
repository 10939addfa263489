"""How much of its tolerance each numeric assertion uses, and what it compared: a pytest plugin
for auditing the suite across numeric paths.

With ``MGDL_TOLERANCE_LOG=FILE`` set, every ``numpy.testing.assert_allclose``,
``torch.testing.assert_close``, ``torch.allclose`` and scalar ``pytest.approx`` comparison appends one JSON line to FILE: the test, the call site, the
tolerance, the *used fraction* ``max |actual - desired| / (atol + rtol |desired|)`` (an assertion
passes while it is at most 1) and a digest of the actual values. Run the suite once on each
numeric path and compare with ``python tests/tolerance_log.py A.jsonl B.jsonl``: it lists the
call sites whose compared values moved between the paths (digests differ) and the ones that use
more than a tenth of their room on either path. Without the variable nothing is patched.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from collections import defaultdict

import numpy as np
import pytest

_LOG = os.environ.get("MGDL_TOLERANCE_LOG")
_current = {"test": ""}


def _record(actual, desired, rtol: float, atol: float) -> None:
    try:
        a, d, rtol, atol = (np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v, dtype=np.float64)
                            for v in (actual, desired, rtol, atol))
        a, d = np.broadcast_arrays(a, d)
        finite = np.isfinite(a) & np.isfinite(d)
        room = atol + rtol * np.abs(d[finite])
        diff = np.abs(a[finite] - d[finite])
        used = float(np.max(np.where(room > 0, diff / np.where(room > 0, room, 1), np.where(diff > 0, np.inf, 0)))) \
            if diff.size else 0.0
        digest = hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]
    except Exception:  # noqa: BLE001 - the assertion itself reports what it cannot compare
        return
    frame = sys._getframe(2)
    while frame and "tests" not in frame.f_code.co_filename.split(os.sep)[-2:-1]:
        frame = frame.f_back
    site = f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}" if frame else "?"
    with open(_LOG, "a") as fh:
        fh.write(json.dumps({"test": _current["test"], "site": site, "rtol": float(np.max(rtol)), "atol": float(np.max(atol)),
                             "used": used, "digest": digest}) + "\n")


def _patch() -> None:
    import torch

    np_close = np.testing.assert_allclose

    def assert_allclose(actual, desired, rtol=1e-7, atol=0, *args, **kwargs):
        _record(actual, desired, rtol, atol)
        return np_close(actual, desired, rtol, atol, *args, **kwargs)

    torch_close = torch.testing.assert_close

    def assert_close(actual, expected, *args, rtol=None, atol=None, **kwargs):
        if rtol is None or atol is None:  # torch's defaults for the dtype
            dtype = getattr(actual, "dtype", torch.float64)
            rtol, atol = {torch.float16: (1e-3, 1e-5), torch.bfloat16: (1.6e-2, 1e-5),
                          torch.float32: (1.3e-6, 1e-5)}.get(dtype, (1e-7, 1e-7))
        if isinstance(actual, torch.Tensor) and isinstance(expected, torch.Tensor) and actual.is_floating_point():
            _record(actual, expected, rtol, atol)
        return torch_close(actual, expected, *args, rtol=rtol, atol=atol, **kwargs)

    torch_allclose = torch.allclose

    def allclose(input, other, rtol=1e-5, atol=1e-8, equal_nan=False):
        _record(input, other, rtol, atol)
        return torch_allclose(input, other, rtol=rtol, atol=atol, equal_nan=equal_nan)

    approx_eq = type(pytest.approx(1.0)).__eq__

    def approx_scalar_eq(self, actual):
        try:
            tolerance = float(self.tolerance)
            if isinstance(actual, (int, float, np.floating)) and not isinstance(actual, bool):
                _record(actual, self.expected, 0.0, tolerance)
        except (TypeError, ValueError):
            pass
        return approx_eq(self, actual)

    np.testing.assert_allclose = assert_allclose
    torch.testing.assert_close = assert_close
    torch.allclose = allclose
    type(pytest.approx(1.0)).__eq__ = approx_scalar_eq


def pytest_configure(config) -> None:
    """Registered by tests/conftest.py only when ``MGDL_TOLERANCE_LOG`` is set."""
    if _LOG:
        _patch()


def pytest_runtest_setup(item) -> None:
    _current["test"] = item.nodeid


def compare(path_a: str, path_b: str, tight: float = 0.1) -> None:
    """Print the call sites whose values moved between two logs, and those using > `tight`."""
    logs = []
    for path in (path_a, path_b):
        rows = defaultdict(list)
        with open(path) as fh:
            for line in fh:
                r = json.loads(line)
                rows[(r["test"], r["site"])].append(r)
        logs.append(rows)
    sites = defaultdict(lambda: {"moved": 0, "calls": 0, "used_a": 0.0, "used_b": 0.0, "tol": ""})
    for key in logs[0].keys() & logs[1].keys():
        s = sites[key[1]]
        for ra, rb in zip(logs[0][key], logs[1][key]):
            s["calls"] += 1
            s["moved"] += ra["digest"] != rb["digest"]
            s["used_a"], s["used_b"] = max(s["used_a"], ra["used"]), max(s["used_b"], rb["used"])
            s["tol"] = f"rtol={ra['rtol']:g} atol={ra['atol']:g}"
    print(f"{'site':40} {'calls':>5} {'moved':>5} {'used A':>9} {'used B':>9}  tolerance")
    for site, s in sorted(sites.items(), key=lambda kv: -max(kv[1]["used_a"], kv[1]["used_b"])):
        if s["moved"] or max(s["used_a"], s["used_b"]) > tight:
            print(f"{site:40} {s['calls']:5d} {s['moved']:5d} {s['used_a']:9.2e} {s['used_b']:9.2e}  {s['tol']}")
    moved = sum(1 for s in sites.values() if s["moved"])
    print(f"{len(sites)} call sites compared, {moved} with values that moved between the paths")


if __name__ == "__main__":
    compare(*sys.argv[1:3])
