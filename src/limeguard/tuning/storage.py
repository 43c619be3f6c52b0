"""Opening a study storage from a URL: SQLite (default), any SQLAlchemy URL, or a journal file."""

from __future__ import annotations

import logging
import re
import time
import warnings
from pathlib import Path
from typing import Any

from limeguard.config import ConfigError

log = logging.getLogger(__name__)
JOURNAL = "journal:///"


class StorageError(ConfigError):
    """The storage URL cannot be opened (unreachable server, bad URL, missing driver)."""


SECRET_QUERY = re.compile(r"(?i)([?&][^=&]*(?:password|passwd|pwd|secret|token)[^=&]*=)[^&]*")


def redact(url: str) -> str:
    """``url`` with its password hidden (for logs, reports and errors).

    Everything between the user name and the last ``@`` is hidden (a password may hold ``@``), as
    are secret-looking query values; a URL without ``@`` that SQLAlchemy cannot parse keeps only
    its scheme, since a password may be anywhere in it.
    """
    if url.startswith(JOURNAL):
        return url
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        credentials, host = rest.rsplit("@", 1)
        shown = f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}" if ":" in credentials else url
    elif sep and _parses(url):
        shown = url
    else:
        known = re.match(r"[A-Za-z][A-Za-z0-9+.-]*(?=:)", url)
        shown = f"{known.group(0)}://" if known else ""
        shown += "*** (unparsable URL hidden)"
    return SECRET_QUERY.sub(r"\1***", shown)


def scrub(text: str, url: str) -> str:
    """``text`` (e.g. a driver's error) with what :func:`redact` hides in ``url`` hidden too."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        password = rest.rsplit("@", 1)[0].partition(":")[2]
        secrets = {password, *password.split("@")}
    else:
        secrets = set() if sep and _parses(url) else {rest, *re.split(r"[:@/]", rest)[1:]}
    secrets |= {m.group(0).split("=", 1)[1] for m in SECRET_QUERY.finditer(url)} | {url}
    for secret in sorted((p for p in secrets if len(p) > 1), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _parses(url: str) -> bool:
    from sqlalchemy.engine import make_url

    try:
        make_url(url)
    except Exception:
        return False
    return True


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


def open_storage(url: str, heartbeat_s: int | None = None, grace_s: int | None = None,
                 retries: int | None = None) -> Any:
    """An Optuna storage for ``url``, checked to be reachable (tables created if needed).

    SQLite and journal files get their parent folder created; SQLite waits up to 60 s for a lock
    held by another worker; PostgreSQL connections time out after 10 s. With ``heartbeat_s``
    (RDB storages), a trial whose worker died (no heartbeat for ``grace_s``) is marked FAIL by
    the next worker, which queues a copy with the same parameters, up to ``retries`` times
    (null: no limit).

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
    for attempt in range(5):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeat
                return optuna.storages.RDBStorage(
                    url, engine_kwargs=kwargs, **_heartbeat(heartbeat_s, grace_s, retries))
        except Exception as err:  # sqlalchemy's OperationalError, ArgumentError, missing drivers
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            if attempt < 4 and _racing(reason):  # another worker is creating the tables
                time.sleep(0.5 * (attempt + 1))
                continue
            # from None: the driver's own error may quote the URL, password included
            raise StorageError(f"tune.study.storage: cannot open {redact(url)}: "
                               f"{type(err).__name__}: {scrub(reason, url)}") from None
    raise AssertionError("unreachable")


def _heartbeat(heartbeat_s: int | None, grace_s: int | None, retries: int | None) -> dict[str, Any]:
    """RDBStorage's heartbeat arguments: stale trials are failed and retried with their params."""
    import optuna

    if heartbeat_s is None:
        return {}
    retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=retries)
    return {"heartbeat_interval": heartbeat_s, "grace_period": grace_s or 2 * heartbeat_s,
            "heartbeat_stale_trial_callback": retry}


def _racing(reason: str) -> bool:
    """Errors of two workers creating the same tables at once (SQLite and PostgreSQL)."""
    signs = ("already exists", "database is locked", "duplicate key", "UNIQUE constraint",
             "IntegrityError", "UniqueViolation")
    return any(s in reason for s in signs)
