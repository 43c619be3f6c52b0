"""The parameters of the arms' namespaces: one ``mine`` and one ``rounds`` tree per arm."""

from __future__ import annotations

from typing import Any

from kedro.framework.hooks import hook_impl

from limeguard.arms import parse_arms


class ArmParameterHooks:
    """``params:arm_mine.<arm>`` and ``params:arm_rounds.<arm>``: the run's ``mine`` and
    ``rounds`` with the arm's overrides merged in (:func:`limeguard.arms.parse_arms`), the
    ``params:mine`` and ``params:rounds`` of the arm's namespace ``<arm>``. A bad override fails
    here, naming its key, before any node runs."""

    @hook_impl
    def after_catalog_created(self, catalog: Any, parameters: dict[str, Any]) -> None:
        params = parameters.get("parameters", {})
        for arm in parse_arms(params.get("mine"), params.get("rounds")):
            catalog[f"params:arm_mine.{arm.name}"] = arm.mine
            catalog[f"params:arm_rounds.{arm.name}"] = arm.rounds
