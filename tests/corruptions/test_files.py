import numpy as np
import pytest

from limeguard.corruptions import cifar10c_available, load_cifar10c, missing_files, severity_rows


@pytest.fixture
def fake_root(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.tile(np.arange(4, dtype=np.uint8), 5)
    np.save(tmp_path / "labels.npy", labels)
    for name in ("fog", "snow"):
        np.save(tmp_path / f"{name}.npy", rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8))
    return tmp_path


def test_load_published_layout(fake_root):
    assert cifar10c_available(fake_root, ("fog", "snow"))
    data, labels = load_cifar10c(fake_root, ("fog", "snow"))
    assert labels.dtype == np.int64 and labels.shape == (20,)
    assert data["fog"].shape == (20, 32, 32, 3) and data["fog"].dtype == np.uint8
    assert np.array_equal(severity_rows(data["fog"], 2), data["fog"][4:8])
    assert np.array_equal(severity_rows(data["fog"][:8], 4, severities=(1, 4)), data["fog"][4:8])


def test_missing_files_are_named(fake_root):
    assert not cifar10c_available(fake_root)
    assert not cifar10c_available(None)
    assert fake_root / "frost.npy" in missing_files(fake_root)
    with pytest.raises(FileNotFoundError, match=r"frost\.npy"):
        load_cifar10c(fake_root, ("fog", "frost"))


def test_wrong_shape_is_named(fake_root):
    np.save(fake_root / "fog.npy", np.zeros((20, 3, 32, 32), np.uint8))
    with pytest.raises(ValueError, match=r"fog\.npy"):
        load_cifar10c(fake_root, ("fog",))
