"""What the data left out of the evaluation (AutoAttack's attacks, CIFAR-10-C) is stated in the
report and metrics.json, and nothing is added where the data is CIFAR-10."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd

from limeguard.reporting import ReportConfig, build_report
from limeguard.reporting.applicability import Applicability, applicability
from tests.reporting.synthetic import CLASSES, run_inputs

FAST_AA = {"attacks": {"attacks": [{"name": "pgd"}, {"name": "autoattack_fast"}]}}
FOLDER = {"source": {"dataset": "image_folder", "folder": "/x", "image_size": 24}}
GRAY = {"source": {"dataset": "fashion_mnist", "order": ["idx_folder"]}}
THREE = {"source": "image_folder", "classes": ["a", "b", "c"]}


def test_image_folder_with_three_classes():
    found = applicability({"data": FOLDER, "evaluate": FAST_AA}, THREE)
    assert found.cifar10c_skipped == ("CIFAR-10-C applies to 32x32 RGB images, these are 3x24x24 "
                                      "(C x H x W)")
    plan = found.autoattack["autoattack_fast"]
    assert plan.attacks == ("apgd-ce",) and plan.dropped == ("apgd-t",)
    metrics = found.metrics()
    assert metrics["autoattack_plan"]["autoattack_fast"]["ran"] == ["apgd-ce"]
    assert metrics["autoattack_plan"]["autoattack_fast"]["left_out"] == ["apgd-t"]
    assert metrics["cifar10c_skipped"] == found.cifar10c_skipped


def test_image_folder_at_cifar_size_is_skipped_too():
    source = {"source": {**FOLDER["source"], "image_size": 32}}
    found = applicability({"data": source}, THREE)
    assert found.cifar10c_skipped == ("CIFAR-10-C applies to CIFAR images, these come from an "
                                      "image folder")
    assert found.autoattack == {}  # no evaluate section: nothing configured


def test_nothing_to_say_for_cifar10():
    manifest = {"source": "jpeg_mirror", "classes": CLASSES}
    found = applicability({"data": {"source": {"dataset": "cifar10"}}, "evaluate": {}}, manifest)
    assert found == Applicability() and found.metrics() == {}
    assert applicability(None, manifest) == Applicability()


def test_report_and_metrics_state_the_skip_and_the_attacks_that_ran():
    found = applicability({"data": GRAY, "evaluate": FAST_AA}, THREE)
    inputs = run_inputs(round_aa=(0.40,))
    empty = pd.DataFrame({"corruption": [], "severity": [], "accuracy": []})
    models = {name: dataclasses.replace(run, corruption=empty, corruption_outcomes=None)
              for name, run in inputs.models.items()}
    inputs = dataclasses.replace(inputs, models=models, applicability=found)
    report = build_report(inputs, ReportConfig(bootstrap_samples=200))
    assert ("CIFAR-10-C was skipped: CIFAR-10-C applies to 32x32 RGB images, these are 1x28x28 "
            "(C x H x W).") in report.markdown
    assert ("**`autoattack_fast` on this data:** with 3 classes AutoAttack ran apgd-ce; left out "
            "apgd-t (needs >= 4 classes).") in report.markdown
    metrics = json.loads(json.dumps(report.metrics))
    assert metrics["cifar10c_skipped"].endswith("these are 1x28x28 (C x H x W)")
    assert metrics["autoattack_plan"]["autoattack_fast"]["n_classes"] == 3


def test_cifar_report_has_no_new_keys():
    report = build_report(run_inputs(round_aa=(0.40,)), ReportConfig(bootstrap_samples=200))
    assert "cifar10c_skipped" not in report.metrics and "autoattack_plan" not in report.metrics
    assert "on this data:**" not in report.markdown


def test_report_node_reads_it_from_the_run_parameters():
    from limeguard.pipelines.report.nodes import build_run_report
    from tests.reporting.synthetic import summary

    params = {"data": GRAY, "evaluate": FAST_AA, "runtime": {"seed": 0}}
    empty = pd.DataFrame({"corruption": [], "severity": [], "accuracy": []})
    markdown, metrics, _ = build_run_report(
        THREE, {}, {}, params, {"bootstrap_samples": 200},
        adversarial__robust_summary=summary(0.7, 0.4, 0.35), adversarial__corruption_accuracy=empty)
    assert "CIFAR-10-C was skipped: CIFAR-10-C applies to 32x32 RGB images" in markdown
    assert "**`autoattack_fast` on this data:** with 3 classes AutoAttack ran apgd-ce" in markdown
    assert metrics["autoattack_plan"]["autoattack_fast"]["left_out"] == ["apgd-t"]
