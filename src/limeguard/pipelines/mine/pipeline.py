"""``mine``: LIME spurious-feature mining, a template instantiated per model (namespace)."""

from kedro.pipeline import Node, Pipeline

from limeguard.pipelines.mine.nodes import choose_mining_images, mine_model, segment_mining_images

MINING_OUTPUTS = ["attributions", "spurious_masks", "mining_summary", "explanations_figure",
                  "explanation_stability"]


def segmentation_pipeline() -> Pipeline:
    """The mining images and their superpixels, shared by every model that is mined."""
    return Pipeline([
        Node(choose_mining_images, ["probe_images", "train_images", "params:mine"],
             "mining_images", name="choose_mining_images"),
        Node(segment_mining_images, ["mining_images", "params:mine"], "mining_segments",
             name="segment_mining_images"),
    ])


def mining_template() -> Pipeline:
    return Pipeline([Node(mine_model, ["model", "mining_images", "mining_segments",
                                       "params:mine", "params:runtime"],
                          MINING_OUTPUTS, name="mine_model")])


def namespaced_mining(namespace: str, model: str) -> Pipeline:
    """``mining_template`` for ``model``, with outputs ``<namespace>.attributions`` etc."""
    return Pipeline(mining_template(), namespace=namespace,
                    inputs={"model": model, "mining_images": "mining_images",
                            "mining_segments": "mining_segments"},
                    parameters={"params:mine", "params:runtime"})


def create_pipeline(**kwargs) -> Pipeline:
    return segmentation_pipeline() + namespaced_mining("adversarial", "adversarial_model")
