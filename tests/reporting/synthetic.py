"""Synthetic per-model results for the report tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from limeguard.reporting import ModelResults, ReportInputs

SWEEP = (1.0, 2.0, 4.0, 8.0, 16.0)
SMALL = (0.01 * 255, 0.02 * 255)
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]  # fmt: skip
MIRROR = {"source": "jpeg_mirror", "description": "CIFAR-10 (JPEG q75 mirror)",
          "classes": CLASSES, "counts": {"train": 5000, "val": 1000, "test": 1000, "probe": 200}}


def summary(clean: float, pgd8: float, aa8: float, n: int = 1000, aa: str = "autoattack_fast",
            square_gap: float = 0.05) -> pd.DataFrame:
    """A summary table in the format of ``limeguard.evaluation.summarize``."""
    rows = [("clean", 0.0, clean)]
    decay = {e: np.exp(-e / 6) for e in (*SWEEP, *SMALL)}
    for eps, f in decay.items():
        pgd = pgd8 if eps == 8.0 else min(clean, pgd8 * f / decay[8.0])
        rows += [("fgsm", eps, min(clean, pgd + 0.03)), ("pgd", eps, pgd)]
        at = {"fgsm": pgd + 0.03, "pgd": pgd}
        if eps == 8.0:
            at |= {"pgd_restarts": pgd - 0.01, "cw": pgd - 0.005, aa: aa8,
                   "square": aa8 + square_gap}
            rows += [(a, eps, v) for a, v in at.items() if a not in ("fgsm", "pgd")]
        white = min(v for a, v in at.items() if a != "square")
        rows += [("worst_case", eps, min(at.values())), ("worst_case_whitebox", eps, white)]
    frame = pd.DataFrame(rows, columns=["attack", "eps_255", "accuracy"])
    frame["accuracy"] = frame["accuracy"].clip(0, 1)
    frame["n"] = n
    frame["n_correct"] = (frame["accuracy"] * n).round().astype(int)
    frame["eps_linf"] = frame["eps_255"] / 255
    return frame[["attack", "eps_255", "eps_linf", "n", "n_correct", "accuracy"]]


def attack_results(table: pd.DataFrame, noise: float = 0.1, seed: int = 0) -> pd.DataFrame:
    """Per-image rows (``evaluate_model`` columns) with the accuracies of ``table``: an image is
    right where its difficulty is below the accuracy; the difficulty is shared by every model (they
    see the same images) except on a ``noise`` share of images, drawn per model (``seed``)."""
    n = int(table["n"].iloc[0])
    rng = np.random.default_rng(seed)
    shared = np.random.default_rng(99).uniform(size=n)
    own = np.where(rng.uniform(size=n) < noise, rng.uniform(size=n), shared).argsort().argsort()
    rows = []
    for r in table[~table["attack"].str.startswith("worst_case")].itertuples():
        correct = own < r.n_correct  # exactly the table's accuracy
        rows.append(pd.DataFrame({
            "image_id": np.arange(n), "label": 0, "attack": r.attack,
            "blackbox": r.attack == "square", "eps_255": r.eps_255, "eps_linf": r.eps_linf,
            "attacked": True, "correct": correct, "pred": np.where(correct, 0, 1)}))
    return pd.concat(rows, ignore_index=True)


def corruption_outcomes(mean: float, n: int = 200, noise: float = 0.1, seed: int = 0
                        ) -> pd.DataFrame:
    """Per-image CIFAR-10-C outcomes (two corruptions x 5 severities) averaging ``mean``, paired
    across models as in :func:`attack_results`."""
    rng = np.random.default_rng(seed)
    shared = np.random.default_rng(98).uniform(size=n)
    own = np.where(rng.uniform(size=n) < noise, rng.uniform(size=n), shared).argsort().argsort()
    rows = [pd.DataFrame({"image_id": np.arange(n), "corruption": name, "severity": sev,
                          "correct": own < round(mean * n)})
            for name in ("gaussian_noise", "fog") for sev in range(1, 6)]
    return pd.concat(rows, ignore_index=True)


def masking(fail: bool = False) -> dict:
    """A check_gradient_masking-style dict; ``fail`` violates pgd_ge_autoattack."""
    checks = [
        {"name": "fgsm_ge_pgd", "expectation": "pair", "success": True, "message": "ok: FGSM"},
        {"name": "pgd_ge_autoattack", "expectation": "pair", "success": not fail,
         "message": ("VIOLATED: PGD accuracy >= AutoAttack accuracy; at ε=8/255: pgd 0.100 < "
                     "autoattack 0.300") if fail else "ok: PGD >= AA"},
        {"name": "outputs_are_logits", "expectation": None, "success": None,
         "message": "skipped: not measured"},
    ]  # fmt: skip
    return {"success": not fail, "n_checks": 2, "n_failed": int(fail),
            "failed": ["pgd_ge_autoattack"] if fail else [], "checks": checks,
            "skipped": ["outputs_are_logits"], "tables": {}}


def corruption(mean: float) -> pd.DataFrame:
    """Two corruptions x 5 severities with a ``mean`` row per severity."""
    rows = []
    for sev in range(1, 6):
        a, b = mean + 0.05 - 0.02 * sev, mean - 0.05 + 0.01 * sev
        rows += [("gaussian_noise", sev, a), ("fog", sev, b), ("mean", sev, (a + b) / 2)]
    return pd.DataFrame(rows, columns=["corruption", "severity", "accuracy"])


def history(epochs: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"epoch": range(epochs), "train_loss": np.linspace(2, 1, epochs),
                         "train_acc": np.linspace(0.3, 0.6, epochs),
                         "val_clean_acc": np.linspace(0.3, 0.55, epochs),
                         "val_pgd_acc": np.linspace(0.1, 0.3, epochs)})


def bound(share_s: float, seed: int, n: int = 40) -> pd.DataFrame:
    """Per-image bound table whose bound rises with the empirical distortion."""
    rng = np.random.default_rng(seed)
    emp = rng.uniform(1, 10, n)
    b = 0.5 * emp + rng.normal(0, 0.3, n)
    return pd.DataFrame({"image_id": range(n), "margin": rng.uniform(0.5, 3, n),
                         "L_S": rng.uniform(1, 2, n), "L_R": rng.uniform(2, 4, n),
                         "bound_255": b, "bound_R_only_255": b * 1.3, "eps_empirical_255": emp,
                         "attribution_share_S": np.full(n, share_s),
                         "mask_share_S": np.full(n, 0.2), "misclassified": False})


def model(clean: float, pgd: float, aa: float, c_mean: float = 0.6, spurious: float | None = None,
          share_s: float | None = None, fail: bool = False, notes=(), seed=0,
          aa_label: str = "autoattack_fast", paired: bool = True, n: int = 1000,
          noise_seed: int | None = None) -> ModelResults:
    mining = None if spurious is None else pd.DataFrame(
        {"criterion": ["irrelevant", "spurious", "spurious"], "class": ["all", "all", "cat"],
         "share": [spurious / 2, spurious, spurious + 0.1]})  # fmt: skip
    table = summary(clean, pgd, aa, aa=aa_label, n=n)
    noise_seed = seed if noise_seed is None else noise_seed
    per_image = attack_results(table, seed=noise_seed)
    return ModelResults(
        summary=table, attack_results=per_image if paired else None, masking=masking(fail),
        corruption=corruption(c_mean), history=history(), mining=mining,
        bound=None if share_s is None else bound(share_s, noise_seed), notes=tuple(notes),
        seed=seed,
    )


def run_inputs(round_aa: tuple[float, ...] = (0.40, 0.45), control_aa: float | None = 0.38,
               adv_aa: float = 0.35, manifest: dict | None = None, round_clean: float = 0.68,
               **kw) -> ReportInputs:
    """standard, adversarial, control and one round per entry of ``round_aa``."""
    models = {
        "standard": model(0.90, 0.0, 0.0, c_mean=0.72, fail=kw.get("standard_fails", False),
                          noise_seed=10),
        "adversarial": model(0.70, adv_aa + 0.05, adv_aa, c_mean=0.60, spurious=0.30,
                             share_s=0.40, noise_seed=11),
    }
    if control_aa is not None:
        models["control"] = model(0.70, control_aa + 0.05, control_aa, c_mean=0.61, noise_seed=12)
    for k, aa in enumerate(round_aa, start=1):
        models[f"round_{k}"] = model(round_clean, aa + 0.05, aa, c_mean=0.65, spurious=0.30 - 0.05 * k,
                                     share_s=0.40 - 0.05 * k, noise_seed=k,
                                     notes=kw.get("notes", {}).get(k, ()))
    return ReportInputs(manifest=manifest or MIRROR, models=models,
                        provenance=kw.get("provenance"),
                        extra_figures=kw.get("extra_figures", ()))


def uncued_robustness(clean: float, aa: float, n: int = 100) -> dict:
    """An ``attack_uncued`` result: clean and AutoAttack accuracy on ``n`` uncued test images."""
    return {"n_images": n, "clean_accuracy": clean, "autoattack_accuracy": aa,
            "attack": "autoattack_fast", "eps_255": 8.0}
