"""Kedro project settings."""

from limeguard.context import ProjectContext
from limeguard.hooks import (
    ArmParameterHooks,
    ParameterCheckHooks,
    RuntimeHooks,
    SeedParameterHooks,
    TimingHooks,
)

# its env (`kedro run --env X`) is the env the pipelines are built for (rounds, planted cue)
CONTEXT_CLASS = ProjectContext

HOOKS = (ParameterCheckHooks(), RuntimeHooks(), TimingHooks(), SeedParameterHooks(),
         ArmParameterHooks())

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # envs (test, paper, local) override single keys deep inside base's parameters
    "merge_strategy": {"parameters": "soft"},
}
