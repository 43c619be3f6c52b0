"""Kedro project settings."""

from limeguard.hooks import ParameterCheckHooks, RuntimeHooks, SeedParameterHooks, TimingHooks

HOOKS = (ParameterCheckHooks(), RuntimeHooks(), TimingHooks(), SeedParameterHooks())

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # envs (test, paper, local) override single keys deep inside base's parameters
    "merge_strategy": {"parameters": "soft"},
}
