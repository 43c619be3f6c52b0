"""What the report is built from: per-model results, the run's manifest and provenance, options.

Frozen dataclasses; :func:`normalize_models` checks every table's columns and raises a
``ValueError`` naming the model and the missing column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from limeguard.config import ConfigError
from limeguard.reporting.applicability import Applicability

SUMMARY_COLUMNS = ("attack", "eps_255", "eps_linf", "n", "n_correct", "accuracy")
CORRUPTION_COLUMNS = ("corruption", "severity", "accuracy")
HISTORY_COLUMNS = ("epoch",)
BOUND_COLUMNS = ("image_id", "margin")
BOUND_EITHER = (("bound_255", "bound"), ("eps_empirical_255", "eps_empirical"))
MINING_LONG = ("criterion", "class", "share")
ROUND_NAME = re.compile(r"^(?:(?P<arm>[a-z][a-z0-9_]*)\.)?round_(?P<k>\d+)$")  # <arm>.round_<k>


@dataclass(frozen=True, eq=False)
class ModelResults:
    """Everything measured on one model (one seed).

    Attributes:
        summary: robust accuracy per attack x ε (columns ``attack, eps_255, eps_linf, n,
            n_correct, accuracy``; accuracy in [0, 1]), see ``limeguard.evaluation.summarize``.
        masking: the dict of ``limeguard.evaluation.check_gradient_masking`` (None: not run).
        corruption: CIFAR-10-C accuracy, columns ``corruption, severity, accuracy`` with a
            ``mean`` pseudo-corruption per severity (None: not run).
        history: per-epoch training table (``epoch`` plus any of train_loss, train_acc,
            val_clean_acc, val_pgd_acc).
        mining: LIME mining summary: long ``criterion, class, share`` (class ``all`` overall),
            or ``limeguard.explain`` ``summary_table`` (``scope, label, share_<criterion>``),
            or a mapping criterion -> overall share in [0, 1].
        bound: per-image bound table (``limeguard.bound`` columns; ``*_255`` in pixel units).
        bound_summary: ``limeguard.bound.summarize_bound`` dict; preferred over the table's means.
        cue_reliance: planted-cue variant only: accuracy on the aligned and swapped test sets
            (``limeguard.evaluation.predict.cue_reliance``).
        cue_recovery: planted-cue variant, mined models only: mining precision and recall of the
            cue's pixels (``limeguard.explain.groundtruth.cue_recovery``).
        uncued_robustness: planted-cue variant only: clean and AutoAttack accuracy on the uncued
            test images (``limeguard.evaluation.robustness.autoattack_accuracy``).
        notes: free-text remarks shown in the report (e.g. an empty spurious set).
        seed: the seed this model was trained with (None: unknown).
        attack_results: per-image attack outcomes (``limeguard.evaluation.evaluate_model``
            columns ``image_id, attack, eps_255, correct``, ...); what paired comparisons resample.
        corruption_outcomes: per-image CIFAR-10-C outcomes (``image_id, corruption, severity,
            correct``).
        cue_outcomes: planted-cue variant: per test image, right on the ``aligned``, ``swapped``
            and ``uncued`` version (``limeguard.evaluation.predict.cue_outcomes``).
        uncued_attack_results: planted-cue variant: per-image AutoAttack rows on the uncued images.
        confined: mined models: PGD confined to each criterion's flagged pixels against matched
            random pixels (``limeguard.evaluation.confined.confined_comparison``).
    """

    summary: pd.DataFrame
    masking: Mapping[str, Any] | None = None
    corruption: pd.DataFrame | None = None
    history: pd.DataFrame | None = None
    mining: pd.DataFrame | Mapping[str, float] | None = None
    bound: pd.DataFrame | None = None
    bound_summary: Mapping[str, Any] | None = None
    cue_reliance: Mapping[str, Any] | None = None
    cue_recovery: Mapping[str, Any] | None = None
    uncued_robustness: Mapping[str, Any] | None = None
    notes: Sequence[str] = ()
    seed: int | None = None
    attack_results: pd.DataFrame | None = None
    corruption_outcomes: pd.DataFrame | None = None
    cue_outcomes: pd.DataFrame | None = None
    uncued_attack_results: pd.DataFrame | None = None
    confined: Mapping[str, Any] | None = None


@dataclass(frozen=True, eq=False)
class ReportInputs:
    """The run to report.

    Attributes:
        manifest: data manifest (``source``, ``description``, ``classes``, ``counts``).
        models: ordered name -> results; a sequence of results per name means several seeds.
            Names: ``standard``, ``adversarial`` (required), ``control``, ``round_1`` .. or
            each arm's ``<arm>.round_1`` ..; other names (ablations) appear in the tables only.
        provenance: the dict of :func:`limeguard.reporting.collect_provenance` (or None).
        extra_figures: names of figures saved elsewhere under ``figures/<name>.png`` (LIME
            overlays); a mapping gives each a caption.
        applicability: what the data left out of the configured evaluation
            (:func:`limeguard.reporting.applicability.applicability`).
        arm_baselines: arm -> the AT baseline's results with that arm's own mining (and the
            bound on its masks), for each arm that mines the baseline itself: where the arm's
            spurious-share and bound claims start (``<arm>.adversarial`` in the view).
    """

    manifest: Mapping[str, Any]
    models: Mapping[str, ModelResults | Sequence[ModelResults]]
    provenance: Mapping[str, Any] | None = None
    extra_figures: Sequence[str] | Mapping[str, str] = ()
    applicability: Applicability = field(default_factory=Applicability)
    arm_baselines: Mapping[str, ModelResults | Sequence[ModelResults]] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportConfig:
    """``params:report``: thresholds of the verdicts and naming.

    Attributes:
        title: the report's title.
        headline_eps_255: the headline radius in pixel units (8 means 8/255).
        clean_cost_tolerance: largest clean-accuracy drop (points) that counts as "modest".
        min_gain: smallest gain (points) that counts as an improvement: a gain is supported when
            its paired interval's lower end is above it.
        interval_level: coverage of the paired bootstrap intervals, e.g. 0.95.
        bootstrap_samples: bootstrap draws per interval.
        bootstrap_seed: seed of the draws (the intervals are reproducible).
        min_correlation: smallest Spearman correlation bound vs empirical distortion that
            counts as a positive link.
        min_share_drop: smallest drop (points) of a flagged or attribution share that counts.
        suspect_autoattack: AutoAttack accuracy (percent) above which a result is suspect.
        figure_dir: folder of the figures relative to the Markdown file.
        standard, adversarial, control: the model names of the baselines and the control.
    """

    title: str = "limeguard run report"
    headline_eps_255: float = 8.0
    clean_cost_tolerance: float = 5.0
    min_gain: float = 1.0
    interval_level: float = 0.95
    bootstrap_samples: int = 2000
    bootstrap_seed: int = 0
    min_correlation: float = 0.1
    min_share_drop: float = 1.0
    suspect_autoattack: float = 53.0
    figure_dir: str = "figures"
    standard: str = "standard"
    adversarial: str = "adversarial"
    control: str = "control"

    def __post_init__(self) -> None:
        if self.headline_eps_255 <= 0:
            raise ConfigError(f"headline_eps_255: must be > 0, got {self.headline_eps_255}")
        for name in ("clean_cost_tolerance", "min_gain", "min_share_drop"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: must be >= 0, got {getattr(self, name)}")
        if not 0.5 <= self.interval_level < 1:
            raise ConfigError(f"interval_level: must be in [0.5, 1), got {self.interval_level}")
        if not isinstance(self.bootstrap_samples, int) or self.bootstrap_samples < 100:
            raise ConfigError(f"bootstrap_samples: must be an integer >= 100, got "
                              f"{self.bootstrap_samples!r}")
        if not isinstance(self.bootstrap_seed, int) or not 0 <= self.bootstrap_seed < 2**32:
            raise ConfigError(f"bootstrap_seed: must be an integer in [0, 2**32), got "
                              f"{self.bootstrap_seed!r}")


@dataclass(frozen=True)
class Report:
    """The built report: Markdown text, the DVC metrics dict and the figures by name."""

    markdown: str
    metrics: dict[str, Any]
    figures: dict[str, Any] = field(default_factory=dict)


def arm_rounds(names: Sequence[str]) -> dict[str, list[str]]:
    """Arm -> its round names (``<arm>.round_<k>``; arm ``""`` for plain ``round_<k>``), ordered
    by k; arms in the order they first appear."""
    arms: dict[str, list[str]] = {}
    for name in names:
        match = ROUND_NAME.match(name)
        if match:
            arms.setdefault(match.group("arm") or "", []).append(name)
    return {arm: sorted(rounds, key=lambda n: int(ROUND_NAME.match(n).group("k")))
            for arm, rounds in arms.items()}


def round_names(names: Sequence[str]) -> list[str]:
    """The first arm's round names, ordered by k (the rounds the main sections report)."""
    return next(iter(arm_rounds(names).values()), [])


def normalize_models(
    models: Mapping[str, ModelResults | Sequence[ModelResults]], cfg: ReportConfig
) -> dict[str, tuple[ModelResults, ...]]:
    """name -> tuple of per-seed results, every table checked.

    Raises:
        ValueError: no models, no adversarial baseline, a wrong type, or a missing column
            (the message names the model and the column).
    """
    if not models:
        raise ValueError("report: no models given; the adversarial baseline is required")
    if cfg.adversarial not in models:
        raise ValueError(
            f"report: the adversarial baseline '{cfg.adversarial}' is missing from the models "
            f"({', '.join(models)}); it is the reference of every claim"
        )
    out: dict[str, tuple[ModelResults, ...]] = {}
    for name, value in models.items():
        runs = (value,) if isinstance(value, ModelResults) else tuple(value)
        if not runs or not all(isinstance(r, ModelResults) for r in runs):
            raise ValueError(f"model '{name}': expected ModelResults or a non-empty list of them")
        for run in runs:
            check_results(name, run)
        out[name] = runs
    return out


def check_results(name: str, run: ModelResults) -> None:
    """Raise ``ValueError`` naming the model and column when a table lacks a column."""
    _require(name, "summary", run.summary, SUMMARY_COLUMNS)
    if run.corruption is not None:
        _require(name, "corruption", run.corruption, CORRUPTION_COLUMNS)
    if run.history is not None:
        _require(name, "history", run.history, HISTORY_COLUMNS)
    if run.bound is not None:
        _require(name, "bound", run.bound, BOUND_COLUMNS)
        for options in BOUND_EITHER:
            if not set(options) & set(run.bound.columns):
                raise ValueError(
                    f"model '{name}': bound table is missing column '{options[0]}' "
                    f"(or '{options[1]}')"
                )
    if isinstance(run.mining, pd.DataFrame) and not _is_explain_summary(run.mining):
        _require(name, "mining", run.mining, MINING_LONG)
    if run.masking is not None and not isinstance(run.masking, Mapping):
        raise ValueError(f"model '{name}': masking must be the dict of check_gradient_masking")


def _is_explain_summary(frame: pd.DataFrame) -> bool:
    return "scope" in frame.columns and any(c.startswith("share_") for c in frame.columns)


def _require(name: str, table: str, frame: Any, columns: Sequence[str]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"model '{name}': {table} must be a DataFrame, got {type(frame).__name__}")
    for column in columns:
        if column not in frame.columns:
            raise ValueError(f"model '{name}': {table} table is missing column '{column}'")


def check_manifest(manifest: Any) -> None:
    """Raise ``ValueError`` unless the manifest is a mapping with a ``source``."""
    if not isinstance(manifest, Mapping):
        raise ValueError(f"report: manifest must be a mapping, got {type(manifest).__name__}")
    if "source" not in manifest:
        raise ValueError("report: manifest is missing key 'source'")
