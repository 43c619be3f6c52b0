"""The decoy report's markdown, from its metrics."""

from __future__ import annotations

from typing import Any


def _pm(mean: float, std: float) -> str:
    return f"{mean:.1f} ± {std:.1f}"


def render(m: dict[str, Any]) -> str:
    """Markdown of the decoy metrics (see :func:`limeguard.decoy.report.build_report`)."""
    n = len(m["seeds"])
    attack = m["attack"]
    lines = ["# Decoy Fashion-MNIST: vanilla, RRR, counterexamples, mined refinement, ceiling", "",
             f"Seeds {m['seeds']} (n = {n}); mean ± std over seeds, in %. Robust: PGD L∞ "
             f"ε = {attack['eps_255']}/255, step {attack['alpha_255']}/255, {attack['steps']} "
             f"steps, random start, on the first {attack['images']} decoy test images.", "",
             f"Protocol: {m['protocol']}", "",
             "| method | decoy test | clean test | robust (PGD) | train acc | epochs | wall s |",
             "|---|---|---|---|---|---|---|"]
    for r in m["accuracy"]:
        lines.append(f"| {r['method']} | {_pm(r['decoy_correct_mean'], r['decoy_correct_std'])} | "
                     f"{_pm(r['clean_correct_mean'], r['clean_correct_std'])} | "
                     f"{_pm(r['robust_correct_mean'], r['robust_correct_std'])} | "
                     f"{r['train_acc']:.1f} | {r['epochs']} | {r['wall_s']:.0f} |")
    for arm, why in m["not_run"].items():
        lines.append(f"| {arm} (the paper's LIME criteria) | {why} | | | | | |")
    lines += ["", "`mined` fine-tunes the vanilla model (its epochs and wall time are the "
              "refinement's, mining included, on top of vanilla's). `clean` trains and tests on "
              "clean images (the ceiling); its decoy-test column is the same model on the decoy "
              "test images.", "", "## Paired differences (points, candidate - reference)", "",
              "| candidate | reference | measure | diff | interval | McNemar p |",
              "|---|---|---|---|---|---|"]
    for c in m["comparisons"]:
        p = "" if c["mcnemar_p"] is None else f"{c['mcnemar_p']:.2g}"
        lines.append(f"| {c['candidate']} | {c['reference']} | {c['measure']} | {c['diff']:+.1f} |"
                     f" [{c['low']:+.1f}, {c['high']:+.1f}] ({c['over']}, {c['n_images']} img) |"
                     f" {p} |")
    g = m["gap_closed"]
    low, high = g["gap_interval"]
    verdict = "met" if g["met"] else "not met" if g["gap_exists"] else \
        "not established: RRR does not beat vanilla, so there is no gap to close"
    lines += ["", "## Done-when: share of the vanilla -> RRR gap the mined arm closes", "",
              f"Gap RRR - vanilla: {g['gap_points']:+.1f} points [{low:+.1f}, {high:+.1f}]. "
              f"Share closed, pooled over seeds: {g['pooled']:.2f} (target {g['target']:.2f}): "
              f"{verdict}. Per seed: {', '.join(f'{v:.2f}' for v in g['per_seed'])}.", "",
              "## Mined masks against the true swatches (pixel precision / recall)", "",
              "| round | probe precision | probe recall | train precision | train recall | "
              "train cued images masked | mining + search s |", "|---|---|---|---|---|---|---|"]
    for r in m["masks"]:
        lines.append(f"| {r['round']} | {r['probe_masks_precision']:.2f} | "
                     f"{r['probe_masks_recall']:.2f} | {r['training_masks_precision']:.2f} | "
                     f"{r['training_masks_recall']:.2f} | "
                     f"{r['training_masks_images_masked_cued']:.2f} | {r['mining_seconds']:.0f} |")
    curve = ", ".join(f"{v:.1f}" for v in m["vanilla_curve"])
    lines += ["", "## Vanilla training accuracy per epoch (mean over seeds, %)", "", curve, "",
              "## Published numbers (other protocols: compare only the pattern)", ""]
    lines += [f"- {src}: {what}" for src, what in m["published"].items()]
    return "\n".join(lines) + "\n"
