"""``data``: load the images (CIFAR, Fashion-MNIST, an image folder) -> stratified splits ->
Great Expectations gate -> model inputs.

With ``data.spurious.enabled`` (the ``spurious`` env) a class-specific cue is planted into the
splits before the gate, and swapped validation and test sets are written beside them, with the
test split as it was before the cue (``test_uncued_images``).
"""

from kedro.pipeline import Node, Pipeline

from limeguard.pipelines.data.nodes import (
    SPLITS,
    gate_data,
    load_raw_data,
    plant_spurious_cue,
    split_data,
    validate_data,
)
from limeguard.pipelines.shape import spurious_enabled

SPURIOUS_OUTPUTS = ["val_swapped_images", "test_swapped_images", "spurious_cue",
                    "test_uncued_images"]


def create_pipeline(**kwargs) -> Pipeline:
    unchecked = [f"{split}_unchecked" for split in SPLITS]
    planted = spurious_enabled()
    split_outputs = [f"{split}_uncued" for split in SPLITS] if planted else unchecked
    nodes = [
        Node(load_raw_data, "params:data.source", ["train_pool", "test_pool"], name="load_raw_data"),
        Node(split_data, ["train_pool", "test_pool", "params:data.split"], split_outputs,
             name="split_data"),
    ]
    if planted:
        nodes.append(Node(plant_spurious_cue, [*split_outputs, "params:data.spurious"],
                          [*unchecked, *SPURIOUS_OUTPUTS], name="plant_spurious_cue"))
    return Pipeline([
        *nodes,
        Node(validate_data, [*unchecked, "params:data.split", "params:data.gate",
                              "params:data.source"],
             "data_validation_report", name="validate_data"),
        Node(gate_data, ["data_validation_report", *unchecked],
             ["train_images", "val_images", "test_images", "probe_images", "data_manifest"],
             name="gate_data"),
    ])
