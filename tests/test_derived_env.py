"""Derived envs (limeguard.derived_env), and conf/paper_smoke.yml: the paper env at toy size,
which changes sizes only and leaves every other key of the paper env as it is."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from kedro.config import OmegaConfigLoader

from limeguard.config import ConfigError
from limeguard.derived_env import derive_env, main, merge, read_spec
from limeguard.hooks.parameters import check_parameters, parameter_schemas
from limeguard.models import architecture_options
from tests.conftest import PROJECT_ROOT

SMOKE = PROJECT_ROOT / "conf" / "paper_smoke.yml"
# what the smoke may change: sizes (images, epochs, iterations, queries, restarts, samples, width)
SIZE_KEYS = frozenset({
    "train_size", "val_size", "test_size", "probe_size", "epochs", "steps", "val_steps",
    "val_max_images", "max_images", "bound_images", "n_samples", "pgd_steps", "attack_steps",
    "bisection_iters", "n_queries", "restarts", "num_samples", "figure_images", "stability_images",
    "recipients", "width",
})
# ... and where it runs: the CPU, its own data root
PLACE = {"runtime.device": "cpu"}
DEFAULTS = {"baseline.model.options.width": architecture_options("resnet18")["width"]}
MISSING = object()


def leaves(node: Any, key: str = "") -> dict[str, Any]:
    """Dotted key -> value; list entries with a name (or label) by ``[label]``."""
    if isinstance(node, dict):  # an empty mapping has no leaves
        return {k: v for name, child in node.items()
                for k, v in leaves(child, f"{key}.{name}" if key else str(name)).items()}
    if isinstance(node, list) and node and all(isinstance(e, dict) and "name" in e for e in node):
        return {k: v for e in node
                for k, v in leaves({kk: vv for kk, vv in e.items() if kk not in ("name", "label")},
                                   f"{key}[{e.get('label') or e['name']}]").items()}
    return {key: node}


def parameters(conf: Path, env: str) -> dict[str, Any]:
    loader = OmegaConfigLoader(conf_source=str(conf), base_env="base", default_run_env="base",
                               env=env, merge_strategy={"parameters": "soft"})
    return dict(loader["parameters"])


@pytest.fixture
def derived_conf(tmp_path: Path) -> Path:
    conf = tmp_path / "conf"
    shutil.copytree(PROJECT_ROOT / "conf", conf, ignore=shutil.ignore_patterns("local", "paper_smoke"))
    derive_env(conf, conf / "paper_smoke.yml")
    return conf


def test_merge_maps_by_key_lists_as_a_whole_named_lists_by_name() -> None:
    env = {"a": {"b": 1, "c": [1, 2]}, "attacks": [{"name": "pgd", "options": {"steps": 20}},
                                                   {"name": "autoattack"}]}
    change = {"a": {"c": [3], "d": 4}, "attacks": [{"name": "pgd", "options": {"steps": 3}}]}
    assert merge(env, change) == {"a": {"b": 1, "c": [3], "d": 4},
                                  "attacks": [{"name": "pgd", "options": {"steps": 3}},
                                              {"name": "autoattack"}]}
    assert env["attacks"][0]["options"]["steps"] == 20  # neither side is modified
    with pytest.raises(ConfigError, match=r"attacks: 'cw' is not an entry"):
        merge(env, {"attacks": [{"name": "cw"}]}, "attacks")
    labelled = [{"name": "pgd", "label": "pgd_a"}, {"name": "pgd", "label": "pgd_b", "x": 1}]
    assert merge(labelled, [{"name": "pgd", "label": "pgd_b", "x": 2}])[1]["x"] == 2


def test_the_smoke_env_is_the_paper_env_with_only_its_named_keys_changed(derived_conf: Path) -> None:
    paper = leaves(parameters(PROJECT_ROOT / "conf", "paper"))
    smoke = leaves(parameters(derived_conf, "paper_smoke"))
    changes = leaves(read_spec(SMOKE)["parameters"])
    moved = {k: v.replace("data/paper_smoke/", "data/paper/") for k, v in smoke.items()
             if isinstance(v, str) and "data/paper_smoke/" in v}  # paths under the data root
    assert moved and all(paper[k] == v for k, v in moved.items())
    smoke.update(moved)
    differing = {k for k in set(paper) | set(smoke) if paper.get(k, MISSING) != smoke.get(k, MISSING)}
    assert differing == {k for k, v in changes.items() if paper.get(k, MISSING) != v}
    assert all(smoke[k] == v for k, v in changes.items())
    # the paper env's defining settings, as the paper env has them
    for key in ("baseline.model.arch", "baseline.adversarial.method", "rounds.train.method",
                "rounds.refine.augment", "rounds.count", "evaluate.attacks.eps_255",
                "evaluate.attacks.small_eps_linf", "corruptions.corruptions"):
        assert smoke.get(key, MISSING) == paper.get(key, MISSING), key
    assert smoke["baseline.model.arch"] == "resnet18" and smoke["baseline.adversarial.method"] == "pgd_at"
    def labels(conf: Path, env: str) -> list[str]:
        return [a.get("label") or a["name"] for a in parameters(conf, env)["evaluate"]["attacks"]["attacks"]]

    assert labels(derived_conf, "paper_smoke") == labels(PROJECT_ROOT / "conf", "paper")
    assert "autoattack" in labels(derived_conf, "paper_smoke")  # standard AutoAttack: nothing to shrink


def test_the_smoke_changes_sizes_only() -> None:
    """Every key conf/paper_smoke.yml changes is a size, shrunk (or the device: the CPU)."""
    paper = leaves(parameters(PROJECT_ROOT / "conf", "paper"))
    spec = read_spec(SMOKE)
    assert spec["from"] == "paper" and spec["globals"] == {"data_root": "data/paper_smoke"}
    for key, value in leaves(spec["parameters"]).items():
        if key in PLACE:
            assert value == PLACE[key], key
            continue
        assert key.rsplit(".", 1)[-1] in SIZE_KEYS, f"{key}: not a size"
        before = paper.get(key, DEFAULTS.get(key))
        assert isinstance(value, int) and value >= 1, key
        assert before is None or value <= before, f"{key}: {value} > the paper env's {before}"


def test_the_derived_env_passes_the_parameter_check(derived_conf: Path) -> None:
    """A paper key renamed without the smoke file following it stops here, not in a GPU run."""
    check_parameters(parameters(derived_conf, "paper_smoke"), parameter_schemas())
    globals_ = OmegaConfigLoader(conf_source=str(derived_conf), base_env="base",
                                 default_run_env="base", env="paper_smoke")["globals"]
    assert globals_["data_root"] == "data/paper_smoke"


def test_derive_env_writes_a_folder_of_its_own(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    (conf / "base").mkdir(parents=True)
    (conf / "gpu").mkdir()
    (conf / "gpu" / "parameters.yml").write_text("train: {epochs: 100, lr: 0.1}\n")
    (conf / "gpu" / "parameters_eval.yml").write_text("eval: {images: null}\n")
    (conf / "gpu" / "globals.yml").write_text("data_root: data/gpu\n")
    (conf / "gpu" / "catalog.yml").write_text("x: {type: MemoryDataset}\n")
    spec = conf / "gpu_toy.yml"
    spec.write_text("from: gpu\nglobals: {data_root: data/gpu_toy}\n"
                    "parameters: {train: {epochs: 1}, eval: {images: 8}}\n")
    (conf / "gpu_toy").mkdir()
    (conf / "gpu_toy" / "stale.yml").write_text("stale: true\n")
    assert main([str(spec)]) == 0
    target = conf / "gpu_toy"
    assert sorted(p.name for p in target.iterdir()) == ["catalog.yml", "globals.yml", "parameters.yml"]
    assert yaml.safe_load((target / "parameters.yml").read_text()) == {
        "train": {"epochs": 1, "lr": 0.1}, "eval": {"images": 8}}
    assert yaml.safe_load((target / "globals.yml").read_text()) == {"data_root": "data/gpu_toy"}
    assert (target / "parameters.yml").read_text().startswith("# GENERATED")
    for bad, match in (("parameters: {}\n", "from: <env>"), ("from: nope\n", "not an env folder"),
                       ("from: gpu\nextra: 1\n", "from: <env>")):
        spec.write_text(bad)
        with pytest.raises(ConfigError, match=match):
            derive_env(conf, spec)
    spec.write_text("from: gpu\n")
    with pytest.raises(ConfigError, match="cannot be named 'gpu'"):
        derive_env(conf, spec, name="gpu")
