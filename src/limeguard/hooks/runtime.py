"""Runtime settings and per-node seeding (``params:runtime``) in every process that runs nodes."""

from __future__ import annotations

from typing import Any

from kedro.framework.hooks import hook_impl


class RuntimeHooks:
    """Apply ``params:runtime`` before the pipeline and once in every other process that runs
    nodes (the workers of ``limeguard.runners.DaskRunner``); seed the global generators before
    every node from (seed, node name), so that no node's numbers depend on which nodes ran before
    it in the same process (runner, worker and ``--from-nodes`` give the same results)."""

    def __init__(self) -> None:
        self._seed: int | None = None
        self._applied_in: int | None = None  # the process id that applied the runtime settings

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        """Stop before the first node when ``runtime.device`` is missing here (naming the env),
        else apply the runtime settings."""
        from limeguard.pipelines.shape import run_env
        from limeguard.runtime import require_device_available

        runtime = catalog.load("parameters").get("runtime") or {}
        require_device_available(str(runtime.get("device", "auto")),
                                 env=run_params.get("env") or run_env())
        self._apply(catalog)

    @hook_impl
    def before_node_run(self, node: Any, catalog: Any) -> None:
        import os

        from limeguard.runtime import node_seed, seed_everything

        if self._applied_in != os.getpid():
            self._apply(catalog)
        seed_everything(node_seed(self._seed or 0, node.name))

    def _apply(self, catalog: Any) -> None:
        import os

        from limeguard.config import from_params
        from limeguard.runtime import RuntimeConfig, apply_runtime, set_progress

        cfg = from_params(RuntimeConfig, catalog.load("parameters").get("runtime"), "runtime")
        set_progress(cfg.progress)
        apply_runtime(cfg)
        self._seed, self._applied_in = cfg.seed, os.getpid()
