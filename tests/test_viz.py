"""kedro-viz: `kedro viz build` exports the whole DAG (rounds as namespaces); Chromium renders it.

The site is built once, in a project copy (never `build/` in the repository), under the base conf
(`KEDRO_ENV=local`, empty in the copy): the DAG has ``rounds.count`` rounds.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kedro_project import KEDRO, make_project_copy

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package, installed by .ci/run
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--window-size=1400,900", "--virtual-time-budget=15000")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project_copy(tmp_path_factory.mktemp("viz") / "project")


@pytest.fixture(scope="module")
def registered(project: Path) -> dict:
    """The project's pipelines as registered in the copy under the same env as the build."""
    from kedro.framework.project import configure_project

    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(project)  # the round count is read from ./conf and KEDRO_ENV
        mp.setenv("KEDRO_ENV", "local")
        configure_project("limeguard")
        from limeguard.pipeline_registry import register_pipelines
        from limeguard.pipelines.rounds.pipeline import configured_round_count

        return {"pipelines": register_pipelines(), "rounds": configured_round_count(project)}


@pytest.fixture(scope="module")
def site(project: Path) -> Path:
    env = {**os.environ, "KEDRO_ENV": "local", "KEDRO_DISABLE_TELEMETRY": "true",
           "DVC_NO_ANALYTICS": "1", "MPLBACKEND": "Agg",
           "KEDRO_LOGGING_CONFIG": str(project / "conf" / "logging.yml")}
    done = subprocess.run([str(KEDRO), "viz", "build"], cwd=project, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return project / "build"


def _tasks(dag: dict) -> dict[str, dict]:
    return {n["full_name"]: n for n in dag["nodes"] if n["type"] == "task"}


def test_dag_json_holds_every_pipeline(site: Path, registered: dict) -> None:
    main = json.loads((site / "api" / "main").read_text())
    tasks = _tasks(main)
    pipelines = registered["pipelines"]
    assert {p["id"] for p in main["pipelines"]} == set(pipelines)
    for name, pipeline in pipelines.items():
        expected = {node.name for node in pipeline.nodes}
        assert expected, name
        for node in expected:  # in the main DAG, tagged with this pipeline
            assert name in tasks[node]["pipelines"], (name, node)
        per_pipeline = json.loads((site / "api" / "pipelines" / name).read_text())
        assert set(_tasks(per_pipeline)) == expected, name


def test_rounds_are_namespaces(site: Path, registered: dict) -> None:
    main = json.loads((site / "api" / "main").read_text())
    count = registered["rounds"]
    assert count >= 1
    rounds = {name for name in main["modular_pipelines"] if re.fullmatch(r"round_\d+", name)}
    assert rounds == {f"round_{k}" for k in range(1, count + 1)}
    tasks = _tasks(main)
    for k in range(1, count + 1):
        namespace = main["modular_pipelines"][f"round_{k}"]
        children = {c["id"] for c in namespace["children"]}
        members = {n["id"] for full, n in tasks.items() if full.startswith(f"round_{k}.")}
        assert members and members <= children, k
        assert all(tasks[full]["modular_pipelines"] == [f"round_{k}"]
                   for full in tasks if full.startswith(f"round_{k}."))


@pytest.fixture
def served(site: Path) -> Iterator[str]:
    """The static site on a free loopback port."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def _chromium(url: str, profile: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *flags, url],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(),
                    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
def test_browser_renders_the_dag(served: str, registered: dict,
                                 tmp_path_factory: pytest.TempPathFactory) -> None:
    out = tmp_path_factory.mktemp("viz_browser")
    dom = _chromium(served, out / "profile-dom", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-3000:]
    html = dom.stdout
    # the flowchart is an SVG: one node group per top-level task and per collapsed namespace
    labels = set(re.findall(r'<text class="pipeline-node__text"[^>]*>([^<]+)</text>', html))
    default = registered["pipelines"]["__default__"]
    top_tasks = {n.name for n in default.nodes if not n.namespace}
    namespaces = {n.namespace.split(".")[0] for n in default.nodes if n.namespace}
    assert {f"round_{k}" for k in range(1, registered["rounds"] + 1)} <= namespaces
    assert top_tasks | namespaces <= labels
    assert html.count('class="pipeline-node pipeline-node--task') == len(top_tasks)
    assert html.count('class="pipeline-node pipeline-node--modularPipeline') == len(namespaces)

    shot = out / "kedro_viz.png"
    done = _chromium(served, out / "profile-shot", f"--screenshot={shot}")
    assert done.returncode == 0, done.stderr[-3000:]
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1400, 900)
        assert len(image.convert("L").getcolors(maxcolors=1 << 16) or range(1 << 16)) > 50
    shutil.rmtree(out / "profile-dom", ignore_errors=True)
    shutil.rmtree(out / "profile-shot", ignore_errors=True)
