"""Project hooks (registered in :mod:`limeguard.settings`), one module a concern.

- :class:`ParameterCheckHooks` (:mod:`.parameters`): check every parameter before any node runs;
  the DVC checks it also runs live in :mod:`.dvc`.
- :class:`RuntimeHooks` (:mod:`.runtime`): apply ``params:runtime`` and seed every node.
- :class:`TimingHooks` (:mod:`.timing`): record every node's wall time and commit.
- :class:`SeedParameterHooks` (:mod:`.seeds`): the ``params:seed_runtime.seed_<k>`` parameters.
- :class:`ArmParameterHooks` (:mod:`.arms`): the ``params:arm_mine.<arm>`` and
  ``params:arm_rounds.<arm>`` parameters.
"""

from limeguard.hooks.arms import ArmParameterHooks
from limeguard.hooks.parameters import ParameterCheckHooks
from limeguard.hooks.runtime import RuntimeHooks
from limeguard.hooks.seeds import SeedParameterHooks
from limeguard.hooks.timing import TimingHooks

__all__ = ["ArmParameterHooks", "ParameterCheckHooks", "RuntimeHooks", "SeedParameterHooks", "TimingHooks"]
