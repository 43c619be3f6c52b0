"""Configuration of LIME mining (``params:mine``) as frozen dataclasses.

Build with ``limeguard.config.from_params(MiningConfig, params, "mine")``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from limeguard.config import (
    ConfigError,
    check_choice,
    check_fraction,
    check_int_range,
    check_non_negative,
    check_positive,
    check_real_range,
    check_seed,
)
from limeguard.evaluation.config import ConfinedConfig
from limeguard.explain.propagate import PropagateConfig

ENGINES = ("lime", "batched")
CRITERIA = ("irrelevant", "sensitive", "unstable", "transplant")
SPURIOUS_SETS = ("transplant", "union", "intersection")
EFFECTS = ("log_prob", "prob")
PERTURBATIONS = ("gaussian", "fgsm", "pgd")
REGIONS = ("center", "full")
SCOPES = ("probe", "train")
TRANSFER_MODES = ("search", "class")


@dataclass(frozen=True)
class SegmentationConfig:
    """SLIC superpixels (skimage), computed once per image.

    Attributes:
        n_segments: segments SLIC is asked for (it returns about 35 at 32x32).
        compactness: SLIC colour/space trade-off.
        sigma: Gaussian pre-smoothing width in pixels.
        min_segments: fewer segments than this (or a flat image) -> grid fallback.
        grid_cells: cells per side of the fallback grid (6 -> 36 segments).
        flat_std: an image whose per-channel std is below this everywhere is flat (grid).
    """

    n_segments: int = 50
    compactness: float = 10.0
    sigma: float = 1.0
    min_segments: int = 8
    grid_cells: int = 6
    flat_std: float = 1e-3

    def __post_init__(self) -> None:
        check_int_range("n_segments", self.n_segments, 2)
        check_int_range("min_segments", self.min_segments, 1)
        check_int_range("grid_cells", self.grid_cells, 1)
        check_positive("compactness", self.compactness)
        check_non_negative("sigma", self.sigma)
        check_non_negative("flat_std", self.flat_std)


@dataclass(frozen=True)
class LimeConfig:
    """LIME's sampling and local model, as ``lime.lime_image.LimeImageExplainer``.

    Attributes:
        num_samples: binary superpixel samples per image (the first is all-on).
        kernel_width: width of ``sqrt(exp(-d^2 / w^2))`` on the cosine distance.
        ridge_alpha: ridge penalty (intercept not penalised).
        chunk_size: perturbed images per model call in the batched engine (bounds memory;
            256 is best for a small CNN on CPU, a GPU wants 4096 or more).
        images_per_batch: images explained together by the batched engine.
        lime_batch_size: ``batch_size`` handed to lime's ``explain_instance`` (lime's default 10).
        channels_last: feed the model channels-last tensors (faster convolutions on CPU).
    """

    num_samples: int = 1000
    kernel_width: float = 0.25
    ridge_alpha: float = 1.0
    chunk_size: int = 256
    images_per_batch: int = 32
    lime_batch_size: int = 10
    channels_last: bool = True

    def __post_init__(self) -> None:
        check_int_range("num_samples", self.num_samples, 2)
        check_positive("kernel_width", self.kernel_width)
        check_positive("ridge_alpha", self.ridge_alpha)
        for name in ("chunk_size", "images_per_batch", "lime_batch_size"):
            check_int_range(name, getattr(self, name), 1)


@dataclass(frozen=True)
class TransplantConfig:
    """The transplant test: is a region the model relies on evidence of the class, or a shortcut?

    Every superpixel of an image (class c) is pasted, at the same place, onto the first
    ``screen_recipients`` of its recipients (images of other classes); the ``top_k`` with the
    largest positive rise of (log) p_c are candidates. Each candidate is pasted onto all
    ``recipients`` (effect), and the same region cut from two donor images of other classes per
    recipient is pasted onto the same recipients (null, null2). Its score is the median over
    recipients of effect - (null + null2) / 2; it is flagged when the score exceeds
    ``max(min_effect, the null_quantile of median(null2 - null) over the probe set's
    candidates)``.

    Attributes:
        effect: ``log_prob`` (rise of log p_c: nats of evidence for c) or ``prob`` (rise of p_c).
        screen_recipients: recipients of the screen of every superpixel (<= ``recipients``).
        top_k: candidate superpixels per image (largest positive screen rise).
        recipients: images of other classes each candidate is pasted onto (and two donors each).
        min_effect: floor of the threshold, in the unit of ``effect`` (nats: 1.5 = p_c 4.5 times
            as large as with other content; or probability).
        null_quantile: quantile of the score of other-class content (median of null2 - null)
            the threshold must also exceed.
    """

    effect: str = "log_prob"
    screen_recipients: int = 2
    top_k: int = 5
    recipients: int = 8
    min_effect: float = 1.5
    null_quantile: float = 0.99

    def __post_init__(self) -> None:
        check_choice("effect", self.effect, EFFECTS)
        for name in ("screen_recipients", "top_k", "recipients"):
            check_int_range(name, getattr(self, name), 1)
        if self.screen_recipients > self.recipients:
            raise ConfigError(
                f"screen_recipients: {self.screen_recipients} is more than "
                f"the {self.recipients} recipients it is drawn from")
        check_real_range("min_effect", self.min_effect, 0.0, 1.0 if self.effect == "prob" else
                         float("inf"), high_open=True)
        check_fraction("null_quantile", self.null_quantile)

    def check_fits(self, labels: Sequence[int]) -> None:
        """ConfigError naming ``recipients`` if a class has too few images of other classes:
        ``recipients`` distinct recipients, each with two donors other than itself, need
        ``recipients + 2`` images outside the class."""
        counts = Counter(int(c) for c in labels)
        if not counts:
            return
        label, largest = max(counts.items(), key=lambda kv: kv[1])
        others = len(labels) - largest
        if others < self.recipients + 2:
            raise ConfigError(
                f"criteria.transplant.recipients: {self.recipients} recipients (and their "
                f"donors) need {self.recipients + 2} mining images outside class {label}, "
                f"there are {others}")


@dataclass(frozen=True)
class CriteriaConfig:
    """The criteria of METHOD.md stage 1.4 and how the spurious set is formed from them.

    Every criterion is always scored and flagged (recorded in the attribution table). The paper's
    three (irrelevant, sensitive, unstable) flag above a quantile over the probe set: they measure
    reliance or location, and flag a fixed share of every model. ``transplant`` flags regions the
    model relies on that move images of other classes toward the class (a context-free shortcut),
    thresholded against a null (see :class:`TransplantConfig`).

    Attributes:
        spurious: how the spurious set is formed: ``transplant`` (the transplant flags, default),
            ``union`` or ``intersection`` of the ``combine`` criteria (the paper's union: ablation).
        combine: criteria OR-ed (``union``) or AND-ed (``intersection``) into "spurious".
        irrelevant_quantile: |weight| quantile above which an outside superpixel is irrelevant.
        weight_scale: ``raw`` |weight| (probability units: confident images weigh more) or
            ``image_max`` (|weight| / the image's largest |weight|, scale-free across images).
        sensitive_quantile: quantile of the gradient density above which a superpixel is sensitive.
        unstable_quantile: quantile of the attribution variance above which it is unstable.
        region: object-region prior: ``center`` (centred box) or ``full`` (whole image).
        center_frac: side of the centred box as a fraction of the image side.
        outside_frac: a superpixel is outside the region if at least this share of it lies outside.
        perturbation: copies for instability: ``gaussian`` noise, ``fgsm`` or ``pgd`` examples.
        copies: K perturbed copies per image.
        noise_std_255: Gaussian noise std in pixel units (8 means 8/255).
        eps_255: attack radius in pixel units for ``fgsm``/``pgd`` copies.
        pgd_steps: PGD steps (step size 2.5 eps / steps).
        transplant: the transplant test's settings.
    """

    spurious: str = "transplant"
    combine: tuple[str, ...] = ("irrelevant", "sensitive", "unstable")
    irrelevant_quantile: float = 0.8
    weight_scale: str = "raw"
    sensitive_quantile: float = 0.9
    unstable_quantile: float = 0.9
    region: str = "center"
    center_frac: float = 0.5
    outside_frac: float = 0.5
    perturbation: str = "gaussian"
    copies: int = 3
    noise_std_255: float = 8.0
    eps_255: float = 8.0
    pgd_steps: int = 5
    transplant: TransplantConfig = field(default_factory=TransplantConfig)

    def __post_init__(self) -> None:
        check_choice("spurious", self.spurious, SPURIOUS_SETS)
        unknown = [c for c in self.combine if c not in CRITERIA]
        if unknown or not self.combine:
            raise ConfigError(
                f"combine: use a non-empty subset of {CRITERIA}, got {self.combine}")
        for name in ("irrelevant_quantile", "sensitive_quantile", "unstable_quantile",
                     "outside_frac"):
            check_fraction(name, getattr(self, name))
        check_choice("weight_scale", self.weight_scale, ("raw", "image_max"))
        check_choice("region", self.region, REGIONS)
        check_fraction("center_frac", self.center_frac, low_open=True)
        check_choice("perturbation", self.perturbation, PERTURBATIONS)
        check_int_range("copies", self.copies, 2)  # a variance needs two copies
        check_int_range("pgd_steps", self.pgd_steps, 1)
        for name in ("noise_std_255", "eps_255"):
            check_real_range(name, getattr(self, name), 0.0, 255.0)

    def check_fits(self, height: int, width: int) -> None:
        """ConfigError naming ``center_frac`` if the region prior leaves no object region, or no
        outside, on an ``height`` x ``width`` image (then ``irrelevant`` could never fire)."""
        if self.region != "center":
            return
        sides = [max(1, round(n * self.center_frac)) for n in (height, width)]
        if sides[0] >= height and sides[1] >= width:
            raise ConfigError(
                f"criteria.center_frac: {self.center_frac} makes the centre box the whole "
                f"{height}x{width} image, so nothing is outside it; use region: full for that")
        if round(min(height, width) * self.center_frac) < 1:
            raise ConfigError(
                f"criteria.center_frac: {self.center_frac} gives an empty centre box on a "
                f"{height}x{width} image")


@dataclass(frozen=True)
class MiningConfig:
    """``params:mine``: segmentation, LIME engine and criteria.

    Attributes:
        engine: ``batched`` (vectorised torch) or ``lime`` (the lime package, reference).
        seed: base seed; each image's LIME samples come from (seed, image_id).
        class_mask_threshold: null keeps per-class masks as flag frequencies in [0, 1];
            a number binarises them (frequency >= threshold -> 1).
    """

    engine: str = "batched"
    seed: int = 0
    class_mask_threshold: float | None = None
    segmentation: SegmentationConfig = field(default_factory=SegmentationConfig)
    lime: LimeConfig = field(default_factory=LimeConfig)
    criteria: CriteriaConfig = field(default_factory=CriteriaConfig)

    def __post_init__(self) -> None:
        check_choice("engine", self.engine, ENGINES)
        check_seed("seed", self.seed)
        if self.class_mask_threshold is not None:
            check_fraction("class_mask_threshold", self.class_mask_threshold)


@dataclass(frozen=True)
class TransferConfig:
    """``params:mine.transfer``: the masks of the training and validation images mining did not
    probe.

    Attributes:
        mode: ``search`` (the transplant test on every image of a class mining flagged, see the
            module) or ``class`` (each image takes its class's aggregate of the probe masks,
            binarised at ``rounds.refine.class_mask_threshold``: carries only a shortcut that
            stays at one place per class).
        screen_recipients, top_k, recipients: the transplant test's settings in the search.
        dilate: pixels a flagged region grows by (0: the superpixels as they are).
        propagate: the found content carried to the images of its class where the search missed
            it (``explain.propagate``; search mode only).
    """

    mode: str = "search"
    screen_recipients: int = 1
    top_k: int = 2
    recipients: int = 8
    dilate: int = 0
    propagate: PropagateConfig = field(default_factory=PropagateConfig)

    def __post_init__(self) -> None:
        check_choice("mode", self.mode, TRANSFER_MODES)
        for name in ("screen_recipients", "top_k", "recipients"):
            check_int_range(name, getattr(self, name), 1)
        check_int_range("dilate", self.dilate, 0)

    def transplant(self, mining: TransplantConfig) -> TransplantConfig:
        """Mining's transplant test at the search's settings."""
        return replace(mining, screen_recipients=min(self.screen_recipients, self.recipients),
                       top_k=self.top_k, recipients=self.recipients)


@dataclass(frozen=True)
class MineParams:
    """``params:mine``.

    Attributes:
        scope: ``probe`` (the LIME probe set) or ``train`` (the whole training split).
        mining: the miner (segmentation, LIME engine, criteria).
        figure_images: images shown in the explanation figure.
        stability_images: images re-explained with other seeds for the stability metric.
        stability_seeds: LIME seeds compared pairwise (top-k Jaccard).
        stability_top_k: k of the top-k Jaccard.
        transfer: the masks of the images mining did not probe (``explain.transfer``).
        confined: the flagged-vs-random confined attack (``evaluation.confined``).
    """

    scope: str = "probe"
    mining: MiningConfig = field(default_factory=MiningConfig)
    transfer: TransferConfig = field(default_factory=TransferConfig)
    confined: ConfinedConfig = field(default_factory=ConfinedConfig)
    figure_images: int = 6
    stability_images: int = 16
    stability_seeds: tuple[int, ...] = (0, 1, 2)
    stability_top_k: int = 5

    def __post_init__(self) -> None:
        check_choice("scope", self.scope, SCOPES)
        for name in ("figure_images", "stability_images", "stability_top_k"):
            check_int_range(name, getattr(self, name), 1)
        for i, seed in enumerate(self.stability_seeds):
            check_seed(f"stability_seeds[{i}]", seed)
        if len(set(self.stability_seeds)) < 2:
            raise ConfigError(f"stability_seeds: need at least two different seeds to compare, "
                              f"got {list(self.stability_seeds)}")
        if self.stability_top_k > self.mining.segmentation.n_segments:
            raise ConfigError(f"stability_top_k: {self.stability_top_k} is more than the "
                              f"{self.mining.segmentation.n_segments} superpixels asked for "
                              "(mining.segmentation.n_segments); the top-k would be every one")
