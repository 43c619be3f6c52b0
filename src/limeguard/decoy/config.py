"""``DecoyParams``: every knob of the decoy benchmark (``params:decoy``), validated when built."""

from __future__ import annotations

from dataclasses import dataclass, field

from limeguard.config import ConfigError, check_int_range, check_real_range
from limeguard.decoy.data import DecoyData
from limeguard.models import ModelChoice
from limeguard.refinement.config import RefineConfig
from limeguard.training.config import TrainConfig

METHODS = ("vanilla", "rrr", "counterexamples", "mined", "paper", "clean")
# the arms that fine-tune the vanilla model on masks mined without annotations (their own
# ``decoy.<arm>`` section): ours, and the paper's (its mining: ``rounds.arms.paper``'s ``mine``)
REFINED_ARMS = ("mined", "paper")


@dataclass(frozen=True)
class MinedRefinement:
    """``decoy.mined`` (ours) and ``decoy.paper`` (the paper's arm): a refinement without
    annotations, fine-tuning the vanilla model.

    Attributes:
        rounds: mine -> transfer -> refine rounds (closed loop).
        accumulate_masks: a round masks what any earlier round's mining flagged (ours, as
            ``rounds.accumulate_masks``); false: each round uses its latest mining only (the
            paper's closed loop).
        train: each round's training recipe (epochs of fine-tuning; its ``attack`` is the
            refinement's augmentation attack).
        refine: the refinement loss (``rounds.refine``'s knobs; masks always ``mined``).
    """

    rounds: int = 1
    accumulate_masks: bool = True
    train: TrainConfig = field(default_factory=TrainConfig)
    refine: RefineConfig = field(default_factory=RefineConfig)

    def __post_init__(self) -> None:
        check_int_range("rounds", self.rounds, 1)
        if self.refine.masks != "mined":
            raise ConfigError("refine.masks: this arm refines on mined masks only ('mined')")
        self.refine.check_attack(self.train.attack)


@dataclass(frozen=True)
class RobustnessCheck:
    """``decoy.attack``: PGD L-inf on the first ``images`` decoy test images (pixel units 1/255;
    25.5 = 0.1 of the pixel range, the MNIST papers' small radius)."""

    eps_255: float = 25.5
    alpha_255: float = 2.55
    steps: int = 20
    images: int = 500

    def __post_init__(self) -> None:
        check_real_range("eps_255", self.eps_255, 0.0, 255.0)
        check_real_range("alpha_255", self.alpha_255, 0.0, 255.0, low_open=True)
        check_int_range("steps", self.steps, 1)
        check_int_range("images", self.images, 1)


@dataclass(frozen=True)
class DecoyParams:
    """``params:decoy``.

    Attributes:
        data: the decoy images (:class:`DecoyData`).
        model: the CNN (``decoy_cnn``) and its normalisation.
        train: the recipe of every arm trained from scratch (Adam, lr 1e-3, batch 256).
        rrr_lambda: weight of the RRR penalty with the ground-truth swatch masks.
        mined: our arm (:class:`MinedRefinement`).
        paper: the paper's arm (:class:`MinedRefinement`: its refinement terms; its mining is
            ``rounds.arms.paper``'s ``mine``, ``params:arm_mine.paper``).
        attack: the robust-accuracy check (:class:`RobustnessCheck`).
        checkpoint_root: per-epoch checkpoints of every training run (an interrupted run resumes).
        level, n_boot: the paired intervals' coverage and bootstrap draws.
        protocol: a line the report states (what this config changes from the published one).
    """

    data: DecoyData = field(default_factory=DecoyData)
    model: ModelChoice = field(default_factory=lambda: ModelChoice("decoy_cnn"))
    train: TrainConfig = field(default_factory=TrainConfig)
    rrr_lambda: float = 10.0
    mined: MinedRefinement = field(default_factory=MinedRefinement)
    paper: MinedRefinement = field(default_factory=MinedRefinement)
    attack: RobustnessCheck = field(default_factory=RobustnessCheck)
    checkpoint_root: str = "data/06_models/checkpoints/decoy"
    level: float = 0.95
    n_boot: int = 2000
    protocol: str = ""

    def __post_init__(self) -> None:
        check_real_range("rrr_lambda", self.rrr_lambda, 0.0, 1e9)
        check_real_range("level", self.level, 0.5, 1.0, high_open=True)
        check_int_range("n_boot", self.n_boot, 100)
