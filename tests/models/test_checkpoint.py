import os

import pytest
import torch

from limeguard.models import CheckpointError, build_model, load_model, read_checkpoint, save_model


@pytest.fixture
def trained_small():
    torch.manual_seed(0)
    model = build_model("cnn_small", num_classes=10, widths=[8, 8, 16, 16])
    model.train()
    with torch.no_grad():  # move BN running stats away from their defaults
        model(torch.rand(8, 3, 32, 32))
    return model.eval()


def test_round_trip_gives_identical_outputs(tmp_path, trained_small):
    path = tmp_path / "m.safetensors"
    save_model(trained_small, path, {"epoch": 3, "acc": 0.5})
    loaded = load_model(path)
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(trained_small(x), loaded(x))
    assert loaded.spec == trained_small.spec
    assert loaded.checkpoint_metadata == {"epoch": 3, "acc": 0.5}
    assert not loaded.training
    for k, v in trained_small.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k


def test_channels_last_model_saves(tmp_path, trained_small):
    model = trained_small.to(memory_format=torch.channels_last)
    save_model(model, tmp_path / "m.safetensors")
    assert load_model(tmp_path / "m.safetensors").spec == model.spec


def test_metadata_survives_resave(tmp_path, trained_small):
    save_model(trained_small, tmp_path / "a.safetensors", {"epoch": 1})
    save_model(load_model(tmp_path / "a.safetensors"), tmp_path / "b.safetensors")
    assert read_checkpoint(tmp_path / "b.safetensors")[1] == {"epoch": 1}


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path, trained_small, monkeypatch):
    path = tmp_path / "sub" / "m.safetensors"
    save_model(trained_small, path)
    before = path.read_bytes()

    def boom(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        save_model(build_model("cnn_small", widths=[8, 8, 16, 16]), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.safetensors"]


def test_other_architecture_tensors_raise_naming_file(tmp_path, trained_small):
    from safetensors.torch import load_file, save_file

    path = tmp_path / "bad.safetensors"
    save_model(trained_small, path)
    other = build_model("cnn_small", num_classes=10).state_dict()  # default widths: other shapes
    spec_meta = _metadata(path)
    save_file({k: v.contiguous() for k, v in other.items()}, str(path), metadata=spec_meta)
    assert set(load_file(str(path))) == set(other)
    with pytest.raises(CheckpointError, match=r"bad\.safetensors.*do not match.*wrong shape"):
        load_model(path)


def test_missing_keys_are_named(tmp_path, trained_small):
    from safetensors.torch import save_file

    path = tmp_path / "partial.safetensors"
    save_model(trained_small, path)
    tensors = dict(trained_small.state_dict())
    tensors.pop("net.0.weight")
    save_file(tensors, str(path), metadata=_metadata(path))
    with pytest.raises(CheckpointError, match=r"partial\.safetensors.*missing.*net\.0\.weight"):
        load_model(path)


@pytest.mark.parametrize(
    "content", [b"", b"not a checkpoint at all", b"\x08" + b"\x00" * 7 + b"{}garbage"]
)
def test_invalid_file_raises_naming_file(tmp_path, content):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=r"junk\.safetensors"):
        load_model(path)


def test_truncated_checkpoint_raises(tmp_path, trained_small):
    path = tmp_path / "cut.safetensors"
    save_model(trained_small, path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match=r"cut\.safetensors"):
        load_model(path)


def test_plain_safetensors_file_is_not_a_checkpoint(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(
        CheckpointError, match=r"plain\.safetensors.*not a limeguard model checkpoint"
    ):
        load_model(path)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nope.safetensors")


def test_model_without_spec_cannot_be_saved(tmp_path):
    with pytest.raises(ValueError, match="spec"):
        save_model(torch.nn.Linear(2, 2), tmp_path / "x.safetensors")


def _metadata(path):
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return f.metadata()
