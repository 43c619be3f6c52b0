"""Opening a study storage from a URL: SQLite (default), any SQLAlchemy URL, or a journal file."""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path
from typing import Any

from limeguard.config import ConfigError

log = logging.getLogger(__name__)
JOURNAL = "journal:///"


class StorageError(ConfigError):
    """The storage URL cannot be opened (unreachable server, bad URL, missing driver)."""


def redact(url: str) -> str:
    """``url`` with its password hidden (for logs and reports)."""
    if url.startswith(JOURNAL):
        return url
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL has no password we could find
        return url


def journal_path(url: str) -> Path:
    """``journal:///rel/path.log`` -> ``rel/path.log``; ``journal:////abs.log`` -> ``/abs.log``."""
    return Path(url[len(JOURNAL):])


def postgres_driver(url: str) -> str:
    """``postgresql://`` names SQLAlchemy 2.1's default driver, psycopg 3; with only psycopg2
    installed (the pinned ``psycopg2-binary``) use ``postgresql+psycopg2://`` instead."""
    import importlib.util

    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg") is None \
            and importlib.util.find_spec("psycopg2") is not None:
        return "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url


def open_storage(url: str, heartbeat_s: int | None = None, grace_s: int | None = None) -> Any:
    """An Optuna storage for ``url``, checked to be reachable (tables created if needed).

    SQLite and journal files get their parent folder created; SQLite waits up to 60 s for a lock
    held by another worker; PostgreSQL connections time out after 10 s.

    Raises:
        StorageError: naming the (redacted) URL and the reason, before any trial runs.
    """
    import optuna

    if url.startswith(JOURNAL):
        path = journal_path(url)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            backend = optuna.storages.journal.JournalFileBackend(str(path))
            return optuna.storages.JournalStorage(backend)
        except OSError as err:
            raise StorageError(f"tune.study.storage: cannot open the journal {path}: {err}") from err
    if url.startswith("journal:"):
        raise StorageError(f"tune.study.storage: write a journal as {JOURNAL}relative/path.log "
                           f"(or {JOURNAL}/absolute/path.log), got {url!r}")
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        kwargs = {"connect_args": {"timeout": 60}}
    elif url.startswith("postgresql"):
        url = postgres_driver(url)
        kwargs = {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    if heartbeat_s is not None:
        grace_s = grace_s or 2 * heartbeat_s
    for attempt in range(5):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeat
                return optuna.storages.RDBStorage(
                    url, engine_kwargs=kwargs, heartbeat_interval=heartbeat_s,
                    grace_period=grace_s if heartbeat_s is not None else None)
        except Exception as err:  # sqlalchemy's OperationalError, ArgumentError, missing drivers
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            if attempt < 4 and _racing(reason):  # another worker is creating the tables
                time.sleep(0.5 * (attempt + 1))
                continue
            raise StorageError(f"tune.study.storage: cannot open {redact(url)}: {reason}") from err
    raise AssertionError("unreachable")


def _racing(reason: str) -> bool:
    """Errors of two workers creating the same tables at once (SQLite and PostgreSQL)."""
    signs = ("already exists", "database is locked", "duplicate key", "UNIQUE constraint",
             "IntegrityError", "UniqueViolation")
    return any(s in reason for s in signs)
