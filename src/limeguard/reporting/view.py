"""The checked, pre-computed view of a run that every section reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from limeguard.images.sources import CIFAR10_CLASSES
from limeguard.reporting import numbers
from limeguard.reporting.applicability import Applicability
from limeguard.reporting.inputs import (
    ModelResults,
    ReportConfig,
    ReportInputs,
    arm_rounds,
    check_manifest,
    normalize_models,
    round_names,
)
from limeguard.reporting.numbers import Stat

MIRROR_SOURCE = "jpeg_mirror"
MIRROR_CAPTION = "CIFAR-10 (JPEG q75 mirror)"
REFERENCE_EPS_255 = 8.0  # METHOD.md's published numbers: CIFAR-10 at 8/255


@dataclass(frozen=True, eq=False)
class RunView:
    """Models (per-seed results), their headline statistics and the data caption.

    Attributes:
        models: name -> per-seed results, in the given order.
        stats: name -> quantity -> :class:`Stat` at the headline ε (accuracies in [0, 1]).
        variants: name -> the AutoAttack label that ran at the headline ε (None: none).
        n_images: name -> test images evaluated.
        bounds: name -> bound numbers (first seed), see :func:`numbers.bound_numbers`.
        rounds: the rounds the main sections report (the first arm's), by k.
        arms: arm -> its round names by k, every arm (``""``: rounds without an arm's name).
        caption: the data set as every accuracy table names it.
        mirror: whether the pixels came from the JPEG mirror.
        paired: (candidate, reference, measure) -> its comparison, computed once
            (:func:`limeguard.reporting.paired.compare`).
        applicability: what the data left out (AutoAttack's attacks, CIFAR-10-C).
        arm_start: the name in ``stats`` and ``bounds`` whose mining and bound claims (d) and (e)
            start from: ``<arm>.adversarial`` in the view of an arm that mines the AT baseline
            itself; empty: the adversarial baseline.
        arm_baselines: ``<arm>.adversarial`` -> per-seed results: the AT baseline as an arm
            that mines it itself mined it (its mining, bound and confined attack).
    """

    models: dict[str, tuple[ModelResults, ...]]
    stats: dict[str, dict[str, Stat]]
    variants: dict[str, str | None]
    n_images: dict[str, int]
    bounds: dict[str, dict[str, float]]
    rounds: list[str]
    caption: str
    mirror: bool
    manifest: Mapping[str, Any]
    cfg: ReportConfig
    paired: dict[tuple[str, str, str], Any] = field(default_factory=dict, repr=False)
    arms: dict[str, list[str]] = field(default_factory=dict)
    applicability: Applicability = field(default_factory=Applicability)
    arm_start: str = ""
    arm_baselines: dict[str, tuple[ModelResults, ...]] = field(default_factory=dict)

    @property
    def spurious_start(self) -> str:
        """Where the spurious share and the bound's attribution share start: the AT baseline, as
        this view's arm mined it."""
        return self.arm_start or self.cfg.adversarial

    def stat(self, name: str, key: str) -> Stat:
        """The statistic ``key`` of model ``name`` (NaN when the model is absent)."""
        if name not in self.stats:
            return Stat(float("nan"), float("nan"), 0)
        return self.stats[name][key]

    def has(self, name: str) -> bool:
        """Whether model ``name`` ran."""
        return name in self.models

    @property
    def ordered(self) -> list[str]:
        """The model names: standard, adversarial, control, every arm's round_1 .. round_T, then
        any others (ablations) in the given order."""
        every = [r for rounds in self.arms.values() for r in rounds] or self.rounds
        fixed = [self.cfg.standard, self.cfg.adversarial, self.cfg.control, *every]
        head = [name for name in fixed if name in self.models]
        return head + [name for name in self.models if name not in head]

    @property
    def has_reference(self) -> bool:
        """Whether METHOD.md's published numbers apply: CIFAR-10's classes at ε = 8/255."""
        return (tuple(self.manifest.get("classes") or ()) == CIFAR10_CLASSES
                and self.cfg.headline_eps_255 == REFERENCE_EPS_255)

    @property
    def autoattack_label(self) -> str:
        """The AutoAttack variant(s) that ran, e.g. ``autoattack_fast``, or ``none``."""
        labels = sorted({v for v in self.variants.values() if v})
        return " / ".join(labels) if labels else "none"


def build_view(inputs: ReportInputs, cfg: ReportConfig) -> RunView:
    """Check the inputs and compute the headline numbers of every model."""
    check_manifest(inputs.manifest)
    models = normalize_models(inputs.models, cfg)
    arm_baselines = {f"{arm}.{cfg.adversarial}": tuple(runs) if isinstance(runs, Sequence)
                     else (runs,) for arm, runs in inputs.arm_baselines.items()}
    measured = {**models, **arm_baselines}
    eps = cfg.headline_eps_255
    return RunView(
        models=models,
        stats={n: numbers.aggregate(runs, eps) for n, runs in measured.items()},
        variants={n: numbers.autoattack_variant(r[0].summary, eps) for n, r in models.items()},
        n_images={n: numbers.n_images(runs[0].summary) for n, runs in models.items()},
        bounds={n: numbers.bound_numbers(runs[0]) for n, runs in measured.items()},
        rounds=round_names(list(models)),
        arms=arm_rounds(list(models)),
        caption=data_caption(inputs.manifest),
        mirror=inputs.manifest.get("source") == MIRROR_SOURCE,
        manifest=inputs.manifest,
        cfg=cfg,
        applicability=inputs.applicability,
        arm_baselines=arm_baselines,
    )


def data_caption(manifest: Mapping[str, Any]) -> str:
    """The data set's name for captions; always the mirror's name for the JPEG mirror."""
    description = str(manifest.get("description") or manifest.get("source") or "unknown data")
    if manifest.get("source") == MIRROR_SOURCE and MIRROR_CAPTION not in description:
        description = f"{MIRROR_CAPTION}; {description}"
    if manifest.get("variant"):
        description = f"{description}; variant: {manifest['variant']} (test images aligned)"
    return description


PROGRESS_KEYS = ("clean", "pgd", "autoattack", "worst_case", "spurious_share")


def progress_rows(view: RunView) -> list[dict[str, Any]]:
    """Round 0 (the adversarial baseline the rounds start from), then each round's means.

    Empty when no round ran. Each row: ``model``, ``round`` and :data:`PROGRESS_KEYS`
    (fractions in [0, 1], NaN when not measured).
    """
    if not view.rounds:
        return []
    names = [view.cfg.adversarial, *view.rounds]
    return [
        {"model": name, "round": k, **{key: view.stat(name, key).mean for key in PROGRESS_KEYS}}
        for k, name in enumerate(names)
    ]


COLLAPSE_DROP = 0.2  # validation accuracy lost by a round, relative to its start, that is a collapse
CHANCE_MARGIN = 0.05  # a round within this of chance accuracy has collapsed to chance


def collapsed_rounds(view: RunView) -> list[str]:
    """A sentence per round whose validation clean accuracy (last epoch of its history) fell to
    chance (within :data:`CHANCE_MARGIN`) from at least :data:`COLLAPSE_DROP` above it, where the
    model it started from stood.

    Chance, not the drop alone: a round selects on cue-neutral validation images, where a model
    that unlearns a shortcut legitimately scores far below its start's accuracy on cued images.
    """
    classes = len(view.manifest.get("classes") or ()) or 10
    chance = 1 / classes + CHANCE_MARGIN
    names = [view.cfg.adversarial, *view.rounds]
    out = []
    for previous, name in zip(names, names[1:], strict=False):
        start, end = _last_val_clean(view, previous), _last_val_clean(view, name)
        if start is not None and end is not None and end <= chance < start - COLLAPSE_DROP:
            out.append(f"{name} collapsed: validation clean accuracy {100 * start:.1f}% -> "
                       f"{100 * end:.1f}% (training diverged; its numbers are not a refined model's)")
    return out


def _last_val_clean(view: RunView, name: str) -> float | None:
    history = view.models[name][0].history if name in view.models else None
    if history is None or "val_clean_acc" not in history or history.empty:
        return None
    value = float(history["val_clean_acc"].iloc[-1])
    return value if numbers.finite(value) else None
