"""The paper's test images, by name, as greyscale float arrays in [0, 1].

``load_image("cameraman")`` returns the image the paper calls 'Cameraman' exactly as the
authors read it (``imageio.imread(path) / 255.``): a 2-D ``float64`` array, not centred, not
clipped, not resized. The file is looked for, in order,

1. in the folder named by the environment variable ``MGDL_DATA_DIR`` (its SHA-256 is checked);
2. in a local cache (``MGDL_CACHE_DIR``, else ``pooch.os_cache("mgdl")``);
3. by downloading it into that cache with pooch, with the SHA-256 pinned. The files come from
   the authors' repository at a pinned commit, or from ``MGDL_DATA_URL`` + file name.

A path to a user's own image file is accepted too and goes through the same conversion. The
paper's seventh image, 'Walnut', is missing from every public copy of the authors' repository,
so asking for it is an error that says so.

Over 400 lines: a name or a user's path goes to one array through finding the file (the three
places above), verifying it, reading it as the authors did and checking its size for a task;
split, each part would need the others' lookups.
"""
from __future__ import annotations

import difflib
import hashlib
import io
import math
import os
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import numpy as np

from ..errors import ConfigError, as_config_error, check_path_text, plain

_REPO = "Ronglong-Fang/Why-MGDL-outperforms-SGDL"
_RAW = "https://raw.githubusercontent.com"
# The repository's folders were uploaded in separate commits; each file is pinned to the
# commit that added its folder (found with a code index; the image blobs themselves sit in the
# folder's ``image/`` directory, which the experiment code reads as ``image/<file>``).
# This machine has no internet access, so these default URLs are untested here.
_COMMIT_S4 = "f2a8957251e2f4c5eab69e5251aa1e656eba10b1"
_DIR_S4 = "Comparison-of-SGDL-and-MGDL-for-Image-Reconstruction/Image-Regression/MGDL/image"
_COMMIT_S6 = "920767f459ed2835db357aa90312d5834f2a4768"
_DIR_S6 = "Eigenvalue-Analysis-for-SGDL-and-MGDL/Image-Regression/MGDL/image"


class ImageNotFoundError(FileNotFoundError):
    """No copy of a test image could be found or downloaded."""


class ImageHashError(ValueError):
    """A copy of a test image exists but is not the file the paper used (SHA-256 mismatch)."""


@dataclass(frozen=True)
class TestImage:
    """One of the paper's test images: where it comes from and what it must look like."""

    __test__ = False  # not a pytest test class, despite the name

    name: str
    filename: str
    paper_name: str
    shape: tuple[int, int]
    sha256: str
    repo_dir: str
    repo_commit: str

    @property
    def url(self) -> str:
        """Default download URL: the file in the authors' repository at a pinned commit."""
        return f"{_RAW}/{_REPO}/{self.repo_commit}/{self.repo_dir}/{self.filename}"


def _img(name: str, filename: str, paper_name: str, n: int, sha256: str, s6: bool = False) -> TestImage:
    return TestImage(name, filename, paper_name, (n, n), sha256,
                     _DIR_S6 if s6 else _DIR_S4, _COMMIT_S6 if s6 else _COMMIT_S4)


IMAGES: Mapping[str, TestImage] = MappingProxyType({
    t.name: t for t in [
        _img("resolution_chart", "resolutionchart.tiff", "Resolution chart", 256,
             "92ef9dd86f3c0edbbcdad50d63229d6633df560308b60b96cb045e570be02e18", s6=True),
        _img("cameraman", "cameraman.tif", "Cameraman", 256,
             "bae785b3236037abe32914516e758ea108eac0a2f3430f3f4216574bbae6ea51"),
        _img("barbara", "barbara.gif", "Barbara", 512,
             "1fa41c9edfa436e7ba0d4621d854296ae1b71fee54be1a146e3ff6440394dba1"),
        _img("butterfly", "butterfly.gif", "Butterfly", 512,
             "6112843ab8ab9c4046ac4f3c523cbda4ca05013367291be347679e4b476c5222"),
        _img("pirate", "male.tiff", "Pirate", 1024,
             "20654c370b0197d5c874a686e07c47642abc953790c5d0da23dacfd301f4a18d"),
        _img("chest", "chest.png", "Chest", 1024,
             "8a533d1f24a42d166abc41f2d2351ff9ffa3107cb6b1a569e2e30318a2c758eb"),
    ]
})
# The authors' own names for two of them.
_ALIASES = {"male": "pirate", "resolutionchart": "resolution_chart"}
_MISSING = {"walnut": "Walnut"}


def available_images() -> list[str]:
    """Names accepted by :func:`load_image`, in the order of the paper's Figure 4."""
    return list(IMAGES)


def _norm(name: str) -> str:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return _ALIASES.get(key, key)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _lookup(name: str) -> TestImage:
    key = _norm(name)
    if key in IMAGES:
        return IMAGES[key]
    if key in _MISSING:
        raise ImageNotFoundError(
            f"the paper's {_MISSING[key]!r} image is not available: its file (walnut.png) is "
            f"missing from every public copy of the authors' repository ({_REPO}), so it cannot "
            f"be loaded. Available images: {', '.join(IMAGES)}.")
    close = difflib.get_close_matches(key, list(IMAGES) + list(_ALIASES), n=1)
    hint = f" Did you mean {_ALIASES.get(close[0], close[0])!r}?" if close else ""
    raise ValueError(f"unknown image name {name!r}.{hint} Valid names: {', '.join(IMAGES)} "
                     f"(or a path to an existing image file).")




def _download(img: TestImage, cache: Path) -> tuple[Path | None, str]:
    """Fetch ``img`` into ``cache`` with pooch; return (path, "") or (None, why it failed)."""
    import pooch

    base = os.environ.get("MGDL_DATA_URL")
    url = base.rstrip("/") + "/" + img.filename if base else img.url
    pooch.get_logger().setLevel("WARNING")  # its "Downloading data from …" note: the outcome is reported here
    try:
        got = pooch.retrieve(url, known_hash=f"sha256:{img.sha256}", fname=img.filename,
                             path=cache, progressbar=False,
                             downloader=pooch.HTTPDownloader(progressbar=False, timeout=30))
    except ValueError as exc:  # pooch's hash mismatch (its temporary file is already gone), or a bad URL
        if "does not match the known hash" not in str(exc):
            return None, f"download from {url} failed: {type(exc).__name__}: {exc}"
        target = cache / img.filename
        if target.exists() and file_sha256(target) != img.sha256:
            target.unlink()
        raise ImageHashError(
            f"downloaded {img.filename} from {url}, but it is not the paper's file: expected "
            f"SHA-256 {img.sha256} ({exc}). Nothing was kept in {cache}. Point MGDL_DATA_URL at "
            f"a copy of the original file, or set MGDL_DATA_DIR to a folder holding it.") from exc
    except Exception as exc:  # network errors of any kind: report, don't crash here
        return None, f"download from {url} failed: {type(exc).__name__}: {exc}"
    return Path(got), ""


def local_image_path(name: str) -> tuple[Path | None, list[str]]:
    """The named image's local copy, found as :func:`image_path` finds it but without any
    download: ``MGDL_DATA_DIR`` (hash checked: a wrong file raises), then the cache. Returns
    ``(path, [])``, or ``(None, where it looked)``. The tests find their data through it."""
    img = _lookup(name)
    tried: list[str] = []
    data_dir = os.environ.get("MGDL_DATA_DIR")
    if data_dir:
        path = Path(data_dir).expanduser() / img.filename
        if path.is_file():
            actual = file_sha256(path)
            if actual != img.sha256:
                raise ImageHashError(
                    f"{path} is not the paper's {img.paper_name!r} image: expected SHA-256 "
                    f"{img.sha256}, got {actual}. Replace it with the original file (e.g. from "
                    f"{img.url}) or unset MGDL_DATA_DIR to use the cache/download instead.")
            return path, []
        tried.append(f"MGDL_DATA_DIR: {path} does not exist")
    else:
        tried.append("MGDL_DATA_DIR: not set")
    from ..runtime import cache_dir  # not at import: runtime imports torch, and `mgdl --version` must not

    cached = cache_dir() / img.filename
    if cached.is_file() and file_sha256(cached) == img.sha256:
        return cached, []
    tried.append(f"cache: {cached} " + ("has the wrong SHA-256" if cached.is_file() else "does not exist"))
    return None, tried


def image_path(name: str) -> Path:
    """Path to a local copy of the named image, downloading it into the cache if needed."""
    img = _lookup(name)
    found, tried = local_image_path(name)
    if found is not None:
        return found
    from ..runtime import cache_dir

    cache = cache_dir()
    got, why = _download(img, cache)
    if got is not None:
        return got
    tried.append(why)
    raise ImageNotFoundError(
        f"could not find the image {img.name!r} ({img.filename}). Looked in:\n  - "
        + "\n  - ".join(tried)
        + f"\nFix: set MGDL_DATA_DIR to a folder holding {img.filename} (e.g. "
        f"MGDL_DATA_DIR=../shared/data/images), or set MGDL_DATA_URL to a base URL serving it "
        f"(URL = base + '/{img.filename}').")


def _to_grey(path: Path, data: bytes | None = None) -> np.ndarray:
    """Decode ``path`` (or ``data``, its bytes as already read) into a greyscale float64 array in
    [0, 1] (see :func:`load_image`)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path if data is None else io.BytesIO(data)) as im:
            im.load()
            mode = im.mode
            if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
                return np.asarray(im).astype(np.float64) / 65535.0
            if mode == "I":
                a = np.asarray(im)
                if a.min() < 0 or a.max() > 65535:
                    raise ValueError(f"{path}: 32-bit integer pixels outside 0..65535 are not supported")
                return a.astype(np.float64) / 65535.0
            if mode in ("F", "I;32", "I;32B"):
                raise ValueError(f"{path}: pixel mode {mode!r} (floating/32-bit) is not supported")
            if mode == "L":
                return np.asarray(im).astype(np.float64) / 255.0
            if mode == "1":
                return np.asarray(im.convert("L")).astype(np.float64) / 255.0
            lossy = True
            if mode in ("P", "RGB"):  # palette or RGB images whose colours are all grey
                rgb = np.asarray(im.convert("RGB"))
                lossy = not (np.array_equal(rgb[..., 0], rgb[..., 1])
                             and np.array_equal(rgb[..., 1], rgb[..., 2]))
            grey = np.asarray(im.convert("L")).astype(np.float64) / 255.0
    except (UnidentifiedImageError, OSError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise ValueError(f"cannot read {path} as an image (corrupt, truncated or not an image "
                         f"file): {type(exc).__name__}: {exc}") from exc
    if lossy:
        warnings.warn(f"{path.name} is a {mode} colour image; converted to greyscale with "
                      f"ITU-R 601 luma (PIL 'L': 0.299 R + 0.587 G + 0.114 B)"
                      + (", alpha dropped" if "A" in mode else ""), UserWarning, stacklevel=3)
    return grey


def load_image(name: str | os.PathLike[str], sha256: str | None = None) -> np.ndarray:
    """The named test image (or an image file) as a 2-D float64 array in [0, 1].

    8-bit pixels are divided by 255 and 16-bit pixels by 65535; nothing else is done. A colour
    image is converted to greyscale (ITU-R 601 luma, PIL's ``"L"``) with a ``UserWarning``.
    With ``sha256`` (a file's, as a configuration recorded it) the file is read once and those
    very bytes are hashed and decoded: a file changed since is an :class:`ImageHashError`, so a
    run never trains on other pixels than its record names.
    """
    if not isinstance(name, (str, os.PathLike)):
        raise TypeError(f"load_image takes an image name or a file path, got {name!r}; "
                        f"names: {', '.join(IMAGES)}")
    if isinstance(name, os.PathLike) or (isinstance(name, str) and Path(name).is_file()
                                         and _norm(name) not in IMAGES):
        path = Path(name)
        if not path.is_file():
            raise ImageNotFoundError(f"no such image file: {path}")
        if sha256 is None:
            return _to_grey(path)
        data = path.read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise ImageHashError(f"{path} changed since this configuration was made: its SHA-256 is now "
                                 f"{actual[:12]}…, not the configuration's {sha256[:12]}…; make the "
                                 "configuration again to train on the new pixels")
        return _to_grey(path, data)
    if isinstance(name, str) and (os.sep in name or "/" in name):
        raise ImageNotFoundError(f"no such image file: {name} (and it is not an image name; "
                                 f"valid names: {', '.join(IMAGES)})")
    img = _lookup(name)
    arr = _to_grey(image_path(img.name))
    if arr.shape != img.shape:
        raise ValueError(f"{img.filename} has shape {arr.shape}, expected {img.shape}")
    return arr


# ----------------------------------------------------------------------- images in configurations

def _not_a_file(path: Path) -> str:
    """Why ``path`` is not an image file one can read: missing, a folder, a link loop, a device."""
    try:
        if path.is_dir():
            return "a folder, not an image file"
        if path.exists():
            return "not a regular file"
        return "a symbolic link that leads nowhere" if path.is_symlink() else "no such file"
    except OSError as exc:  # a loop of symbolic links, a name too long
        return exc.strerror or "cannot be read"


def resolve_image_field(config, names: list[str], allow_path: bool, what: str) -> None:
    """Check and normalise a configuration's ``image`` (one of ``names``, or with ``allow_path``
    an image file) and set ``image_sha256`` from a file, so the record names the exact image; a
    file too small for the configuration's downscaling is refused (:func:`check_image_size`).

    A configuration that already names a file's SHA-256 (one rebuilt from its record) is not
    checked against the file here: reading a record never needs the user's file, which may have
    moved; the run compares the bytes it loads with the hash (:func:`load_image`)."""
    image = plain(config.image)
    if not isinstance(image, str) or not image:
        raise ConfigError(f"image must be an image name or a file path, got {config.image!r}")
    if _norm(image) in names:
        if config.image_sha256 is not None:
            raise ConfigError("image_sha256 is for an image given as a file path")
        object.__setattr__(config, "image", _norm(image))
        return
    if config.image_sha256 is not None:
        if not (allow_path and isinstance(config.image_sha256, str) and len(config.image_sha256) == 64
                and all(c in "0123456789abcdef" for c in config.image_sha256)):
            raise ConfigError(f"image_sha256 must be the 64 hex digits of an image file's SHA-256, got "
                              f"{config.image_sha256!r}")
        return
    path = _user_path(image)
    if image.lower() in _MISSING:
        raise ConfigError(f"{_MISSING[image.lower()]}'s file is missing from every public copy of the "
                          "authors' repository, so it cannot be used here (the paper's row for it stands alone)")
    if not allow_path or not path.is_file():
        raise ConfigError(f"{what} uses the images {', '.join(names)}" + (" or a path to an image file" if allow_path else "")
                          + f", not {image!r}"
                          + (f" ({_not_a_file(path)})" if allow_path and ("/" in image or "." in image) else ""))
    object.__setattr__(config, "image", str(path.resolve()))
    object.__setattr__(config, "image_sha256", file_sha256(path))
    check_image_size(config, what)


MIN_SIDE = 4  # the fewest pixels a side may keep: every task splits the pixels into training and held-out ones


def _user_path(text: str) -> Path:
    """``text`` as a path, ``~`` expanded; a ``~user`` that does not exist, or a path no system
    could use (:func:`~mgdl_core.errors.check_path_text`), is a :class:`ConfigError`."""
    check_path_text(text, "the image path")
    try:
        return Path(text).expanduser()
    except RuntimeError:  # pathlib: "Could not determine home directory."
        raise ConfigError(f"cannot expand {text.split('/')[0]!r} in the image path {text!r}: no such user") from None


@lru_cache(maxsize=32)
def _file_shape(path: str, size: int, mtime_ns: int) -> tuple[int, ...]:
    with as_config_error(), warnings.catch_warnings():  # its colour note comes when the data load
        warnings.simplefilter("ignore", UserWarning)
        return load_image(Path(path)).shape


def image_shape(image: str) -> tuple[int, ...] | None:
    """The shape of a named image or of an image file, decoded once per file version (``None``:
    neither, which the configuration reports when it is made)."""
    key = _norm(str(image))
    if key in IMAGES:
        return IMAGES[key].shape
    path = _user_path(str(image))
    if path.is_file():
        stat = path.stat()
        return _file_shape(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    return None


def image_side(image: str) -> int | None:
    """The larger side of a named image or an image file (``None``: neither)."""
    shape = image_shape(image)
    return None if shape is None else max(shape)


def check_image_size(config, what: str) -> None:
    """Refuse, when the configuration is made, an image that its downscaling (``config.downscale``)
    leaves with fewer than :data:`MIN_SIDE` pixels on a side: a 1×1 file, or a 1×5000 strip that
    the quick profile must shrink by 79 to bring its long side to 64 pixels."""
    shape, factor = image_shape(config.image), plain(config.downscale)
    if shape is None or isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        return  # no such image, or a bad factor: the configuration's own checks say so
    left = tuple(n // factor for n in shape)
    if min(left) < MIN_SIDE:
        by = f", downscaled by {factor}, keeps {left[0]}×{left[1]}" if factor > 1 else ""
        raise ConfigError(f"{what}: the image is {shape[0]}×{shape[1]} pixels{by}; at least {MIN_SIDE}×{MIN_SIDE} "
                          "are needed" + (" (the quick profile shrinks the longer side to its size: try "
                                          "--profile paper, or a less elongated image)" if factor > 1 else ""))


def quick_downscale(image: str, side: int) -> int:
    """The smallest integer factor that brings ``image``'s larger side to at most ``side``."""
    size = image_side(image)
    return 1 if size is None else max(1, math.ceil(size / side))


def image_profile_lines(profiles: Mapping[int, Mapping[str, Mapping[str, object]]]) -> list[str]:
    """``mgdl list``'s lines for an image task: the images it takes, then what each section's
    profiles set (``profiles[section][profile]``)."""
    return [f"--image: {', '.join(available_images())}, or a file path"] + [
        f"--section {section} --profile {p}: " + ", ".join(f"{k}={v}" for k, v in values.items())
        for section, by_profile in profiles.items() for p, values in by_profile.items()]
