"""`kedro run --pipelines refine --env test` killed with SIGKILL at three points, then rerun.

One project copy is killed during baseline training (after the adversarial baseline's first of two
epochs was checkpointed), then again during mining, then during a round, and finally run to the end;
every artifact must load, and every file it wrote must hold the bytes of the uninterrupted run of
the ``tiny_run`` fixture (the same parameters; two adversarial epochs), apart from the declared
timing files (``limeguard.timings.TIMING_FILES``). That also covers a plain rerun: two runs in fresh
processes write the same bytes, so a rerun that changed nothing leaves every file DVC hashes as it
was.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml
from PIL import Image
from safetensors import safe_open

from limeguard.timings import is_timing_file
from tests.kedro_project import KEDRO, kedro, make_project_copy

pytestmark = pytest.mark.slow

RUN = ("run", "--pipelines", "refine", "--env", "test")
Trigger = Callable[[str, Path], bool]  # (output so far, data root) -> kill now


def data_root(project: Path) -> Path:
    """The test env's data root (``globals.yml`` of conf/test, else of conf/base)."""
    for env in ("test", "base"):
        path = project / "conf" / env / "globals.yml"
        if path.is_file() and "data_root" in (yaml.safe_load(path.read_text()) or {}):
            return project / yaml.safe_load(path.read_text())["data_root"]
    return project / "data"


def _adversarial_epoch_1(out: str, root: Path) -> bool:
    return any(root.glob("06_models/checkpoints/adversarial/*/epoch_0001.safetensors"))


def _mining(out: str, root: Path) -> bool:
    return "Running node: mine_model" in out  # the first one: the adversarial baseline's


def _round(out: str, root: Path) -> bool:
    return "Running node: refine_round" in out


KILLS: list[tuple[str, Trigger]] = [("baseline training", _adversarial_epoch_1),
                                    ("mining", _mining), ("round_1", _round)]


def kill_when(project: Path, params: str, trigger: Trigger, timeout: float = 1800) -> str:
    """Start the run, SIGKILL it as soon as ``trigger`` holds; return its output until then."""
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "DVC_NO_ANALYTICS": "1",
           "TQDM_DISABLE": "1", "MPLBACKEND": "Agg", "KEDRO_ENV": "test", "PYTHONUNBUFFERED": "1",
           "KEDRO_LOGGING_CONFIG": str(project / "conf" / "logging.yml")}
    log = project / "run.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(KEDRO), *RUN, "--params", params], cwd=project, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    deadline, root, raw = time.monotonic() + timeout, data_root(project), ""
    try:
        with log.open() as reader:  # only what is new (and 300 characters before it, where a
            while True:             # wrapped phrase may start) is searched: the run shares the cores
                start = max(0, len(raw) - 300)
                raw += reader.read()
                if trigger(" ".join(raw[start:].split()), root):
                    break
                assert proc.poll() is None, f"the run ended before the kill:\n{raw[-3000:]}"
                assert time.monotonic() < deadline, "the kill point was never reached"
                time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return log.read_text()


def _load(path: Path) -> None:
    loaders = {
        ".safetensors": lambda p: [safe_open(p, "pt").get_tensor(k) for k in safe_open(p, "pt").keys()],
        ".json": lambda p: json.loads(p.read_text()),
        ".csv": pd.read_csv, ".parquet": pd.read_parquet,
        ".png": lambda p: Image.open(p).load(),
        ".md": lambda p: p.read_text(encoding="utf-8"),
    }
    assert path.suffix in loaders, f"{path}: no loader for this kind of artifact"
    loaders[path.suffix](path)


def artifacts(root: Path, suffixes: tuple[str, ...] | None = None) -> list[Path]:
    """Files under ``root`` (the temporary files of an interrupted atomic write excepted: their
    names start with a dot and end in ``.tmp``, and no stage reads them)."""
    files = [p for p in root.rglob("*") if p.is_file() and p.name != ".gitkeep"
             and not (p.name.startswith(".") and p.name.endswith(".tmp"))]
    return sorted(p for p in files if suffixes is None or p.suffix in suffixes)


def differing_bytes(root: Path, reference: Path) -> list[str]:
    """The files under both roots, timing files excepted, whose bytes differ."""
    names = [str(p.relative_to(root)) for p in artifacts(root)]
    return [n for n in names if not is_timing_file(n)
            and (root / n).read_bytes() != (reference / n).read_bytes()]


@pytest.fixture(scope="module")
def params(tiny_run: dict) -> str:
    return tiny_run["params"]


@pytest.fixture(scope="module")
def uninterrupted(tiny_run: dict) -> Path:
    return tiny_run["project"]


def test_a_run_killed_three_times_then_rerun_writes_the_uninterrupted_bytes(
        tmp_path: Path, params: str, uninterrupted: Path) -> None:
    project = make_project_copy(tmp_path / "project")
    root = data_root(project)
    for point, trigger in KILLS:
        out = kill_when(project, params, trigger)
        assert "Pipeline execution completed" not in out, point
        for path in artifacts(root, (".safetensors", ".json")):  # what a rerun may read back
            _load(path)
        if point == "baseline training":  # killed between the two epochs: a rerun resumes
            assert not list(root.glob("06_models/checkpoints/adversarial/*/epoch_0002.*"))
    run = kedro(project, *RUN, "--params", params, timeout=1800)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    for path in artifacts(root):
        _load(path)
    reference = data_root(uninterrupted)
    assert [p.relative_to(root) for p in artifacts(root)] == \
        [p.relative_to(reference) for p in artifacts(reference)]
    timing = [p for p in artifacts(root) if is_timing_file(str(p.relative_to(root)))]
    assert {p.name for p in timing} >= {"node_timings.json", "standard_timings.json"}
    assert len(artifacts(root)) - len(timing) > 50  # models, splits, tables, figures, checkpoints
    assert differing_bytes(root, reference) == []
