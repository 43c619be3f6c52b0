"""``decoy``: decoy Fashion-MNIST (issue 25), ``kedro run --env decoy_fmnist --pipelines decoy``.

The images are built once; each seed of ``runtime.seeds`` is a namespace ``decoy_seed_<k>`` (its
``params:runtime`` the run's with ``seed: k``) that trains the five arms on the same images and
scores them on the same test images, so the report's comparisons are paired over seeds and images.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from limeguard.decoy.config import METHODS
from limeguard.pipelines.data.nodes import load_raw_data
from limeguard.pipelines.decoy import nodes
from limeguard.pipelines.seeds.pipeline import configured_seeds, seed_runtime

SCRATCH = {"vanilla": nodes.train_vanilla, "rrr": nodes.train_rrr,
           "counterexamples": nodes.train_counterexamples, "clean": nodes.train_clean}


def decoy_namespace(seed: int) -> str:
    return f"decoy_seed_{seed}"


def seed_template() -> Pipeline:
    """One seed: the four arms from scratch, the mined arm from vanilla, outcomes, summary."""
    common = ["decoy_sets", "params:decoy", "params:runtime"]
    arms = [Node(func, common, [f"{arm}_model", f"{arm}_history"], name=f"train_{arm}")
            for arm, func in SCRATCH.items()]
    return Pipeline([
        *arms,
        Node(nodes.refine_vanilla, ["vanilla_model", "decoy_sets", "params:decoy", "params:mine",
                                    "params:runtime"],
             ["mined_model", "mined_history", "mined_rounds"], name="refine_vanilla"),
        Node(nodes.evaluate_arms, {"sets": "decoy_sets", "decoy": "params:decoy",
                                   "runtime": "params:runtime",
                                   **{m: f"{m}_model" for m in METHODS}},
             "outcomes", name="evaluate_arms"),
        Node(nodes.summarise_seed, {"rounds": "mined_rounds",
                                    **{f"{m}_{k}": f"{m}_{k}" for m in METHODS
                                       for k in ("history", "timings")}},
             "summary", name="summarise_seed"),
    ])


def namespaced_seed(seed: int) -> Pipeline:
    template = seed_template()
    params = {p: p for p in template.inputs() if p.startswith("params:")}
    return Pipeline(template, namespace=decoy_namespace(seed), inputs={"decoy_sets"},
                    parameters={**params, "params:runtime": seed_runtime(seed)})


def create_pipeline(**kwargs) -> Pipeline:
    seeds = configured_seeds()
    tables = {f"{decoy_namespace(s)}__{key}": f"{decoy_namespace(s)}.{key}"
              for s in seeds for key in ("outcomes", "summary")}
    return Pipeline([
        Node(load_raw_data, "params:data.source", ["decoy_train_pool", "decoy_test_pool"],
             name="load_decoy_pools"),
        Node(nodes.make_decoy_sets, ["decoy_train_pool", "decoy_test_pool", "params:decoy"],
             "decoy_sets", name="make_decoy_sets"),
        Node(nodes.report_decoy, {"decoy": "params:decoy", **tables},
             ["decoy_report_markdown", "decoy_metrics"], name="report_decoy"),
    ]) + sum((namespaced_seed(s) for s in seeds), Pipeline([]))
