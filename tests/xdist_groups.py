"""pytest-xdist: every test that reads a shared session run goes to one worker (a workaround).

The session fixtures in :data:`SHARED_RUNS` (tests/conftest.py) cost half a minute to minutes
each. Under ``-n N`` (xdist's default ``--dist load``) every test that reads one runs on one
worker, so that each is built once; the other tests are scheduled by module (xdist's
``loadscope``).

Why not ``@pytest.mark.xdist_group`` with ``--dist loadgroup``: xdist (3.8) passes the group to
its scheduler by rewriting ``item._nodeid`` to ``<nodeid>@<group>`` on the worker, while pytest
9.2 builds ``item.nodeid`` from its structured id (``_id``), so the suffix never reaches the
controller and the groups are silently spread over the workers. Upstream:
pytest-dev/pytest-xdist#1386, "--dist=loadgroup silently stops grouping on pytest main: the
nodeid mutation no longer takes effect" (https://github.com/pytest-dev/pytest-xdist/issues/1386,
open), with the fix proposed in https://github.com/pytest-dev/pytest-xdist/pull/1388 (open; the
maintainers would rather pass the groups apart from the node id).

So the groups travel beside the node ids: the controller gives each worker a folder
(``pytest_configure_node``), each worker writes the group of every test it collected there (only
a worker has the items and their fixtures), and the scheduler, a ``LoadScopeScheduling`` whose
scope of a node id is its group, reads them when it first distributes the tests.

The order in which the groups are handed out: the groups with end-to-end runs (tests marked
``slow``) first, most of those tests first, then the others by size (xdist's own reorder, most
tests first). xdist's reorder alone sorts by the number of tests, which put the costliest groups
(the paper-env smoke: 4 tests, minutes; one-test modules that each run a whole `kedro run`) near the
end of the queue, where one worker ran them alone after the other had finished; handed out first,
the many short modules fill the other worker meanwhile.

Delete this module (and ``pytest_plugins`` in tests/conftest.py) once #1386 is fixed in a
released xdist: then mark the tests in ``pytest_collection_modifyitems``
(``item.add_marker(pytest.mark.xdist_group(name))``) and run with ``--dist loadgroup`` (the
tests without a mark are then spread one by one, not by module).
"""

from __future__ import annotations

import functools
import json
import shutil
import tempfile
from pathlib import Path

import pytest

SHARED_RUNS = ("tiny_run", "dvc_repro_run")  # session fixtures of tests/conftest.py
WORKERINPUT_KEY = "test_groups_dir"


def xdist_scope(item: pytest.Item) -> str:
    """The first shared run the test reads, else its module."""
    runs = [name for name in SHARED_RUNS if name in item.fixturenames]
    return runs[0] if runs else item.nodeid.split("::")[0]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:  # xdist, in the controller: where workers write groups
    node.workerinput[WORKERINPUT_KEY] = str(_groups_dir(node.config))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    folder = getattr(config, "workerinput", {}).get(WORKERINPUT_KEY)
    if folder:  # an xdist worker: each test's group, and whether it is an end-to-end run
        groups = {item.nodeid: [xdist_scope(item), item.get_closest_marker("slow") is not None]
                  for item in items}
        (Path(folder) / f"{config.workerinput['workerid']}.json").write_text(json.dumps(groups))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):  # xdist, in the controller
    from xdist.scheduler import LoadScopeScheduling

    if config.getvalue("dist") != "load":  # -n alone; an explicit --dist keeps xdist's own
        return None

    folder = _groups_dir(config)

    class SharedRunScheduling(LoadScopeScheduling):
        """xdist's scope scheduling with the groups the workers wrote as scopes; the groups
        with the most ``slow`` tests are handed out first, the others in xdist's order (with
        its default reorder: most tests first)."""

        @functools.cached_property
        def tests(self) -> dict[str, tuple[str, bool]]:  # read once every worker has collected
            return {k: (scope, slow) for f in sorted(folder.glob("*.json"))
                    for k, (scope, slow) in json.loads(f.read_text()).items()}

        def _split_scope(self, nodeid: str) -> str:  # xdist's private hook of LoadScopeScheduling
            return self.tests.get(nodeid, (nodeid.split("::")[0],))[0]

        def _assign_work_unit(self, node) -> None:  # xdist's private: pops the next group
            if not self.slow_first:  # the queue is complete at the first call: reorder it once
                self.slow_first = True
                slow = {scope: sum(self.tests.get(nodeid, ("", False))[1] for nodeid in unit)
                        for scope, unit in self.workqueue.items()}
                for scope in sorted(self.workqueue, key=lambda scope: -slow[scope]):  # stable
                    self.workqueue.move_to_end(scope)
            super()._assign_work_unit(node)

        slow_first = False

    return SharedRunScheduling(config, log)


def pytest_unconfigure(config: pytest.Config) -> None:
    if hasattr(config, "_test_groups_dir"):
        shutil.rmtree(config._test_groups_dir, ignore_errors=True)


def _groups_dir(config: pytest.Config) -> Path:
    if not hasattr(config, "_test_groups_dir"):
        config._test_groups_dir = Path(tempfile.mkdtemp(prefix="xdist-groups-"))
    return config._test_groups_dir
