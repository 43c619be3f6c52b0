"""``RefineConfig``: every knob of the refinement loss (METHOD.md stage 2), validated when built."""

from __future__ import annotations

from dataclasses import dataclass

from limeguard.config import ConfigError, check_choice, check_real_range
from limeguard.training.config import AttackSettings

FILLS = ("counterfactual", "blur", "mean", "zero")
AUGMENTS = ("pgd", "fgsm_rs", "none")
PENALTIES = ("rrr", "loss_gradient")
MASK_SOURCES = ("mined", "oracle")
# preset -> (use_masking, use_regularization, use_augmentation)
ABLATIONS: dict[str, tuple[bool, bool, bool]] = {
    "all": (True, True, True),
    "masking_only": (True, False, False),
    "regularization_only": (False, True, False),
    "augmentation_only": (False, False, True),
}
_SWITCHES = ("use_masking", "use_regularization", "use_augmentation")


@dataclass(frozen=True)
class RefineConfig:
    """Refinement loss ``CE(f(x_adv), y) + alpha CE(f(x_masked), y) + lambda_reg penalty``.

    ``params:refine`` in Kedro. The attack's settings (ε, step, steps) are not here: the first
    term uses the training recipe's ``attack`` (:class:`~limeguard.training.config.AttackSettings`,
    ``rounds.train.attack``), the one the matched control trains with.

    Attributes:
        ablation: preset of the three switches: ``all``, ``masking_only``,
            ``regularization_only``, ``augmentation_only``; null: the switches decide (each
            defaults to on). A switch given together with a preset must agree with it.
        use_masking: the masking term ``alpha * CE(f(x_masked), y)`` on the masked images.
        use_regularization: the sensitivity penalty ``lambda_reg * ||s ⊙ m ⊙ ∇x CE||²``.
        use_augmentation: the first term is CE on adversarial examples (``augment``) of the
            batch; off (or ``augment: none``), it is CE on the clean batch, always kept as the
            anchor so that e.g. ``regularization_only`` is ``CE(f(x)) + lambda_reg penalty``.
        masks: ``mined`` (the previous round's LIME mining) or ``oracle`` (the planted cue's
            pixels; the planted-cue envs only): "can refinement unlearn" apart from "does mining
            find".
        mask_fraction: share of each batch (in [0, 1]) that is masked, drawn among the batch's
            images with a non-empty mask (1: every image that has a mask).
        fill: what masked pixels become: ``counterfactual`` (the pixels of another batch image of
            another class, on the union of both images' masks: the donor's flagged region appears
            under this image's label, as in CutMix / A-ClArC), ``blur`` (Gaussian-blurred copy of
            the image), ``mean`` (the image's mean colour per channel) or ``zero``.
        blur_sigma: standard deviation of the ``blur`` fill, in pixels.
        alpha: weight of the masking term.
        penalty: ``rrr`` (right for the right reasons, Ross et al. 2017: ``||m ⊙ ∇x sum_k log
            p_k(x)||²``, which does not vanish on confident predictions) or ``loss_gradient``
            (``||s ⊙ m ⊙ ∇x CE(f(x), y)||²``, with the mined sensitivity s).
        lambda_reg: weight of the penalty, a per-image *sum* over pixels and channels (batch
            mean). ``rrr``: measured on the planted-cue benchmark, a cue-reliant FGSM-RS model
            starts near 30 per image on the cue's pixels, falling as it unlearns, so 1 keeps the
            term comparable to the CE (10 dominated the clipped steps and slowed unlearning).
            ``loss_gradient``: about 10 (PGD-AT CIFAR models give 0.005-0.1). The per-term values
            are recorded per epoch to tune it.
        consistency_weight: weight of ``KL(p(x) || p(x_masked))`` (the original's prediction,
            held fixed, as the target of the masked image's); 0 switches the term off.
        adv_on_masked: the first term (its attack, or the clean CE without augmentation) starts
            from the batch with its masked fraction masked (the "adversarial examples of the
            masked inputs" of METHOD.md), whether or not the masking term is on. With only augmentation on and this off,
            refinement is plain adversarial fine-tuning (the matched control).
        augment: attack of the first term: ``pgd``, ``fgsm_rs`` (with the training recipe's
            attack settings) or ``none`` (clean CE).
        class_mask_threshold: for :func:`masks_for_training_set`: an unprobed image gets its
            class's aggregate mask binarised at >= this share (null: the soft share itself).
    """

    ablation: str | None = None
    use_masking: bool | None = None
    use_regularization: bool | None = None
    use_augmentation: bool | None = None
    masks: str = "mined"
    mask_fraction: float = 1.0
    fill: str = "counterfactual"
    blur_sigma: float = 2.0
    alpha: float = 1.0
    penalty: str = "rrr"
    lambda_reg: float = 1.0
    consistency_weight: float = 0.0
    adv_on_masked: bool = True
    augment: str = "pgd"
    class_mask_threshold: float | None = 0.5

    def __post_init__(self) -> None:
        self._resolve_switches()
        check_choice("fill", self.fill, FILLS)
        check_choice("augment", self.augment, AUGMENTS)
        check_choice("penalty", self.penalty, PENALTIES)
        check_choice("masks", self.masks, MASK_SOURCES)
        check_real_range("mask_fraction", self.mask_fraction, 0.0, 1.0)
        check_real_range("blur_sigma", self.blur_sigma, 0.0, 32.0, low_open=True)
        check_real_range("alpha", self.alpha, 0.0, 1e6)
        check_real_range("lambda_reg", self.lambda_reg, 0.0, 1e9)
        check_real_range("consistency_weight", self.consistency_weight, 0.0, 1e6)
        if self.class_mask_threshold is not None:
            check_real_range("class_mask_threshold", self.class_mask_threshold, 0.0, 1.0)

    def _resolve_switches(self) -> None:
        if self.ablation is not None:
            check_choice("ablation", self.ablation, tuple(ABLATIONS))
        preset = ABLATIONS[self.ablation or "all"]
        for name, value in zip(_SWITCHES, preset, strict=True):
            given = getattr(self, name)
            if given is None:
                object.__setattr__(self, name, value)
            elif not isinstance(given, bool):
                raise ConfigError(f"{name}: expected true or false, got {given!r}")
            elif self.ablation is not None and given != value:
                raise ConfigError(
                    f"{name}: {given} contradicts ablation {self.ablation!r} (which sets {value})"
                )

    @property
    def augmentation_active(self) -> bool:
        """Whether the first term trains on adversarial examples."""
        return bool(self.use_augmentation) and self.augment != "none"

    def check_attack(self, attack: AttackSettings, where: str = "train.attack") -> None:
        """``ConfigError`` (naming ``where``) if the first term would attack with radius 0."""
        if self.augmentation_active and attack.eps_255 == 0:
            raise ConfigError(f"{where}.eps_255: must be > 0 with augment {self.augment!r}")

    @property
    def terms(self) -> tuple[str, ...]:
        """Names of the loss terms computed: ``adversarial`` or ``base``, ``masking``,
        ``regularization``, ``consistency``."""
        names = ["adversarial" if self.augmentation_active else "base"]
        if self.use_masking:
            names.append("masking")
        if self.use_regularization:
            names.append("regularization")
        if self.consistency_weight > 0:
            names.append("consistency")
        return tuple(names)

