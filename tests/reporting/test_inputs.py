"""Bad input: missing baseline, missing columns, wrong types."""

from __future__ import annotations

import pandas as pd
import pytest

from limeguard.config import ConfigError, from_params
from limeguard.reporting import ModelResults, ReportConfig, ReportInputs, build_report
from tests.reporting.synthetic import MIRROR, model, run_inputs


def test_missing_adversarial_baseline_names_it():
    inputs = run_inputs()
    models = {k: v for k, v in inputs.models.items() if k != "adversarial"}
    with pytest.raises(ValueError, match="adversarial baseline 'adversarial' is missing"):
        build_report(ReportInputs(manifest=MIRROR, models=models))


@pytest.mark.parametrize(("table", "column"), [("summary", "accuracy"), ("corruption", "severity"),
                                               ("history", "epoch"), ("bound", "margin")])
def test_missing_column_names_model_and_column(table, column):
    good = model(0.7, 0.4, 0.35, share_s=0.4)
    broken = ModelResults(**{**good.__dict__, table: getattr(good, table).drop(columns=[column])})
    models = {"adversarial": good, "round_1": broken}
    with pytest.raises(ValueError, match=f"model 'round_1': {table} table is missing column "
                                         f"'{column}'"):
        build_report(ReportInputs(manifest=MIRROR, models=models))


def test_mining_table_without_share_column():
    bad = ModelResults(summary=model(0.7, 0.4, 0.35).summary,
                       mining=pd.DataFrame({"criterion": ["spurious"], "class": ["all"]}))
    with pytest.raises(ValueError, match="model 'adversarial': mining table is missing column "
                                         "'share'"):
        build_report(ReportInputs(manifest=MIRROR, models={"adversarial": bad}))


def test_manifest_without_source():
    with pytest.raises(ValueError, match="manifest is missing key 'source'"):
        build_report(ReportInputs(manifest={"description": "x"},
                                  models={"adversarial": model(0.7, 0.4, 0.35)}))


def test_explain_summary_format_accepted():
    summary = pd.DataFrame({"scope": ["all", "class"], "label": [-1, 0], "n_images": [4, 2],
                            "n_superpixels": [100, 50], "share_irrelevant": [0.1, 0.2],
                            "share_sensitive": [0.1, 0.1], "share_unstable": [0.1, 0.1],
                            "share_spurious": [0.25, 0.3], "pixel_share_spurious": [0.2, 0.2]})
    run = ModelResults(summary=model(0.7, 0.4, 0.35).summary, mining=summary)
    report = build_report(ReportInputs(manifest=MIRROR, models={"adversarial": run}))
    assert report.metrics["models"]["adversarial"]["spurious_share"] == 0.25


def test_config_from_params():
    cfg = from_params(ReportConfig, {"headline_eps_255": 8, "min_gain": 2}, "report")
    assert cfg.min_gain == 2.0
    with pytest.raises(ConfigError, match="report: unknown parameter 'min_gian'"):
        from_params(ReportConfig, {"min_gian": 2}, "report")
    with pytest.raises(ConfigError, match="headline_eps_255"):
        from_params(ReportConfig, {"headline_eps_255": 0}, "report")


def test_minimal_inputs_build():
    run = ModelResults(summary=model(0.7, 0.4, 0.35).summary)
    report = build_report(ReportInputs(manifest={"source": "torchvision_files"},
                                       models={"adversarial": run}))
    assert "No refinement rounds ran: baselines only" in report.markdown
    assert "CIFAR-10-C was not evaluated" in report.markdown
    assert "The bound was not estimated" in report.markdown
    assert "No provenance was recorded" in report.markdown
    assert set(report.figures) == {"robust_accuracy_vs_eps"}


def test_bound_summary_alone_fills_the_table():
    summary = {"mean_margin": 1.0, "mean_L_S": 2.0, "mean_L_R": 3.0, "mean_bound_255": 1.5,
               "mean_eps_empirical_255": 3.0, "spearman_bound_vs_empirical": 0.4,
               "pearson_bound_vs_empirical": None, "bound_holds_share": 0.9, "n_correct": 50}
    run = ModelResults(summary=model(0.7, 0.4, 0.35).summary, bound_summary=summary)
    report = build_report(ReportInputs(manifest=MIRROR, models={"adversarial": run}))
    assert "| adversarial | 50 | 1 | 2 | 3 | 1.5 | n/a | 3 | 90.0 | n/a | 0.4 | n/a |" in (
        report.markdown)
    assert report.metrics["claims"]["e"]["verdict"] == "supported"
    assert "bound_vs_distortion" not in report.markdown  # no per-image table: no scatter
