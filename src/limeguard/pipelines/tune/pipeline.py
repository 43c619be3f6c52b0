"""``tune``: an Optuna study over one refinement round from the adversarial baseline."""

from kedro.pipeline import Node, Pipeline

from limeguard.pipelines.tune.nodes import report_study, run_study


def create_pipeline(**kwargs) -> Pipeline:
    template = Pipeline([
        Node(run_study,
             ["adversarial_model", "train_images", "val_images", "baseline_masks",
              "mining_segments", "params:tune", "params:rounds", "params:mine", "params:runtime"],
             "tune_worker", name="run_tuning_study"),
        Node(report_study, ["tune_worker", "params:tune", "params:rounds", "params:mine"],
             ["tune_best_params", "tune_trials", "tune_figures", "tune_summary"],
             name="report_tuning_study"),
    ])  # fmt: skip
    return Pipeline(template, inputs={"baseline_masks": "adversarial.refinement_masks"})
