"""Derived Kedro envs: an existing env with a few keys changed, written as an env of its own.

Kedro's config loader layers two envs (``base`` and the run env), so "conf/paper at toy size"
cannot be a third layer. A *derivation file* (``conf/<name>.yml``, e.g. ``conf/paper_smoke.yml``)
names the env it starts from and the keys it changes::

    from: paper                     # the env whose files are the starting point
    globals: {data_root: data/paper_smoke}
    parameters:
      baseline: {adversarial: {epochs: 1}}
      evaluate: {attacks: {attacks: [{name: square, options: {n_queries: 20}}]}}

:func:`derive_env` writes ``conf/<name>/`` (git-ignored): the env's parameters and globals with the
changes merged in, and its other files copied. Kedro then runs base + the derived env, i.e. base +
the env + the changes, so every key the derivation file does not name is the env's own (a later
change to ``conf/paper`` reaches the derived env the next time it is written).

Merging: mappings merge key by key; other values (lists included) are replaced, except a list of
mappings with a ``name`` (or ``label``) on both sides, e.g. ``evaluate.attacks.attacks``: each
entry of the change is merged into the env's entry of the same label (a ``label`` key, else
``name``), so the env's list (which attacks, in which order) stays as it is; naming an entry the env
does not have is an error.

Run it with ``python -m limeguard.derived_env conf/paper_smoke.yml`` (``make paper-smoke`` does).
No Kedro import: the files are plain YAML.
"""

from __future__ import annotations

import argparse
import copy
import logging
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from limeguard.config import ConfigError

log = logging.getLogger(__name__)

SECTIONS = ("globals", "parameters")  # the config kinds a derivation file may change
SPEC_KEYS = frozenset({"from", *SECTIONS})
PATTERNS = {"parameters": "parameters*.yml", "globals": "globals*.yml"}


def merge(into: Any, change: Any, key: str = "") -> Any:
    """``into`` with ``change`` merged in (see the module docstring); neither is modified.

    Raises:
        ConfigError: a list entry of ``change`` names no entry of ``into`` (the key is named).
    """
    if isinstance(into, Mapping) and isinstance(change, Mapping):
        out = dict(copy.deepcopy(into))
        for k, value in change.items():
            where = f"{key}.{k}" if key else str(k)
            out[k] = merge(into[k], value, where) if k in into else copy.deepcopy(value)
        return out
    if _named_list(into) and _named_list(change):
        return _merge_named(into, change, key)
    return copy.deepcopy(change)


def _label(entry: Mapping[str, Any]) -> Any:
    return entry.get("label") or entry.get("name")


def _named_list(value: Any) -> bool:
    return (isinstance(value, list) and bool(value)
            and all(isinstance(e, Mapping) and _label(e) is not None for e in value))


def _merge_named(into: list, change: list, key: str) -> list:
    labels = [_label(e) for e in into]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"{key}: entries repeat a label ({labels}); cannot merge by label")
    out = copy.deepcopy(into)
    for entry in change:
        if _label(entry) not in labels:
            raise ConfigError(f"{key}: {_label(entry)!r} is not an entry of the env being "
                              f"derived from (its entries: {labels})")
        i = labels.index(_label(entry))
        out[i] = merge(into[i], entry, f"{key}[{_label(entry)}]")
    return out


def read_spec(spec_file: Path) -> dict[str, Any]:
    """The derivation file, checked: ``from`` names an env; only ``globals`` and ``parameters``."""
    spec = yaml.safe_load(Path(spec_file).read_text()) or {}
    if not isinstance(spec, dict) or set(spec) - SPEC_KEYS or not isinstance(spec.get("from"), str):
        raise ConfigError(f"{spec_file}: a derivation file has `from: <env>` and optionally "
                          f"{' and '.join(SECTIONS)}; got keys {sorted(spec) if isinstance(spec, dict) else spec!r}")
    for section in SECTIONS:
        if not isinstance(spec.get(section) or {}, dict):
            raise ConfigError(f"{spec_file}: {section} must be a mapping")
    return spec


def read_env_section(env_dir: Path, section: str) -> dict[str, Any]:
    """The env's ``parameters*.yml`` (or ``globals*.yml``) files as one mapping (top-level keys
    may not repeat across files, as in Kedro)."""
    merged: dict[str, Any] = {}
    for path in sorted(env_dir.glob(PATTERNS[section])):
        content = yaml.safe_load(path.read_text()) or {}
        repeated = sorted(set(content) & set(merged))
        if repeated:
            raise ConfigError(f"{path}: top-level key(s) {repeated} also in another "
                              f"{section} file of {env_dir}")
        merged.update(content)
    return merged


def derived_sections(conf: Path, spec_file: Path) -> dict[str, dict[str, Any]]:
    """``{"globals": ..., "parameters": ...}`` of the derived env (the env's, changes merged in)."""
    spec = read_spec(spec_file)
    source = Path(conf) / spec["from"]
    if not source.is_dir():
        raise ConfigError(f"{spec_file}: from: {spec['from']!r}, but {source} is not an env folder")
    return {section: merge(read_env_section(source, section), spec.get(section) or {}, section)
            for section in SECTIONS}


def derivation_files(conf: Path) -> list[Path]:
    """The derivation files in ``conf`` (top-level ``*.yml`` with a ``from:`` key); each one's
    env, ``conf/<stem>/``, is generated (git-ignored), not shipped."""
    found = []
    for path in sorted(Path(conf).glob("*.yml")):
        content = yaml.safe_load(path.read_text())
        if isinstance(content, dict) and "from" in content:
            found.append(path)
    return found


def derive_env(conf: Path, spec_file: Path, name: str | None = None) -> Path:
    """Write ``conf/<name>/`` (default: the derivation file's stem) from ``spec_file``; returns it.

    The folder is replaced as a whole: it holds ``parameters.yml`` and ``globals.yml`` (the env's
    merged with the changes) and a copy of the env's other files.
    """
    conf, spec_file = Path(conf), Path(spec_file)
    spec = read_spec(spec_file)
    name = name or spec_file.stem
    if name in {spec["from"], "base", "local"}:
        raise ConfigError(f"{spec_file}: the derived env cannot be named {name!r}")
    sections = derived_sections(conf, spec_file)
    target = conf / name
    if target.exists():
        shutil.rmtree(target)
    target.mkdir()
    source = conf / spec["from"]
    for path in sorted(source.iterdir()):
        if path.is_file() and not any(path.match(p) for p in PATTERNS.values()):
            shutil.copy(path, target / path.name)
    header = (f"# GENERATED by `python -m limeguard.derived_env {spec_file.as_posix()}`: conf/"
              f"{spec['from']} with the changes of {spec_file.name}. Do not edit; edit those.\n")
    for section, content in sections.items():
        (target / f"{section}.yml").write_text(header + yaml.safe_dump(content, sort_keys=False))
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m limeguard.derived_env",
                                     description="Write conf/<name>/ from a derivation file.")
    parser.add_argument("spec", type=Path, help="the derivation file, e.g. conf/paper_smoke.yml")
    parser.add_argument("--conf", type=Path, default=None,
                        help="the conf folder (default: the derivation file's folder)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    target = derive_env(args.conf or args.spec.parent, args.spec)
    log.info("wrote %s", target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
