"""Everything checked before the first epoch (issue 10, points 5 and 7): types coerced from NumPy
where meant, numbers finite and in range, the memory of a structure estimated before allocation.
Every refusal is a ConfigError (a ValueError) with a message naming the field."""
import math
import time

import numpy as np
import pytest
import torch

from mgdl_core.errors import ConfigError, check_int, check_number, plain
from mgdl_core.tasks.synthetic import SyntheticRun
from mgdl_core.tasks.base import check_profile
from mgdl_core.runs.recorded import run_recorded
from mgdl_core.tasks.image_regression import ImageRegressionRun
from mgdl_core.tasks.memory import estimate_memory_bytes, memory_limit_bytes
from mgdl_core.tasks.images import load_image
from mgdl_core.runs.checkpoints import RunStore
from mgdl_core.runs.records import config_hash
from mgdl_core.core.training import EarlyStopping, TrainConfig


@pytest.mark.parametrize("bad,needle", [
    (dict(epochs=True), "epochs must be an integer"),
    (dict(epochs=1.5), "epochs must be an integer"),
    (dict(epochs=10**9 + 1), "epochs must be an integer in"),
    (dict(epochs=-1), "epochs"),
    (dict(record_every=2.5), "record_every must be an integer"),
    (dict(record_every=0), "record_every"),
    (dict(setting=1.5), "setting must be an integer"),
    (dict(setting=3), "unknown synthetic setting"),
    (dict(setting=True), "setting"),
    (dict(seed=2**32), "seed"),
    (dict(seed=-1), "seed"),
    (dict(seed=np.float64(3.0)), "seed must be an integer"),
    (dict(lr=1e300), "learning rate"),
    (dict(lr=math.inf), "learning rate"),
    (dict(lr=math.nan), "learning rate"),
    (dict(lr=0.0), "learning rate"),
    (dict(lr="0.1"), "learning rate"),
    (dict(lr=True), "learning rate"),
    (dict(method="xgdl"), "unknown method"),
    (dict(early_stopping=1), "early_stopping"),
    (dict(track_every=-1), "track_every"),
    (dict(track_k=0), "track_k"),
    (dict(dtype="float16"), "dtype"),
    (dict(init="zeros"), "init scheme"),
    (dict(relu_prime_at_zero=2.0), "relu_prime_at_zero"),
    (dict(structure=5), "structure"),
    (dict(structure="[1]->[8]->[2]"), "does not fit"),
    (dict(method="mgdl", grade_epochs=(10, 10)), "one entry per MGDL grade"),
    (dict(method="mgdl", grade_epochs=(10, 10, 10, 1.5)), "grade_epochs must be an integer"),
])
def test_bad_synthetic_runs_are_refused(bad, needle):
    with pytest.raises(ConfigError, match=needle):
        SyntheticRun(**bad)


@pytest.mark.parametrize("bad,needle", [
    (dict(section=6.0), "sections 4, 5 and 6"),
    (dict(section=7), "sections 4, 5 and 6"),
    (dict(section=4, image="no_such_image.png"), "no such file"),
    (dict(section=6, image="chest"), "§6 image regression uses"),
    (dict(encoding="wavelet"), "unknown encoding"),
    (dict(downscale=0), "downscale"),
    (dict(snapshot_epochs=(0,)), "snapshot_epochs"),
    (dict(section=4, image_sha256="ab"), "image_sha256 is for an image given as a file path"),
    (dict(rel_error=-1), "rel_error"),
    (dict(rel_error=math.nan), "rel_error"),
    (dict(eig_stop=math.inf, track_every=10), "eig_stop"),
    (dict(eig_stop=-0.95), "track_every"),
    (dict(lr=1e300), "learning rate"),
])
def test_bad_image_runs_are_refused(bad, needle):
    with pytest.raises(ConfigError, match=needle):
        ImageRegressionRun(**bad)


@pytest.mark.parametrize("bad", [dict(epochs=True, lr=0.1), dict(epochs=10, lr=0.1, record_every=2.5),
                                 dict(epochs=10, lr=0.1, adam_eps=-1), dict(epochs=10, lr=0.1, adam_eps=math.nan),
                                 dict(epochs=10, lr=0.1, adam_betas=(0.9, 1.0)), dict(epochs=10, lr=0.1, adam_betas=0.9),
                                 dict(epochs=10, lr=0.1, diverge_above=0), dict(epochs=10, lr=0.1, diverge_above=math.nan),
                                 dict(epochs=10, lr=0.1, early_stopping=True), dict(epochs=10, lr=1e300),
                                 dict(epochs=10**12, lr=0.1)])
def test_bad_train_configs_are_refused(bad):
    with pytest.raises(ConfigError):
        TrainConfig(**bad)


@pytest.mark.parametrize("bad", [(0, -1), (0, 1e-6), (20, -1), (20, 0.0), (20, math.nan), (2.5, 1e-6), (True, 1e-6)])
def test_bad_early_stopping_is_refused(bad):
    with pytest.raises(ConfigError):
        EarlyStopping(*bad)


def test_numpy_scalars_are_coerced_and_hash_like_python_numbers():
    typed = SyntheticRun(epochs=np.int64(10), lr=np.float64(0.1), seed=np.int32(3), setting=np.int64(2),
                         record_every=np.uint16(5), relu_prime_at_zero=np.float32(0.5), early_stopping=np.bool_(False),
                         method=np.str_("mgdl"), grade_epochs=np.array([10, 10, 10, 10]))
    plain_ = SyntheticRun(epochs=10, lr=0.1, seed=3, setting=2, record_every=5, relu_prime_at_zero=0.5,
                          early_stopping=False, method="mgdl", grade_epochs=(10, 10, 10, 10))
    assert typed == plain_ and hash(typed) == hash(plain_)
    assert config_hash("synthetic", typed) == config_hash("synthetic", plain_)
    assert type(typed.epochs) is int and type(typed.lr) is float and type(typed.grade_epochs[0]) is int
    # float32(0.1) is not 0.1: it is stored as the float32 value the caller gave
    assert SyntheticRun(lr=np.float32(0.1)).lr == float(np.float32(0.1))
    # lists (a configuration read back from JSON) become tuples
    assert SyntheticRun(method="mgdl", grade_epochs=[5, 5, 5, 5]).grade_epochs == (5, 5, 5, 5)
    tc = TrainConfig(epochs=np.int64(3), lr=np.float32(0.5), adam_betas=np.array([0.9, 0.99]))
    assert tc == TrainConfig(epochs=3, lr=0.5, adam_betas=(0.9, 0.99))
    assert EarlyStopping(np.int64(5), np.float64(1e-4)) == EarlyStopping(5, 1e-4)


def test_the_helpers():
    assert plain(np.float32(0.5)) == 0.5 and plain([np.int8(1), (2,)]) == (1, (2,)) and plain("x") == "x"
    assert check_int("n", np.int64(4), 0, 5) == 4
    assert check_number("x", 3, 0, 5) == 3.0 and isinstance(check_number("x", 3, 0, 5), float)
    with pytest.raises(ConfigError, match="x must be a finite number"):
        check_number("x", 10**400, 0, 5)
    with pytest.raises(ConfigError, match=r"in \(0, 5\]"):
        check_number("x", 0, 0, 5, low_open=True)
    with pytest.raises(ConfigError, match="unknown profile"):
        check_profile("slow")


def test_checkpoint_intervals_are_checked():
    with pytest.raises(ConfigError, match="every_seconds"):
        RunStore("x", every_seconds=-1)
    with pytest.raises(ConfigError, match="first_checkpoint_s"):
        RunStore("x", first_seconds=math.nan)


def test_refusals_are_value_errors():
    """Callers that catch ValueError keep working."""
    with pytest.raises(ValueError):
        SyntheticRun(epochs=True)


def test_memory_estimate_grows_with_the_structure_and_counts_tracking():
    small = estimate_memory_bytes(SyntheticRun(method="sgdl", structure="[1]->[16]->[1]"))
    wide = estimate_memory_bytes(SyntheticRun(method="sgdl", structure="[1]->[4096]->[1]"))
    assert 0 < small < wide
    # a forward pass on the 10,000 test points holds the [10000, 4096] hidden layer (float32)
    assert wide >= 10_000 * 4096 * 4
    assert estimate_memory_bytes(SyntheticRun(method="sgdl", structure="[1]->[4096]->[1]", dtype="float64")) > wide
    tracked = estimate_memory_bytes(SyntheticRun(method="sgdl", track_every=100))
    assert tracked > estimate_memory_bytes(SyntheticRun(method="sgdl"))
    assert estimate_memory_bytes(SyntheticRun(method="mgdl")) > 0
    assert estimate_memory_bytes(SyntheticRun(method="msdl")) > 0


def test_an_absurd_structure_is_refused_at_once_with_its_size(tmp_path, monkeypatch):
    cfg = SyntheticRun(method="sgdl", structure="[1]->[100000000]->[1]", epochs=10)
    assert estimate_memory_bytes(cfg) > 2**40  # terabytes: 10,000 test points x 10^8 neurons
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=r"needs an estimated [\d,.]+ GiB .*available on cpu"):
        run_recorded(cfg, tmp_path)
    with pytest.raises(ConfigError, match="GiB"):
        cfg.run()
    assert time.perf_counter() - started < 5
    assert not any((tmp_path / "synthetic").glob("*.partial"))


def test_the_memory_limit_can_be_set(monkeypatch):
    cfg = SyntheticRun(method="sgdl", structure="[1]->[64]->[1]", epochs=0, dtype="float64", device="cpu")
    monkeypatch.setenv("MGDL_MEMORY_LIMIT_GB", "0.000001")
    assert memory_limit_bytes(torch.device("cpu")) == 0.000001 * 2**30  # a product by 2**30 is exact
    with pytest.raises(ConfigError, match="MGDL_MEMORY_LIMIT_GB"):
        cfg.run()
    monkeypatch.setenv("MGDL_MEMORY_LIMIT_GB", "lots")
    with pytest.raises(ConfigError, match=r"MGDL_MEMORY_LIMIT_GB \(GiB\) must be a finite number"):
        cfg.run()
    monkeypatch.delenv("MGDL_MEMORY_LIMIT_GB")
    assert memory_limit_bytes(torch.device("cpu")) > 2**20
    assert cfg.run().outcome == "completed"


@pytest.mark.parametrize("bad", [None, 3, b"cameraman", ["cameraman"]])
def test_load_image_of_a_non_name_is_a_clear_type_error(bad):
    with pytest.raises(TypeError, match="image name or a file path"):
        load_image(bad)
