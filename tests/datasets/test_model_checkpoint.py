import pytest
import torch
from kedro.io import DatasetError

from limeguard.datasets.model_checkpoint import ModelCheckpointDataset
from limeguard.models import build_model


def test_round_trip(tmp_path):
    torch.manual_seed(0)
    model = build_model("cnn_small", widths=[8, 8, 16, 16]).eval()
    model.checkpoint_metadata = {"epoch": 2}
    ds = ModelCheckpointDataset(filepath=str(tmp_path / "models" / "m.safetensors"))
    assert not ds.exists()
    ds.save(model)
    assert ds.exists()
    loaded = ds.load()
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert loaded.checkpoint_metadata == {"epoch": 2}
    assert "m.safetensors" in str(ds)


def test_from_catalog_config(tmp_path):
    from kedro.io import DataCatalog

    path = tmp_path / "m.safetensors"
    catalog = DataCatalog.from_config(
        {
            "model": {
                "type": "limeguard.datasets.model_checkpoint.ModelCheckpointDataset",
                "filepath": str(path),
                "metadata": {"kedro-viz": {"layer": "models"}},
            }
        }
    )
    catalog.save("model", build_model("cnn_small"))
    assert catalog.load("model").spec.arch == "cnn_small"


def test_load_errors_name_the_file(tmp_path):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"xx")
    with pytest.raises(DatasetError, match="broken.safetensors"):
        ModelCheckpointDataset(filepath=str(path)).load()


def test_save_rejects_non_models(tmp_path):
    with pytest.raises(DatasetError, match="nn.Module"):
        ModelCheckpointDataset(filepath=str(tmp_path / "m.safetensors")).save({"not": "a model"})
