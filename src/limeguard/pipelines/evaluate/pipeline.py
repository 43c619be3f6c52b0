"""``evaluate``: attacks, gradient-masking checks and CIFAR-10-C, one namespace per model."""

from kedro.pipeline import Node, Pipeline

from limeguard.pipelines.evaluate.nodes import (
    attack_model,
    attack_uncued,
    check_masking,
    corruption_accuracy,
    estimate_bound,
    make_corrupted_test_set,
    reliance_on_cue,
    summarize_attacks,
)
from limeguard.pipelines.shape import (
    baseline_mining,
    configured_arms,
    configured_round_count,
    spurious_enabled,
)

BASELINES = ("standard", "adversarial")


def evaluated_models() -> tuple[str, ...]:
    """Both baselines, and with T > 0 rounds the matched control and every arm's rounds,
    ``<arm>.round_1 .. <arm>.round_T`` (arms in conf's order)."""
    total = configured_round_count()
    if not total:
        return BASELINES
    return (*BASELINES, "control",
            *(f"{arm}.round_{k}" for arm in configured_arms() for k in range(1, total + 1)))


def own_mining_arms() -> tuple[str, ...]:
    """The arms that mine the AT baseline themselves (``<arm>.adversarial.*``), with rounds."""
    if not configured_round_count():
        return ()
    return tuple(arm for arm, own in configured_arms().items() if own)


def bound_masks(model: str) -> str:
    """The masks ``model``'s bound is estimated on: its arm's view of the AT baseline's mining."""
    return baseline_mining(model.split(".", 1)[0] if "." in model else None, "spurious_masks")


def evaluation_template() -> Pipeline:
    """Evaluation of one ``model``; instantiated under a namespace per model."""
    shared = ["params:evaluate", "params:runtime"]
    nodes = [
        Node(attack_model, ["model", "test_images", *shared], "attack_results",
             name="attack_model"),
        Node(summarize_attacks, "attack_results", "robust_summary", name="summarize_attacks"),
        Node(check_masking, ["model", "test_images", "attack_results", *shared],
             "masking_checks", name="check_masking"),
        Node(corruption_accuracy, ["model", "cifar10c_images", "cifar10c_index", "params:runtime"],
             ["corruption_accuracy", "corruption_outcomes"], name="corruption_accuracy"),
        Node(estimate_bound, ["model", "train_images", "bound_masks", *shared],
             ["bound_table", "bound_summary"], name="estimate_bound"),
    ]
    if spurious_enabled():
        nodes += [
            Node(reliance_on_cue, ["model", "test_images", "test_swapped_images",
                                   "test_uncued_images", "params:runtime"], ["cue_reliance", "cue_outcomes"],
                 name="reliance_on_cue"),
            Node(attack_uncued, ["model", "test_uncued_images", *shared],
                 ["uncued_robustness", "uncued_attack_results"], name="attack_uncued"),
        ]
    return Pipeline(nodes)


def namespaced_evaluation(model: str) -> Pipeline:
    template = evaluation_template()
    shared = {"test_images", "train_images", "cifar10c_images", "cifar10c_index",
              "test_swapped_images", "test_uncued_images"} & template.inputs()
    return Pipeline(
        template, namespace=model,
        inputs={"model": f"{model}_model", "bound_masks": bound_masks(model),
                **{name: name for name in shared}},
        parameters={"params:evaluate", "params:runtime"},
    )


def arm_baseline_bounds() -> Pipeline:
    """The AT baseline's bound on the masks of each arm that mines it itself
    (``<arm>.adversarial.bound_*``): where that arm's bound and spurious-share claims start."""
    node = Node(estimate_bound, ["model", "train_images", "bound_masks", "params:evaluate",
                                 "params:runtime"], ["bound_table", "bound_summary"],
                name="estimate_bound")
    return sum((Pipeline([node], namespace=f"{arm}.adversarial",
                         inputs={"model": "adversarial_model", "train_images": "train_images",
                                 "bound_masks": baseline_mining(arm, "spurious_masks")},
                         parameters={"params:evaluate", "params:runtime"})
                for arm in own_mining_arms()), Pipeline([]))


def corruption_pipeline() -> Pipeline:
    """CIFAR-10-C from the test split, shared by every model's evaluation."""
    return Pipeline([Node(make_corrupted_test_set, ["test_images", "params:corruptions"],
                          ["cifar10c_images", "cifar10c_index"], name="make_corrupted_test_set")])


def create_pipeline(**kwargs) -> Pipeline:
    return sum((namespaced_evaluation(m) for m in evaluated_models()),
               corruption_pipeline() + arm_baseline_bounds())
