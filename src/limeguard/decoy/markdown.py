"""The decoy report's markdown, from its metrics."""

from __future__ import annotations

from typing import Any


def _pm(mean: float, std: float) -> str:
    return f"{mean:.1f} ± {std:.1f}"


def render(m: dict[str, Any]) -> str:
    """Markdown of the decoy metrics (see :func:`limeguard.decoy.report.build_report`)."""
    return "\n".join([*_accuracy(m), *_pairs(m), *_gap(m), *_masks(m["masks"]),
                      *_curve_and_published(m)]) + "\n"


def _accuracy(m: dict[str, Any]) -> list[str]:
    attack = m["attack"]
    lines = ["# Decoy Fashion-MNIST: vanilla, RRR, counterexamples, mined refinement, the paper's "
             "arm, ceiling", "",
             f"Seeds {m['seeds']} (n = {len(m['seeds'])}); mean ± std over seeds, in %. Robust: "
             f"PGD L∞ ε = {attack['eps_255']}/255, step {attack['alpha_255']}/255, "
             f"{attack['steps']} steps, random start, on the first {attack['images']} decoy test "
             "images.", "", f"Protocol: {m['protocol']}", "",
             "| method | decoy test | clean test | robust (PGD) | train acc | epochs | wall s |",
             "|---|---|---|---|---|---|---|"]
    for r in m["accuracy"]:
        lines.append(f"| {r['method']} | {_pm(r['decoy_correct_mean'], r['decoy_correct_std'])} | "
                     f"{_pm(r['clean_correct_mean'], r['clean_correct_std'])} | "
                     f"{_pm(r['robust_correct_mean'], r['robust_correct_std'])} | "
                     f"{r['train_acc']:.1f} | {r['epochs']} | {r['wall_s']:.0f} |")
    return lines + ["", "`mined` (ours) and `paper` (the paper's arm: the union of its LIME "
                    "criteria, class masks, masking with the mean fill + the rrr penalty + FGSM-RS "
                    "augmentation) fine-tune the vanilla model (their epochs and wall time are the "
                    "refinement's, mining included, on top of vanilla's). `clean` trains and tests "
                    "on clean images (the ceiling); its decoy-test column is the same model on the "
                    "decoy test images.", ""]


def _pairs(m: dict[str, Any]) -> list[str]:
    lines = ["## Paired differences (points, candidate - reference)", "",
             "| candidate | reference | measure | diff | interval | McNemar p |",
             "|---|---|---|---|---|---|"]
    for c in m["comparisons"]:
        p = "" if c["mcnemar_p"] is None else f"{c['mcnemar_p']:.2g}"
        lines.append(f"| {c['candidate']} | {c['reference']} | {c['measure']} | {c['diff']:+.1f} |"
                     f" [{c['low']:+.1f}, {c['high']:+.1f}] ({c['over']}, {c['n_images']} img) |"
                     f" {p} |")
    return lines


def _gap(m: dict[str, Any]) -> list[str]:
    g = m["gap_closed"]
    low, high = g["gap_interval"]
    verdict = "met" if g["met"] else "not met" if g["gap_exists"] else \
        "not established: RRR does not beat vanilla, so there is no gap to close"
    lines = ["", "## Share of the vanilla -> RRR gap closed (done-when: the mined arm's >= "
             f"{g['target']:.2f})", "",
             f"Gap RRR - vanilla: {g['gap_points']:+.1f} points [{low:+.1f}, {high:+.1f}]. "
             f"Done-when (mined): {verdict}.", ""]
    for arm in (g, m["gap_closed_paper"]):
        lines.append(f"- {arm['arm']}: pooled over seeds {arm['pooled']:.2f}; per seed "
                     f"{', '.join(f'{v:.2f}' for v in arm['per_seed'])}.")
    return lines


def _masks(masks: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines = ["", "## Mined masks against the true swatches (pixel precision / recall)", "",
             "| arm | round | probe precision | probe recall | train precision | train recall | "
             "train cued images masked | mining + search s |", "|---|---|---|---|---|---|---|---|"]
    for arm, rounds in masks.items():
        lines += [f"| {arm} | {r['round']} | {r['probe_masks_precision']:.2f} | "
                  f"{r['probe_masks_recall']:.2f} | {r['training_masks_precision']:.2f} | "
                  f"{r['training_masks_recall']:.2f} | "
                  f"{r['training_masks_images_masked_cued']:.2f} | {r['mining_seconds']:.0f} |"
                  for r in rounds]
    return lines


def _curve_and_published(m: dict[str, Any]) -> list[str]:
    curve = ", ".join(f"{v:.1f}" for v in m["vanilla_curve"])
    lines = ["", "## Vanilla training accuracy per epoch (mean over seeds, %)", "", curve, "",
             "## Published numbers (other protocols: compare only the pattern)", ""]
    return lines + [f"- {src}: {what}" for src, what in m["published"].items()]
