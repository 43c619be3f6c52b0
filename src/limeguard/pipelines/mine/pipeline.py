"""``mine``: LIME spurious-feature mining, a template instantiated per model (namespace)."""

from kedro.pipeline import Node, Pipeline

from limeguard.pipelines.mine.nodes import (
    attack_confined,
    choose_mining_images,
    mine_model,
    recover_cue,
    segment_mining_images,
    transfer_masks,
)
from limeguard.pipelines.shape import spurious_enabled

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


def mining_template(transfer: bool) -> Pipeline:
    """Mine one ``model`` (and, with ``transfer``, find what it flags on every training and
    validation image: the masks a round applies) and attack its flagged pixels against matched
    random ones (the paper's observation); in the planted-cue variant the figure outlines the cue,
    the masks are scored against it and its pixels are attacked too."""
    planted = spurious_enabled()
    inputs = ["model", "mining_images", "mining_segments", "params:mine", "params:runtime"]
    cue = ["spurious_cue"] if planted else []
    nodes = [Node(mine_model, inputs + cue, MINING_OUTPUTS, name="mine_model"),
             Node(attack_confined, ["model", "attributions", *inputs[1:], *cue],
                  "confined_attack", name="attack_confined")]
    if transfer:
        nodes.append(Node(transfer_masks, ["model", "spurious_masks", "train_images", "val_images",
                                           "params:mine", "params:runtime"],
                          "refinement_masks", name="transfer_masks"))
    if planted:
        applied = ["refinement_masks", "train_images", "params:rounds"] if transfer else []
        nodes.append(Node(recover_cue, ["attributions", "mining_images", "mining_segments",
                                        "spurious_cue", *applied], "cue_recovery",
                          name="recover_cue"))
    return Pipeline(nodes)


def namespaced_mining(namespace: str, model: str, *, transfer: bool = True) -> Pipeline:
    """``mining_template`` for ``model``, with outputs ``<namespace>.attributions`` etc."""
    template = mining_template(transfer)
    shared = {"mining_images", "mining_segments", "spurious_cue", "train_images",
              "val_images"} & template.inputs()
    return Pipeline(template, namespace=namespace,
                    inputs={"model": model, **{name: name for name in shared}},
                    parameters=template.inputs() & {"params:mine", "params:runtime",
                                                    "params:rounds"})


def create_pipeline(**kwargs) -> Pipeline:
    return segmentation_pipeline() + namespaced_mining("adversarial", "adversarial_model")
