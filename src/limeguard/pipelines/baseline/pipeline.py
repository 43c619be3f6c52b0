"""``baseline``: standard training and adversarial training (PGD-AT / FGSM-RS / TRADES)."""

from kedro.pipeline import Node, Pipeline

from limeguard.pipelines.baseline.nodes import train_baseline

BASELINES = ("standard", "adversarial")


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(
            train_baseline,
            ["train_images", "val_images", "params:baseline.model", f"params:baseline.{name}",
             f"params:baseline.checkpoint_dirs.{name}", "params:runtime"],
            [f"{name}_model", f"{name}_history"],
            name=f"train_{name}_baseline",
        )
        for name in BASELINES
    ])
