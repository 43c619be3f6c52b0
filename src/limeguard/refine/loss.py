"""``RefinementLoss``: the combined loss of METHOD.md stage 2 as a training ``BatchLoss``."""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

from limeguard.attacks.pgd import PGD, fgsm_rs
from limeguard.refine.config import RefineConfig
from limeguard.refine.masking import apply_mask, as_mask_batch, fill_values
from limeguard.refine.penalty import sensitivity_penalty
from limeguard.training.losses import LossOutput

log = logging.getLogger(__name__)

TERMS = ("adversarial", "base", "masking", "regularization")


def build_refine_attack(cfg: RefineConfig) -> PGD | None:
    """The attack of the first term (None when augmentation is off)."""
    if not cfg.augmentation_active:
        return None
    if cfg.augment == "fgsm_rs":
        return fgsm_rs(cfg.eps_255, cfg.fgsm_alpha_ratio, train_mode=cfg.attack_train_mode)
    return PGD(cfg.eps_255, cfg.alpha_255, steps=cfg.steps, random_start=cfg.random_start,
               train_mode=cfg.attack_train_mode)  # fmt: skip


class RefinementLoss:
    """``CE(f(x_adv), y) + alpha CE(f(x_masked), y) + lambda_reg penalty`` for ``train_model``.

    Per batch (``index``: positions in the training split): ``k = round(mask_fraction * B)``
    images with a non-empty mask are drawn (torch's global RNG, seeded per epoch by the loop)
    and masked with their fill; ``x_adv`` attacks that partly masked batch (or the clean batch,
    see ``adv_on_masked``); the masking term is the mean CE over the masked images; the penalty
    is :func:`sensitivity_penalty` on the clean batch with weights ``s ⊙ m``. Terms switched off
    are not computed. With an all-zero mask set (:attr:`empty_spurious_set`) the masking and
    regularization terms are 0 and not computed: the round is adversarial fine-tuning.

    Args:
        cfg: the refinement configuration.
        masks: (N, H, W) or (N, 1, H, W) masks in [0, 1] of the training split (1 = spurious).
        sensitivity: (N, 1, H, W) or (N, H, W) weights >= 0 (null: 1 everywhere).

    Raises:
        ValueError: bad mask values, or sensitivity maps of another shape than the masks.
    """

    def __init__(
        self, cfg: RefineConfig, masks: torch.Tensor, sensitivity: torch.Tensor | None = None
    ) -> None:
        self.cfg = cfg
        self.masks = as_mask_batch(masks)  # (N, 1, H, W)
        self.weights = self.masks if sensitivity is None else self._weights(sensitivity)
        self.has_mask = self.masks.flatten(1).amax(1) > 0  # (N,)
        self.empty_spurious_set = not bool(self.has_mask.any())
        self.attack = build_refine_attack(cfg)
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
        masked_adv = self.attack is not None and cfg.adv_on_masked
        if not self.empty_spurious_set and (cfg.use_masking or masked_adv):
            fill = fill_values(x, cfg.fill, cfg.blur_sigma)
            x_mix = apply_mask(x, masks * chosen[:, None, None, None].to(x.dtype), fill)
        if self.attack is not None:
            x_adv = self.attack(model, x_mix if cfg.adv_on_masked else x, y)
            logits = model(x_adv)
            terms["adversarial"] = F.cross_entropy(logits, y)
        else:
            logits = model(x)
            terms["base"] = F.cross_entropy(logits, y)
        if cfg.use_masking and not self.empty_spurious_set:
            terms["masking"] = cfg.alpha * self._masking_term(model, x_mix, y, chosen)
        if cfg.use_regularization and not self.empty_spurious_set:
            terms["regularization"] = cfg.lambda_reg * sensitivity_penalty(model, x, y, weights)
        self._record(terms)
        return LossOutput(sum(terms.values()), logits)

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
