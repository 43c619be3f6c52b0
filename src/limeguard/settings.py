"""Kedro project settings."""

from limeguard.hooks import ParameterCheckHooks, RuntimeHooks

HOOKS = (ParameterCheckHooks(), RuntimeHooks())

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}
