"""The number of rounds in conf shapes the DAG; T = 0 leaves the baselines only."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from limeguard.config import ConfigError
from limeguard.pipelines.evaluate.pipeline import evaluated_models
from limeguard.pipelines.report.pipeline import report_inputs
from limeguard.pipelines.rounds.pipeline import configured_round_count, create_pipeline
from limeguard.refinement.rounds import RoundsParams, parse_rounds
from tests.conftest import PROJECT_ROOT


@pytest.fixture
def conf_with_rounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    shutil.copytree(PROJECT_ROOT / "conf", tmp_path / "conf", ignore=shutil.ignore_patterns("local"))
    (tmp_path / "conf" / "local").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KEDRO_ENV", "local")

    def write(count: int) -> Path:
        (tmp_path / "conf/local/parameters_rounds.yml").write_text(f"rounds:\n  count: {count}\n")
        return tmp_path

    return write


def test_zero_rounds_is_baselines_only(conf_with_rounds) -> None:
    conf_with_rounds(0)
    assert configured_round_count() == 0
    assert len(create_pipeline().nodes) == 0
    assert evaluated_models() == ("standard", "adversarial")
    assert not [k for k in report_inputs() if k.startswith("control") or ".round_" in k]


def test_two_rounds_chain_models_and_masks(conf_with_rounds) -> None:
    conf_with_rounds(2)
    rounds = create_pipeline()
    names = {n.name for n in rounds.nodes}
    for arm in ("transplant", "paper"):  # conf/base's arms
        assert {f"{arm}.round_1.refine_round", f"{arm}.round_2.refine_round",
                f"{arm}.round_2.mine_model"} <= names
        refine_2 = next(n for n in rounds.nodes if n.name == f"{arm}.round_2.refine_round")
        assert {f"{arm}.round_1_model", f"{arm}.round_1.refinement_masks"} <= set(refine_2.inputs)
    assert "train_matched_control" in names
    assert evaluated_models()[-2:] == ("paper.round_1", "paper.round_2")


def test_count_that_disagrees_with_the_dag_names_the_key() -> None:
    with pytest.raises(ConfigError, match="rounds.count: 1, but the DAG was built with 3 rounds"):
        parse_rounds({"count": 1}, dag_rounds=3)
    assert isinstance(parse_rounds({"count": 3}, dag_rounds=3), RoundsParams)
