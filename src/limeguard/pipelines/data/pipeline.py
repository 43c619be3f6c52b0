"""``data``: load CIFAR -> stratified splits -> Great Expectations gate -> model inputs."""

from kedro.pipeline import Node, Pipeline

from limeguard.pipelines.data.nodes import gate_data, load_raw_data, split_data, validate_data


def create_pipeline(**kwargs) -> Pipeline:
    unchecked = ["train_unchecked", "val_unchecked", "test_unchecked", "probe_unchecked"]
    return Pipeline([
        Node(load_raw_data, "params:data.source", ["train_pool", "test_pool"], name="load_raw_data"),
        Node(split_data, ["train_pool", "test_pool", "params:data.split"], unchecked,
             name="split_data"),
        Node(validate_data, [*unchecked, "params:data.split", "params:data.gate"],
             "data_validation_report", name="validate_data"),
        Node(gate_data, ["data_validation_report", *unchecked],
             ["train_images", "val_images", "test_images", "probe_images", "data_manifest"],
             name="gate_data"),
    ])
