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
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kedro_project import KEDRO, make_project_copy

pytestmark = pytest.mark.slow  # `kedro viz build` in a project copy

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package, installed by .ci/run
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--window-size=1400,900", "--virtual-time-budget=15000")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project_copy(tmp_path_factory.mktemp("viz") / "project")


REGISTRY_DUMP = """
import json, sys
from pathlib import Path
from kedro.framework.project import pipelines
from kedro.framework.startup import bootstrap_project
bootstrap_project(Path.cwd())
from limeguard.pipelines.rounds.pipeline import configured_round_count
from limeguard.pipelines.shape import configured_arms
Path(sys.argv[1]).write_text(json.dumps({
    "rounds": configured_round_count(Path.cwd()), "arms": list(configured_arms(Path.cwd())),
    "pipelines": {name: [[n.name, n.namespace] for n in p.nodes] for name, p in pipelines.items()}}))
"""


def _env(project: Path) -> dict[str, str]:
    """The copy's own code and the base conf (``local`` is empty in a copy)."""
    return {**os.environ, "KEDRO_ENV": "local", "KEDRO_DISABLE_TELEMETRY": "true",
            "DVC_NO_ANALYTICS": "1", "MPLBACKEND": "Agg",
            "PYTHONPATH": str(project / "src"),
            "KEDRO_LOGGING_CONFIG": str(project / "conf" / "logging.yml")}


@pytest.fixture(scope="module")
def registered(project: Path) -> dict:
    """The pipelines the copy registers (same code, conf and env as the build): name -> nodes."""
    dump = project.parent / "registry.json"
    done = subprocess.run([sys.executable, "-c", REGISTRY_DUMP, str(dump)], cwd=project,
                          env=_env(project), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(dump.read_text())


@pytest.fixture(scope="module")
def site(project: Path) -> Path:
    done = subprocess.run([str(KEDRO), "viz", "build"], cwd=project, env=_env(project),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return project / "build"


def _tasks(dag: dict) -> dict[str, dict]:
    return {n["full_name"]: n for n in dag["nodes"] if n["type"] == "task"}


def test_dag_json_holds_every_pipeline(site: Path, registered: dict) -> None:
    main = json.loads((site / "api" / "main").read_text())  # the default pipeline's DAG
    pipelines = registered["pipelines"]
    assert {p["id"] for p in main["pipelines"]} == set(pipelines)
    default = {node for node, _ in pipelines["__default__"]}
    assert set(_tasks(main)) == default
    for name, nodes in pipelines.items():  # one DAG JSON per registered pipeline
        expected = {node for node, _ in nodes}
        assert expected, name
        per_pipeline = json.loads((site / "api" / "pipelines" / name).read_text())
        assert per_pipeline["selected_pipeline"] == name
        tasks = _tasks(per_pipeline)
        assert set(tasks) == expected, name
        assert all(name in tasks[node]["pipelines"] for node in expected), name


def test_arms_and_their_rounds_are_namespaces(site: Path, registered: dict) -> None:
    """Each arm collapses into one namespace holding its rounds, each a namespace of its own."""
    main = json.loads((site / "api" / "main").read_text())
    count, arms = registered["rounds"], registered["arms"]
    assert count >= 1 and arms
    rounds = {name for name in main["modular_pipelines"] if re.fullmatch(r"\w+\.round_\d+", name)}
    assert rounds == {f"{arm}.round_{k}" for arm in arms for k in range(1, count + 1)}
    tasks = _tasks(main)
    for name in rounds:
        arm = main["modular_pipelines"][name.split(".")[0]]
        assert name in {c["id"] for c in arm["children"]}, name
        children = {c["id"] for c in main["modular_pipelines"][name]["children"]}
        members = {n["id"] for full, n in tasks.items() if full.startswith(f"{name}.")}
        assert members and members <= children, name
        assert all(tasks[full]["modular_pipelines"] == [name]
                   for full in tasks if full.startswith(f"{name}."))


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
    top_tasks = {node for node, namespace in default if not namespace}
    namespaces = {namespace.split(".")[0] for _, namespace in default if namespace}
    assert set(registered["arms"]) <= namespaces
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
