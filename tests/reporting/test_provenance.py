"""collect_provenance: versions, commit, seeds, wall time per stage."""

from __future__ import annotations

import json
import subprocess

from limeguard.reporting import collect_provenance, stage_of, wall_time_by_stage
from limeguard.reporting.provenance import LIBRARIES


def test_collect_provenance(tmp_path):
    params = {"runtime": {"seed": 3, "device": "auto"}, "mine": {"lime": {"sampling_seed": 7}}}
    timings = {"load_raw_data": 1.5, "train_adversarial_baseline": 10.0,
               "round_1.refine_model": 4.0, "round_1.mine_model": 2.0,
               "adversarial.attack_model": 3.0, "custom_node": 0.5}
    prov = collect_provenance(params, timings)
    json.dumps(prov)
    assert isinstance(prov["git_commit"], str) and prov["git_commit"]
    assert set(LIBRARIES) <= set(prov["libraries"])
    assert prov["libraries"]["pandas"] != "not installed"
    assert prov["seeds"] == {"runtime.seed": 3, "mine.lime.sampling_seed": 7}
    assert prov["wall_time_s"] == {"data": 1.5, "baseline": 10.0, "refine": 4.0, "mine": 2.0,
                                   "evaluate": 3.0, "other": 0.5}
    assert prov["wall_time_by_namespace_s"]["round_1"] == 6.0
    assert prov["wall_time_total_s"] == 21.0
    assert prov["device"].startswith(("cpu", "cuda"))


def test_outside_a_repository(tmp_path):
    prov = collect_provenance({}, None, repo=tmp_path)
    assert prov["git_commit"] == "unknown" and prov["git_dirty"] is None
    assert prov["wall_time_s"] == {}


def test_stage_fallback_is_namespace():
    assert stage_of("round_3.something_else") == "round_3"
    assert wall_time_by_stage({"a.x": 1, "a.y": 2}) == {"a": 3.0}


def test_commit_label(tmp_path, monkeypatch):
    from limeguard.reporting import provenance

    assert provenance.commit_label(tmp_path) == "unknown"
    monkeypatch.setattr(provenance, "git_state", lambda repo=None: ("abc123", True))
    assert provenance.commit_label() == "abc123-dirty"
    monkeypatch.setattr(provenance, "git_state", lambda repo=None: ("abc123", False))
    assert provenance.commit_label() == "abc123"


def test_a_rewritten_dvc_lock_is_not_an_uncommitted_change(tmp_path):
    from limeguard.reporting.provenance import git_state

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path,
                       check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "dvc.lock").write_text("a\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "code.py").write_text("x = 1\n")
    git("add", ".")
    git("commit", "-qm", "start")
    (tmp_path / "dvc.lock").write_text("b\n")
    assert git_state(tmp_path / "src")[1] is False
    (tmp_path / "src" / "code.py").write_text("x = 2\n")
    assert git_state(tmp_path / "src")[1] is True


def test_config_keeps_non_finite_values_and_unwraps_numpy():
    import math

    import numpy as np

    prov = collect_provenance({"a": {"limit": math.inf, "n": np.int64(2), "seeds": (1, 2)}})
    assert prov["config"]["a"] == {"limit": math.inf, "n": 2, "seeds": [1, 2]}
    assert prov["seeds"] == {"a.seeds": [1, 2]}
