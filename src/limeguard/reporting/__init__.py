"""The run report: Markdown, DVC metrics and figures from the evaluation of every model.

Library code: never imports Kedro. Entry points: :func:`build_report` with
:class:`ReportInputs` (per-model :class:`ModelResults`) and :class:`ReportConfig`, and
:func:`collect_provenance`.
"""

from limeguard.reporting.claims import VERDICTS, Claim, all_claims
from limeguard.reporting.inputs import ModelResults, Report, ReportConfig, ReportInputs
from limeguard.reporting.provenance import collect_provenance, stage_of, wall_time_by_stage
from limeguard.reporting.report import build_report

__all__ = [
    "VERDICTS",
    "Claim",
    "ModelResults",
    "Report",
    "ReportConfig",
    "ReportInputs",
    "all_claims",
    "build_report",
    "collect_provenance",
    "stage_of",
    "wall_time_by_stage",
]
