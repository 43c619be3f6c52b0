"""TrainConfig validation and learning-rate schedules."""

from __future__ import annotations

import pytest

from limeguard.config import ConfigError, from_params
from limeguard.training import TrainConfig, lr_at
from limeguard.training.config import AttackSettings


def test_defaults_are_valid() -> None:
    cfg = TrainConfig()
    assert cfg.method == "standard" and cfg.epochs == 10 and not cfg.adversarial


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"method": "pgd"}, "method"),
        ({"schedule": "linear"}, "schedule"),
        ({"amp": "fp8"}, "amp"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": -1}, "batch_size"),
        ({"attack": {"steps": 0}}, r"train\.attack\.steps: must be an integer >= 1"),
        ({"attack": {"eps_255": -1.0}}, r"train\.attack\.eps_255: must be in \[0, 64\]"),
        ({"attack": {"eps_255": 300.0}}, r"train\.attack\.eps_255"),
        ({"attack": {"fgsm_alpha_ratio": 0}}, r"train\.attack\.fgsm_alpha_ratio"),
        ({"attack": {"random_start": "yes"}}, r"train\.attack\.random_start: expected bool"),
        ({"lr": 0.0}, "lr"),
        ({"momentum": 1.5}, "momentum"),
        ({"co_drop": 0.0}, "co_drop"),
        ({"patience": 0}, "patience"),
        ({"milestones": [0.8, 0.5]}, "milestones"),
        ({"method": "pgd_at", "attack": {"eps_255": 0.0}},
         r"train\.attack\.eps_255: must be > 0 for method 'pgd_at'"),
        ({"lrate": 0.1}, "lrate"),
    ],
)
def test_bad_values_name_the_key(params: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        from_params(TrainConfig, params, "train")


def test_unknown_key_suggests_the_close_one() -> None:
    with pytest.raises(ConfigError, match="did you mean 'weight_decay'"):
        from_params(TrainConfig, {"weight_decy": 0.1}, "train")


@pytest.mark.parametrize(("key", "moved"), [("eps_255", "attack.eps_255"),
                                            ("attack_steps", "attack.steps"),
                                            ("attack_train_mode", "attack.train_mode")])
def test_an_attack_key_outside_its_section_points_into_it(key: str, moved: str) -> None:
    with pytest.raises(ConfigError, match=rf"train: unknown parameter '{key}' \(did you mean '{moved}'\?\)"):
        from_params(TrainConfig, {key: 1}, "train")


def test_the_attack_is_one_nested_section() -> None:
    cfg = from_params(TrainConfig, {"method": "pgd_at",
                                    "attack": {"alpha_255": 1, "steps": 7, "train_mode": False}},
                      "train")  # fmt: skip
    assert cfg.attack == AttackSettings(alpha_255=1.0, steps=7, train_mode=False)
    assert TrainConfig().attack == AttackSettings()  # 8/255, 2/255, 10 steps, random start
    assert from_params(TrainConfig, {"attack": None}, "train").attack == AttackSettings()


def test_from_params_converts_lists() -> None:
    cfg = from_params(TrainConfig, {"milestones": [0.3, 0.6], "lr": 1}, "train")
    assert cfg.milestones == (0.3, 0.6) and cfg.lr == 1.0


@pytest.mark.parametrize("schedule", ["cosine", "piecewise", "onecycle", "constant"])
def test_schedules_stay_in_range(schedule: str) -> None:
    cfg = TrainConfig(schedule=schedule, epochs=10, lr=0.2, warmup_epochs=1.0)
    rates = [lr_at(cfg, s, 10) for s in range(100)]
    assert all(0 <= r <= 0.2 + 1e-12 for r in rates)
    if schedule != "onecycle":
        assert rates[0] < 0.02 and rates[5] < rates[9]  # linear warm-up over the first epoch


def test_schedule_shapes() -> None:
    cos = TrainConfig(schedule="cosine", epochs=4, lr=1.0)
    assert lr_at(cos, 0, 100) > 0.99 and lr_at(cos, 399, 100) < 1e-3
    pw = TrainConfig(schedule="piecewise", epochs=4, lr=1.0, milestones=(0.5, 0.75))
    assert [lr_at(pw, s, 100) for s in (10, 210, 310)] == pytest.approx([1.0, 0.1, 0.01])
    one = TrainConfig(schedule="onecycle", epochs=10, lr=1.0, onecycle_peak=0.4)
    rates = [lr_at(one, s, 10) for s in range(100)]
    assert max(range(100), key=rates.__getitem__) in (39, 40) and rates[-1] < 0.02
