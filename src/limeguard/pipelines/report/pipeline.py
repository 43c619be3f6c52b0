"""``report``: one Markdown report, a metrics JSON and the figures under data/08_reporting."""

from kedro.pipeline import Node, Pipeline

from limeguard.pipelines.evaluate.pipeline import evaluated_models, own_mining_arms
from limeguard.pipelines.report.nodes import build_run_report
from limeguard.pipelines.shape import spurious_enabled

MINED = ("adversarial",)


def is_round(model: str) -> bool:
    """Whether ``model`` is a refinement round: ``round_<k>`` or an arm's ``<arm>.round_<k>``."""
    return model.rsplit(".", 1)[-1].startswith("round_")


REPORT_PARAMETERS = {"manifest": "data_manifest", "node_timings": "node_timings",
                     "node_record": "node_record", "parameters": "parameters",
                     "report": "params:report"}


def report_inputs() -> dict[str, str]:
    """``<model>__<kind>`` -> catalog name, for every evaluated model."""
    inputs = {}
    planted = spurious_enabled()
    for model in evaluated_models():
        for kind in ("robust_summary", "attack_results", "masking_checks", "corruption_accuracy",
                     "corruption_outcomes", "bound_table", "bound_summary"):
            inputs[f"{model}__{kind}"] = f"{model}.{kind}"
        inputs[f"{model}__history"] = f"{model}_history"
        if model in MINED or is_round(model):
            inputs[f"{model}__mining_summary"] = f"{model}.mining_summary"
            inputs[f"{model}__confined_attack"] = f"{model}.confined_attack"
        if is_round(model):
            inputs[f"{model}__round_info"] = f"{model}.round_info"
        if planted:
            inputs[f"{model}__cue_reliance"] = f"{model}.cue_reliance"
            inputs[f"{model}__uncued_robustness"] = f"{model}.uncued_robustness"
            inputs[f"{model}__cue_outcomes"] = f"{model}.cue_outcomes"
            inputs[f"{model}__uncued_attack_results"] = f"{model}.uncued_attack_results"
            if f"{model}__mining_summary" in inputs:
                inputs[f"{model}__cue_recovery"] = f"{model}.cue_recovery"
    for arm in own_mining_arms():  # the AT baseline as the arm mined it: where its claims start
        for kind in ("mining_summary", "confined_attack", "bound_table", "bound_summary"):
            inputs[f"{arm}.adversarial__{kind}"] = f"{arm}.adversarial.{kind}"
    return inputs


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([Node(build_run_report, {**REPORT_PARAMETERS, **report_inputs()},
                          ["report_markdown", "report_metrics", "report_figures"],
                          name="build_run_report")])
