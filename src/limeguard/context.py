"""The project's Kedro context: the env it is created with shapes the DAG."""

from __future__ import annotations

from attrs import define
from kedro.framework.context import KedroContext

from limeguard.pipelines.shape import follow_run_env


@define(slots=False)
class ProjectContext(KedroContext):
    """``KedroContext`` whose env (``--env``, else ``KEDRO_ENV``) is the one the pipelines are built
    for (``rounds.count``, ``data.spurious.enabled``): sessions create it before they build the
    pipelines, in ``kedro run``, ``kedro viz`` and notebooks alike."""

    def __attrs_post_init__(self) -> None:
        follow_run_env(self.env)
