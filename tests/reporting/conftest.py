"""Fixtures: reports built once per module from synthetic runs."""

from __future__ import annotations

import pytest

from limeguard.reporting import Report, ReportConfig, build_report
from tests.reporting.synthetic import run_inputs


@pytest.fixture(scope="package")
def full_report() -> Report:
    """Two baselines, the control and two rounds; round_2 beats both references."""
    notes = {2: ["spurious set empty in this round: the round was adversarial fine-tuning"]}
    provenance = {"git_commit": "abc123", "git_dirty": False, "seeds": {"runtime.seed": 0},
                  "device": "cpu (2 torch threads)", "libraries": {"torch": "2.x"},
                  "wall_time_s": {"data": 1.0, "refine": 3.0}, "wall_time_total_s": 4.0,
                  "config": {"runtime": {"seed": 0}}, "started": "t0", "finished": "t1"}
    inputs = run_inputs(notes=notes, provenance=provenance,
                        extra_figures={"lime_overlays": "LIME overlays, before and after"})
    return build_report(inputs, ReportConfig())


@pytest.fixture(scope="package")
def baselines_report() -> Report:
    """T = 0: the baselines only, no control."""
    return build_report(run_inputs(round_aa=(), control_aa=None), ReportConfig())
