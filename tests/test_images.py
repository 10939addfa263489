"""Tests for mgdl_core.tasks.images: every lookup path for real, with no internet.

The paper's files come from ``../shared/data/images`` (next to the repository); downloads are
served by a local ``http.server`` on 127.0.0.1.
"""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mgdl_core.tasks import images
from mgdl_core.tasks.images import ImageHashError, ImageNotFoundError, available_images, image_path, load_image


SHAPES = {"resolution_chart": (256, 256), "cameraman": (256, 256), "barbara": (512, 512),
          "butterfly": (512, 512), "pirate": (1024, 1024), "chest": (1024, 1024)}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the user's environment or touches the user's cache."""
    for var in ("MGDL_DATA_DIR", "MGDL_DATA_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MGDL_CACHE_DIR", str(tmp_path / "cache"))


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there any more


@pytest.fixture
def serve() -> Iterator:
    """``serve(folder)`` starts a local HTTP server on it; returns (base URL, request paths)."""
    servers = []

    def start(folder: Path) -> tuple[str, list[str]]:
        hits: list[str] = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                super().do_GET()

            def log_message(self, *args: object) -> None:
                pass

        srv = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}", hits

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


@pytest.mark.parametrize("name", list(SHAPES))
def test_every_image_loads(name: str, monkeypatch: pytest.MonkeyPatch, paper_images: Path) -> None:
    monkeypatch.setenv("MGDL_DATA_DIR", str(paper_images))
    a = load_image(name)
    assert a.shape == SHAPES[name] == images.IMAGES[name].shape
    assert a.dtype == np.float64 and a.ndim == 2
    assert 0.0 <= a.min() < a.max() <= 1.0
    # exactly the authors' reading: uint8 / 255
    assert np.array_equal(a * 255, np.round(a * 255))
    assert image_path(name) == paper_images / images.IMAGES[name].filename


def test_names() -> None:
    assert available_images() == list(SHAPES)
    assert images.IMAGES["pirate"].filename == "male.tiff"
    assert all(t.url.startswith("https://raw.githubusercontent.com/Ronglong-Fang/") for t in images.IMAGES.values())


def test_aliases(monkeypatch: pytest.MonkeyPatch, paper_images: Path) -> None:
    monkeypatch.setenv("MGDL_DATA_DIR", str(paper_images))
    assert np.array_equal(load_image("male"), load_image("Pirate"))


def test_local_lookup_never_downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the tests use to find their data: MGDL_DATA_DIR, then the cache, nothing remote."""
    monkeypatch.setenv("MGDL_DATA_URL", _closed_port_url())
    path, tried = images.local_image_path("cameraman")
    assert path is None and tried == ["MGDL_DATA_DIR: not set", f"cache: {tmp_path / 'cache' / 'cameraman.tif'} does not exist"]
    assert not (tmp_path / "cache").exists()


def test_unknown_name_suggests() -> None:
    with pytest.raises(ValueError, match=r"unknown image name 'camerman'.*Did you mean 'cameraman'") as ei:
        load_image("camerman")
    assert "barbara" in str(ei.value) and "chest" in str(ei.value)


def test_walnut_is_missing() -> None:
    with pytest.raises(ImageNotFoundError, match="Walnut.*missing from every public copy"):
        load_image("walnut")


def test_wrong_hash_in_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, paper_images: Path) -> None:
    d = tmp_path / "data"
    d.mkdir()
    raw = bytearray((paper_images / "cameraman.tif").read_bytes())
    raw[-1] ^= 0xFF
    (d / "cameraman.tif").write_bytes(bytes(raw))
    monkeypatch.setenv("MGDL_DATA_DIR", str(d))
    with pytest.raises(ImageHashError) as ei:
        load_image("cameraman")
    msg = str(ei.value)
    assert str(d / "cameraman.tif") in msg and images.IMAGES["cameraman"].sha256 in msg
    assert "Replace it" in msg


def test_truncated_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, paper_images: Path) -> None:
    f = tmp_path / "chest.png"
    f.write_bytes((paper_images / "chest.png").read_bytes()[:20_000])
    with pytest.raises(ValueError, match=r"cannot read .*chest\.png.*truncated"):
        load_image(f)
    monkeypatch.setenv("MGDL_DATA_DIR", str(tmp_path))  # as a named image: the hash catches it
    with pytest.raises(ImageHashError, match="expected SHA-256"):
        load_image("chest")


def test_not_an_image(tmp_path: Path) -> None:
    f = tmp_path / "x.png"
    f.write_text("this is not a picture\n")
    with pytest.raises(ValueError, match=r"cannot read .*x\.png"):
        load_image(str(f))


def test_missing_user_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such image file"):
        load_image(tmp_path / "nope.png")


def test_colour_image_converted_with_warning(tmp_path: Path) -> None:
    rgb = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [200, 100, 50]]], dtype=np.uint8)
    f = tmp_path / "colour.png"
    Image.fromarray(rgb).save(f)
    with pytest.warns(UserWarning, match="colour image; converted to greyscale"):
        a = load_image(f)
    luma = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    assert a.shape == (2, 2) and a.dtype == np.float64
    np.testing.assert_array_equal(a * 255, np.round(luma))  # k / 255 · 255 is k again for every 8-bit k
    assert a[0, 0] == 76 / 255 and a[0, 1] == 150 / 255 and a[1, 0] == 29 / 255


def test_grey_palette_and_16_bit_need_no_warning(tmp_path: Path) -> None:
    idx = np.arange(16, dtype=np.uint8).reshape(4, 4)
    grey = [v for i in range(256) for v in (255 - i,) * 3]  # grey palette, reversed
    p = Image.fromarray(idx, mode="P")
    p.putpalette(grey)
    p.save(tmp_path / "p.png")
    p.save(tmp_path / "p.gif")
    deep = (np.arange(16, dtype=np.uint16).reshape(4, 4) * 4000)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in ("p.png", "p.gif"):
            assert np.array_equal(load_image(tmp_path / name), (255 - idx) / 255.0)
        assert np.array_equal(load_image(tmp_path / "deep.png"), deep / 65535.0)


def test_colour_palette_warns(tmp_path: Path) -> None:
    p = Image.fromarray(np.array([[0, 1]], dtype=np.uint8), mode="P")
    p.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    p.save(tmp_path / "c.png")
    with pytest.warns(UserWarning, match="colour image"):
        assert np.array_equal(load_image(tmp_path / "c.png") * 255, [[76, 29]])


@pytest.mark.parametrize("with_data_dir", [False, True])
def test_nothing_available(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_data_dir: bool) -> None:
    url = _closed_port_url()
    monkeypatch.setenv("MGDL_DATA_URL", url)
    if with_data_dir:
        (tmp_path / "empty").mkdir()
        monkeypatch.setenv("MGDL_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(ImageNotFoundError) as ei:
        load_image("barbara")
    msg = str(ei.value)
    assert "'barbara'" in msg and str(tmp_path / "cache" / "barbara.gif") in msg
    assert f"{url}/barbara.gif" in msg and "ConnectionError" in msg
    assert (str(tmp_path / "empty" / "barbara.gif") if with_data_dir else "MGDL_DATA_DIR: not set") in msg
    assert "set MGDL_DATA_DIR" in msg and "MGDL_DATA_URL" in msg
    assert not any((tmp_path / "cache").glob("*"))


def test_download_then_cache(tmp_path: Path, serve, monkeypatch: pytest.MonkeyPatch, paper_images: Path) -> None:
    url, hits = serve(paper_images)
    monkeypatch.setenv("MGDL_DATA_URL", url + "/")
    first = load_image("cameraman")
    assert hits == ["/cameraman.tif"]
    assert (tmp_path / "cache" / "cameraman.tif").read_bytes() == (paper_images / "cameraman.tif").read_bytes()
    second = load_image("cameraman")
    assert hits == ["/cameraman.tif"]  # served from the cache, no second request
    assert np.array_equal(first, second) and first.shape == (256, 256)


def test_download_wrong_hash_keeps_nothing(tmp_path: Path, serve, monkeypatch: pytest.MonkeyPatch, paper_images: Path) -> None:
    bad = tmp_path / "served"
    bad.mkdir()
    shutil.copy(paper_images / "cameraman.tif", bad / "cameraman.tif")
    with open(bad / "cameraman.tif", "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02")
    url, hits = serve(bad)
    monkeypatch.setenv("MGDL_DATA_URL", url)
    with pytest.raises(ImageHashError, match=r"downloaded cameraman\.tif .*not the paper's file") as ei:
        load_image("cameraman")
    assert images.IMAGES["cameraman"].sha256 in str(ei.value)
    assert hits == ["/cameraman.tif"]
    assert list((tmp_path / "cache").iterdir()) == []


def test_import_has_no_side_effects(tmp_path: Path) -> None:
    env = {**os.environ, "MGDL_CACHE_DIR": str(tmp_path / "never"), "MGDL_DATA_URL": _closed_port_url()}
    subprocess.run([sys.executable, "-c", "import mgdl_core.tasks.images"], env=env, check=True)
    assert not (tmp_path / "never").exists()
