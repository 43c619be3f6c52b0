"""Configuration of LIME mining (``params:mine``) as frozen dataclasses.

Build with ``limeguard.config.from_params(MiningConfig, params, "mine")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from limeguard.config import ConfigError

ENGINES = ("lime", "batched")
CRITERIA = ("irrelevant", "sensitive", "unstable")
PERTURBATIONS = ("gaussian", "fgsm", "pgd")
REGIONS = ("center", "full")


def _check_quantile(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name}: quantile must be in [0, 1], got {value}")


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
        if self.n_segments < 2:
            raise ConfigError(f"segmentation.n_segments: must be >= 2, got {self.n_segments}")
        if self.grid_cells < 1:
            raise ConfigError(f"segmentation.grid_cells: must be >= 1, got {self.grid_cells}")


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
        if self.num_samples < 2:
            raise ConfigError(f"lime.num_samples: must be >= 2, got {self.num_samples}")
        if self.kernel_width <= 0:
            raise ConfigError(f"lime.kernel_width: must be > 0, got {self.kernel_width}")
        for name in ("chunk_size", "images_per_batch", "lime_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"lime.{name}: must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class CriteriaConfig:
    """The three criteria of METHOD.md stage 1.4; thresholds are quantiles over the probe set.

    Attributes:
        combine: criteria whose flags are OR-ed (``union``: all three) or AND-ed into "spurious".
        mode: ``union`` (any listed criterion) or ``intersection`` (all listed criteria).
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
    """

    combine: tuple[str, ...] = CRITERIA
    mode: str = "union"
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

    def __post_init__(self) -> None:
        unknown = [c for c in self.combine if c not in CRITERIA]
        if unknown or not self.combine:
            raise ConfigError(
                f"criteria.combine: use a non-empty subset of {CRITERIA}, got {self.combine}")
        if self.mode not in ("union", "intersection"):
            raise ConfigError(f"criteria.mode: 'union' or 'intersection', got {self.mode!r}")
        for name in ("irrelevant_quantile", "sensitive_quantile", "unstable_quantile"):
            _check_quantile(f"criteria.{name}", getattr(self, name))
        if self.weight_scale not in ("raw", "image_max"):
            raise ConfigError(
                f"criteria.weight_scale: 'raw' or 'image_max', got {self.weight_scale!r}")
        if self.region not in REGIONS:
            raise ConfigError(f"criteria.region: use one of {REGIONS}, got {self.region!r}")
        if not 0.0 < self.center_frac <= 1.0:
            raise ConfigError(f"criteria.center_frac: must be in (0, 1], got {self.center_frac}")
        if self.perturbation not in PERTURBATIONS:
            raise ConfigError(
                f"criteria.perturbation: use one of {PERTURBATIONS}, got {self.perturbation!r}")
        if self.copies < 2:
            raise ConfigError(
                f"criteria.copies: need >= 2 copies for a variance, got {self.copies}")


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
        if self.engine not in ENGINES:
            raise ConfigError(f"mine.engine: use one of {ENGINES}, got {self.engine!r}")
        if self.class_mask_threshold is not None:
            _check_quantile("mine.class_mask_threshold", self.class_mask_threshold)
