"""The parameters of the ``seeds`` pipeline's namespaces: one ``runtime`` per seed."""

from __future__ import annotations

from typing import Any

from kedro.framework.hooks import hook_impl


class SeedParameterHooks:
    """``params:seed_runtime.seed_<k>``: the run's ``runtime`` with ``seed: k`` for every k of
    ``runtime.seeds``, the ``params:runtime`` of the ``seeds`` pipeline's namespace ``seed_<k>``
    (Kedro maps a namespace's parameters to other parameters only)."""

    @hook_impl
    def after_catalog_created(self, catalog: Any, parameters: dict[str, Any]) -> None:
        runtime = dict(parameters.get("parameters", {}).get("runtime") or {})
        for seed in runtime.get("seeds") or []:
            catalog[f"params:seed_runtime.seed_{seed}"] = {**runtime, "seed": seed}
