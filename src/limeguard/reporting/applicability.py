"""What the data left out of the configured evaluation: AutoAttack's attacks, CIFAR-10-C.

Both follow from the run's parameters and its data (class count, image shape), by the same rules
the evaluation applies (:meth:`AutoAttackLinf.plan`, :func:`corruptions.testset.skip_reason`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from limeguard.attacks.autoattack import AutoAttackLinf, AutoAttackPlan
from limeguard.attacks.factory import build_attack
from limeguard.config import from_params
from limeguard.corruptions.testset import skip_reason
from limeguard.evaluation.config import EvaluateParams
from limeguard.images.source_config import SourceConfig


@dataclass(frozen=True)
class Applicability:
    """Where the run's data changed what was configured.

    Attributes:
        cifar10c_skipped: why CIFAR-10-C was skipped (None: it applies to this data).
        autoattack: AutoAttack label -> its plan, for the labels whose attacks or target
            classes the class count changed.
    """

    cifar10c_skipped: str | None = None
    autoattack: Mapping[str, AutoAttackPlan] = field(default_factory=dict)

    def metrics(self) -> dict[str, Any]:
        """The metrics.json entries; empty where nothing changed (CIFAR-10 runs)."""
        out: dict[str, Any] = {}
        if self.cifar10c_skipped:
            out["cifar10c_skipped"] = self.cifar10c_skipped
        if self.autoattack:
            out["autoattack_plan"] = {
                label: {"n_classes": p.n_classes, "ran": list(p.attacks),
                        "left_out": list(p.dropped), "n_target_classes": p.n_target_classes,
                        "note": p.note()}
                for label, p in self.autoattack.items()}  # fmt: skip
        return out


def applicability(parameters: Mapping[str, Any] | None, manifest: Mapping[str, Any]
                  ) -> Applicability:
    """What the data left out, from the run's parameters (``data.source``, ``evaluate``) and its
    manifest (``classes``); sections absent from ``parameters`` are taken as not configured."""
    params = parameters or {}
    source = (params.get("data") or {}).get("source")
    reason = None
    if source is not None:
        cfg = from_params(SourceConfig, source, "data.source")
        reason = skip_reason(cfg.shape, cfg.dataset) if cfg.shape else None
    n_classes = len(manifest.get("classes") or ())
    plans = _autoattack_plans(params.get("evaluate"), n_classes) if n_classes >= 2 else {}
    return Applicability(reason, plans)


def _autoattack_plans(evaluate: Mapping[str, Any] | None, n_classes: int
                      ) -> dict[str, AutoAttackPlan]:
    if evaluate is None:
        return {}
    cfg = from_params(EvaluateParams, evaluate, "evaluate").attacks
    plans = {}
    for spec in cfg.attacks:
        attack = build_attack(spec.name, cfg.headline_eps_255, **dict(spec.options))
        if isinstance(attack, AutoAttackLinf) and attack.plan(n_classes).changed:
            plans[spec.key] = attack.plan(n_classes)
    return plans
