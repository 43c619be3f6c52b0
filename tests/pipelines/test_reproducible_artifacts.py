"""Two runs of the test env in fresh processes write byte-identical artifacts, apart from the
declared timing files (``limeguard.timings.TIMING_FILES``): a rerun that changed nothing leaves
every file DVC hashes as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader

from limeguard.timings import is_timing_file
from tests.kedro_project import files_under, kedro, make_project_copy


def data_root(project: Path, env: str) -> Path:
    loader = OmegaConfigLoader(conf_source=str(project / "conf"), base_env="base",
                               default_run_env="base", env=env)
    return project / loader["globals"]["data_root"]


@pytest.mark.slow
def test_two_runs_write_the_same_bytes(tmp_path: Path, tiny_run: dict) -> None:
    """A second run in a fresh process and project copy, with the ``tiny_run`` fixture's
    parameters (the same fixture mirror), against that run."""
    project = make_project_copy(tmp_path / "second")
    run = kedro(project, "run", "--env", "test", "--params", tiny_run["params"], timeout=1200)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    roots = [data_root(tiny_run["project"], "test"), data_root(project, "test")]
    first, second = (files_under(root) for root in roots)
    assert first == second
    timing = [f for f in first if is_timing_file(f)]
    assert any(f.endswith("node_timings.json") for f in timing)
    assert any(f.endswith("standard_timings.json") for f in timing)
    differing = [f for f in first if not is_timing_file(f)
                 and (roots[0] / f).read_bytes() != (roots[1] / f).read_bytes()]
    assert differing == []
    assert len(first) - len(timing) > 50  # models, splits, tables, figures, checkpoints
