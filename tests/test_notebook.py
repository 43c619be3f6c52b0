"""notebooks/explore.ipynb runs headless against a finished `test` env run (3 rounds).

The run is the snapshot taken by the ``dvc_repro_run`` session fixture right after its `dvc repro`
(tests/conftest.py), so no extra pipeline run is paid here. The notebook finds the project from its
working directory (the copy's ``notebooks/``), exactly as in a checkout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat  # nbclient (its `jupyter execute`), nbformat and ipykernel are pinned
import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow

NOTEBOOK = PROJECT_ROOT / "notebooks" / "explore.ipynb"
JUPYTER = Path(sys.executable).parent / "jupyter"


def _tagged(nb, tag: str):
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, tag
    return cells[0]


def _png_outputs(cell) -> int:
    return sum("image/png" in out.get("data", {}) for out in cell.get("outputs", []))


def test_explore_notebook_runs_on_a_finished_run(dvc_repro_run: dict[str, Path], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    project = dvc_repro_run["snapshot"]
    (project / "notebooks").mkdir(exist_ok=True)
    monkeypatch.setenv("KEDRO_ENV", "test")           # the run's env (the kernel inherits it)
    monkeypatch.delenv("LIMEGUARD_PROJECT", raising=False)
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("KEDRO_LOGGING_CONFIG", str(project / "conf" / "logging.yml"))

    nb = nbformat.read(NOTEBOOK, as_version=4)
    state = tmp_path / "state.json"
    nb.cells.append(nbformat.v4.new_code_cell(  # test-only: what the notebook discovered
        f"import json; Path({str(state)!r}).write_text(json.dumps("
        "{'project': str(PROJECT), 'rounds': ROUNDS, 'models': MODELS,"
        " 'explained': explained, 'headline_rows': list(headline.index)}))"))
    with_state = project / "notebooks" / "explore.ipynb"
    nbformat.write(nb, with_state)
    # the command the notebook's first cell documents (nbclient's `jupyter execute`)
    done = subprocess.run([str(JUPYTER), "execute", with_state.name, "--output=explore_executed",
                           "--timeout=300"], cwd=with_state.parent, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    executed = project / "notebooks" / "explore_executed.ipynb"  # kept for a look when debugging
    nb = nbformat.read(executed, as_version=4)

    found = json.loads(state.read_text())
    assert Path(found["project"]) == project.resolve()
    assert found["rounds"] == [f"{arm}.round_{k}" for arm in ("transplant", "paper")
                               for k in (1, 2, 3)]   # discovered, not assumed
    assert found["explained"] == ["adversarial", *found["rounds"]]
    assert found["models"] == ["standard", "adversarial", "control", *found["rounds"]]
    assert found["headline_rows"] == found["models"]
    assert _png_outputs(_tagged(nb, "explanations")) == 1
    assert _png_outputs(_tagged(nb, "robustness")) == 1
