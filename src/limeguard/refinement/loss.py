"""``RefinementLoss``: the combined loss of METHOD.md stage 2 as a training ``BatchLoss``."""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

from limeguard.attacks.pgd import PGD, fgsm_rs
from limeguard.refinement.config import RefineConfig
from limeguard.refinement.masking import (
    apply_mask,
    as_mask_batch,
    counterfactual_donors,
    counterfactual_fill,
    fill_values,
)
from limeguard.refinement.penalty import input_gradient_penalty
from limeguard.training.config import AttackSettings
from limeguard.training.losses import LossOutput

log = logging.getLogger(__name__)

TERMS = ("adversarial", "base", "masking", "regularization", "consistency")


def build_refine_attack(cfg: RefineConfig, attack: AttackSettings) -> PGD | None:
    """The attack of the first term: ``cfg.augment`` with the training recipe's ``attack``
    settings (None when augmentation is off)."""
    if not cfg.augmentation_active:
        return None
    cfg.check_attack(attack)
    if cfg.augment == "fgsm_rs":
        return fgsm_rs(attack.eps_255, attack.fgsm_alpha_ratio, train_mode=attack.train_mode)
    return PGD(attack.eps_255, attack.alpha_255, steps=attack.steps,
               random_start=attack.random_start, train_mode=attack.train_mode)  # fmt: skip


class RefinementLoss:
    """``CE(f(x_adv), y) + alpha CE(f(x_masked), y) + lambda_reg penalty + beta KL`` for
    ``train_model``.

    Per batch (``index``: positions in the training split): ``k = round(mask_fraction * B)``
    images with a non-empty mask are drawn (torch's global RNG, seeded per epoch by the loop)
    and masked with their fill (``counterfactual``: each takes a random batch image's pixels on
    the union of both masks); the first term (``x_adv``, or the batch itself without
    augmentation) starts from that partly masked batch (or the clean batch, see
    ``adv_on_masked``: a clean term on the cued images would keep paying the shortcut); the
    masking term is the mean CE over the masked images; the penalty is
    :func:`input_gradient_penalty` on the clean batch (weights ``m`` for ``rrr``, ``s ⊙ m`` for
    ``loss_gradient``); the consistency term is ``KL(p(x) || p(x_masked))`` over the
    masked images. Terms switched off are not computed. With an all-zero mask set
    (:attr:`empty_spurious_set`) only the first term is: the round is adversarial fine-tuning.

    Args:
        cfg: the refinement configuration.
        masks: (N, H, W) or (N, 1, H, W) masks in [0, 1] of the training split (1 = spurious).
        sensitivity: (N, 1, H, W) or (N, H, W) weights >= 0 (null: 1 everywhere).
        attack: the settings of ``cfg.augment``'s attack: the training recipe's
            (``TrainConfig.attack``), so that the matched control trains against the same one.

    Raises:
        ValueError: bad mask values, or sensitivity maps of another shape than the masks.
        ConfigError: augmentation with an attack of radius 0.
    """

    def __init__(
        self, cfg: RefineConfig, masks: torch.Tensor, sensitivity: torch.Tensor | None = None,
        *, attack: AttackSettings,
    ) -> None:
        self.cfg = cfg
        self.masks = as_mask_batch(masks)  # (N, 1, H, W)
        use_sensitivity = sensitivity is not None and cfg.penalty == "loss_gradient"
        self.weights = self._weights(sensitivity) if use_sensitivity else self.masks
        self.has_mask = self.masks.flatten(1).amax(1) > 0  # (N,)
        self.empty_spurious_set = not bool(self.has_mask.any())
        self.attack = build_refine_attack(cfg, attack)
        self._on: dict[torch.device, tuple[torch.Tensor, ...]] = {}
        self._sums: dict[str, torch.Tensor] = {}
        self._batches = 0
        if self.empty_spurious_set:
            log.warning(
                "refine: the spurious set is empty (no pixel flagged); masking and "
                "regularization contribute 0, the round is adversarial fine-tuning"
            )

    def _weights(self, sensitivity: torch.Tensor) -> torch.Tensor:
        s = sensitivity.to(torch.float32)
        s = s[:, None] if s.ndim == 3 else s
        if s.shape != self.masks.shape:
            raise ValueError(f"sensitivity of shape {tuple(sensitivity.shape)} does not match "
                             f"masks of shape {tuple(self.masks.shape)}")  # fmt: skip
        if not bool(torch.isfinite(s).all()) or bool((s < 0).any()):
            raise ValueError("sensitivity: values must be finite and >= 0")
        return s * self.masks

    def _tensors_on(self, device: torch.device) -> tuple[torch.Tensor, ...]:
        if device not in self._on:
            self._on[device] = tuple(t.to(device) for t in (self.masks, self.weights,
                                                            self.has_mask))  # fmt: skip
        return self._on[device]

    def __call__(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, index: torch.Tensor
    ) -> LossOutput:
        """The loss of one batch: ``x`` (B, C, H, W) in [0, 1], ``y`` (B,), ``index`` (B,)."""
        if tuple(self.masks.shape[-2:]) != tuple(x.shape[-2:]):
            raise ValueError(f"masks of shape {tuple(self.masks.shape)} do not match images "
                             f"of shape {tuple(x.shape)} (H, W)")  # fmt: skip
        cfg, terms = self.cfg, {}
        masks, weights, has_mask = (t[index] for t in self._tensors_on(x.device))
        chosen = self._choose(has_mask)  # (B,) bool
        x_mix = x
        if not self.empty_spurious_set and (cfg.use_masking or cfg.adv_on_masked
                                            or cfg.consistency_weight > 0):
            x_mix = self._masked(x, y, masks, chosen)
        first = x_mix if cfg.adv_on_masked else x
        if self.attack is not None:
            logits = model(self.attack(model, first, y))
            terms["adversarial"] = F.cross_entropy(logits, y)
        else:
            logits = model(first)
            terms["base"] = F.cross_entropy(logits, y)
        if not self.empty_spurious_set:
            terms.update(self._mask_terms(model, x, x_mix, y, weights, chosen))
        self._record(terms)
        return LossOutput(sum(terms.values()), logits)

    def _masked(self, x: torch.Tensor, y: torch.Tensor, masks: torch.Tensor,
                chosen: torch.Tensor) -> torch.Tensor:
        """The batch with its chosen images masked by the configured fill."""
        if self.cfg.fill == "counterfactual":
            return counterfactual_fill(x, masks, counterfactual_donors(y), chosen)
        fill = fill_values(x, self.cfg.fill, self.cfg.blur_sigma)
        return apply_mask(x, masks * chosen[:, None, None, None].to(x.dtype), fill)

    def _mask_terms(self, model: nn.Module, x: torch.Tensor, x_mix: torch.Tensor,
                    y: torch.Tensor, weights: torch.Tensor,
                    chosen: torch.Tensor) -> dict[str, torch.Tensor]:
        """The weighted masking, regularization and consistency terms that are switched on."""
        cfg, terms = self.cfg, {}
        if cfg.use_masking:
            terms["masking"] = cfg.alpha * self._masking_term(model, x_mix, y, chosen)
        if cfg.use_regularization:
            terms["regularization"] = cfg.lambda_reg * input_gradient_penalty(
                model, x, y, weights, cfg.penalty)
        if cfg.consistency_weight > 0:
            terms["consistency"] = cfg.consistency_weight * self._consistency(model, x, x_mix,
                                                                               chosen)
        return terms

    def _consistency(self, model: nn.Module, x: torch.Tensor, x_mix: torch.Tensor,
                     chosen: torch.Tensor) -> torch.Tensor:
        """``KL(p(x) || p(x_masked))`` averaged over the masked images, ``p(x)`` held fixed."""
        if not bool(chosen.any()):
            return x.new_zeros(())
        with torch.no_grad():
            target = F.softmax(model(x[chosen]).float(), dim=1)
        log_p = F.log_softmax(model(x_mix[chosen]).float(), dim=1)
        return F.kl_div(log_p, target, reduction="batchmean")

    def _choose(self, has_mask: torch.Tensor) -> torch.Tensor:
        """(B,) bool: up to round(mask_fraction * B) random images among those with a mask."""
        b = len(has_mask)
        k = int(round(self.cfg.mask_fraction * b))
        chosen = torch.zeros(b, dtype=torch.bool, device=has_mask.device)
        if k == 0:
            return chosen
        keys = torch.rand(b, device=has_mask.device) + (~has_mask).to(torch.float32)
        chosen[keys.argsort()[:k]] = True  # masked images sort first (keys < 1)
        return chosen & has_mask

    def _masking_term(self, model: nn.Module, x_mix: torch.Tensor, y: torch.Tensor,
                      chosen: torch.Tensor) -> torch.Tensor:  # fmt: skip
        if not bool(chosen.any()):
            return x_mix.new_zeros(())
        return F.cross_entropy(model(x_mix[chosen]), y[chosen])

    def _record(self, terms: dict[str, torch.Tensor]) -> None:
        for name, value in terms.items():
            total = self._sums.get(name)
            value = value.detach().float()
            self._sums[name] = value if total is None else total + value
        self._batches += 1

    def pop_term_means(self) -> dict[str, float]:
        """Mean of each computed (weighted) term over the batches since the last call; resets."""
        means = {f"term_{k}": float(v) / max(self._batches, 1) for k, v in self._sums.items()}
        self._sums, self._batches = {}, 0
        return means
