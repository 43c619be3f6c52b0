"""``decoy``: decoy Fashion-MNIST (issue 25), ``kedro run --env decoy_fmnist --pipelines decoy``.

The images are built once; each seed of ``runtime.seeds`` is a namespace ``decoy_seed_<k>`` (its
``params:runtime`` the run's with ``seed: k``) that trains the six arms on the same images and
scores them on the same test images, so the report's comparisons are paired over seeds and images.
The paper's arm mines with ``params:arm_mine.paper`` (the run's ``mine`` with
``rounds.arms.paper``'s overrides, :class:`limeguard.hooks.ArmParameterHooks`).
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from limeguard.decoy.config import METHODS
from limeguard.pipelines.data.nodes import load_raw_data
from limeguard.pipelines.decoy import nodes
from limeguard.pipelines.seeds.pipeline import configured_seeds, seed_runtime

SCRATCH = {"vanilla": nodes.train_vanilla, "rrr": nodes.train_rrr,
           "counterexamples": nodes.train_counterexamples, "clean": nodes.train_clean}
# the arms fine-tuning vanilla: node name, function, mining parameters (the paper's: the run's
# `mine` with rounds.arms.paper's overrides, limeguard.hooks.ArmParameterHooks)
REFINED = {"mined": ("refine_vanilla", nodes.refine_vanilla, "params:mine"),
           "paper": ("refine_paper", nodes.refine_paper, "params:arm_mine.paper")}


def decoy_namespace(seed: int) -> str:
    return f"decoy_seed_{seed}"


def seed_template() -> Pipeline:
    """One seed: the four arms from scratch, the mined and paper arms from vanilla, outcomes,
    summary."""
    common = ["decoy_sets", "params:decoy", "params:runtime"]
    arms = [Node(func, common, [f"{arm}_model", f"{arm}_history"], name=f"train_{arm}")
            for arm, func in SCRATCH.items()]
    refined = [Node(func, ["vanilla_model", "decoy_sets", "params:decoy", mine, "params:runtime"],
                    [f"{arm}_model", f"{arm}_history", f"{arm}_rounds"], name=name)
               for arm, (name, func, mine) in REFINED.items()]
    return Pipeline([
        *arms,
        *refined,
        Node(nodes.evaluate_arms, {"sets": "decoy_sets", "decoy": "params:decoy",
                                   "runtime": "params:runtime",
                                   **{m: f"{m}_model" for m in METHODS}},
             "outcomes", name="evaluate_arms"),
        Node(nodes.summarise_seed, {**{f"{a}_rounds": f"{a}_rounds" for a in REFINED},
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
