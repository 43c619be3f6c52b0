"""``tune``: an Optuna study over one refinement round from the adversarial baseline."""

from kedro.pipeline import Node, Pipeline

from limeguard.pipelines.shape import baseline_mining, configured_tune_arm
from limeguard.pipelines.tune.nodes import report_study, run_study


def baseline_masks() -> str:
    """The masks the trials refine against: the AT baseline's mining by the arm tuned
    (``tune.arm``) when it mines the baseline itself, else the run's. An unknown arm reads the
    run's: the parameter check stops the run, naming ``tune.arm``, before any node."""
    return baseline_mining(configured_tune_arm(), "refinement_masks")


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
    return Pipeline(template, inputs={"baseline_masks": baseline_masks()})
