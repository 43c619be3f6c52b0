"""``seeds``: the job once per seed of ``runtime.seeds``, then one report over the seeds.

Each seed is a namespace ``seed_<k>`` holding the baselines, the mining, the rounds, the control and
their evaluations; the data splits, the mining images and CIFAR-10-C are built once and shared, so
every seed's models are scored on the same images (the report's comparisons are paired over seeds
and images). Inside a namespace ``params:runtime`` is ``params:seed_runtime.seed_<k>``, the run's
runtime with ``seed: k`` (added by :class:`limeguard.hooks.SeedParameterHooks`).
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from limeguard.pipelines import baseline, data, rounds
from limeguard.pipelines.evaluate.pipeline import (
    arm_baseline_bounds,
    corruption_pipeline,
    evaluated_models,
    namespaced_evaluation,
)
from limeguard.pipelines.mine.pipeline import namespaced_mining, segmentation_pipeline
from limeguard.pipelines.report.nodes import build_seeds_report
from limeguard.pipelines.report.pipeline import REPORT_PARAMETERS, report_inputs
from limeguard.pipelines.shape import configured_parameters


def configured_seeds() -> tuple[int, ...]:
    """``runtime.seeds`` of the run env (``(0,)`` when conf does not say)."""
    seeds = (configured_parameters().get("runtime") or {}).get("seeds") or [0]
    return tuple(int(s) for s in seeds)


def seed_namespace(seed: int) -> str:
    return f"seed_{seed}"


def seed_runtime(seed: int) -> str:
    """The parameter that is ``params:runtime`` inside seed ``seed``'s namespace."""
    return f"params:seed_runtime.{seed_namespace(seed)}"


def per_seed_job() -> Pipeline:
    """What one seed runs: baselines, mining, rounds and control, and every model's evaluation."""
    evaluations = [namespaced_evaluation(m) for m in evaluated_models()]
    return sum(evaluations, baseline.create_pipeline() + rounds.create_pipeline()
               + namespaced_mining("adversarial", "adversarial_model") + arm_baseline_bounds())


def namespaced_job(seed: int) -> Pipeline:
    """:func:`per_seed_job` under ``seed_<k>``; its free inputs (splits, CIFAR-10-C) are shared."""
    job = per_seed_job()
    params = {p for p in job.inputs() if p.startswith("params:")}
    shared = job.inputs() - params
    mapping = {p: p for p in params} | {"params:runtime": seed_runtime(seed)}
    return Pipeline(job, namespace=seed_namespace(seed), inputs={n: n for n in shared},
                    parameters=mapping)


def seeds_report(seeds: tuple[int, ...]) -> Pipeline:
    tables = {f"{seed_namespace(s)}__{key}": f"{seed_namespace(s)}.{name}"
              for s in seeds for key, name in report_inputs().items()}
    return Pipeline([Node(build_seeds_report, {**REPORT_PARAMETERS, **tables},
                          ["seeds_report_markdown", "seeds_report_metrics", "seeds_report_figures"],
                          name="build_seeds_report")])


def create_pipeline(**kwargs) -> Pipeline:
    seeds = configured_seeds()
    shared = data.create_pipeline() + segmentation_pipeline() + corruption_pipeline()
    return sum((namespaced_job(s) for s in seeds), shared) + seeds_report(seeds)
