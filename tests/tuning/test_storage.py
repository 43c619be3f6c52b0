"""Storage URLs never show their password: not redacted, not in errors, not when unparsable."""

from __future__ import annotations

import traceback

import pytest

from limeguard.tuning import StorageError, open_storage, redact

SECRET = "Hunter2pw"
MALFORMED = [
    f"postgresql://limeguard:{SECRET}",                    # no host: the password reads as a port
    f"postgresql://limeguard:{SECRET}@db.invalid:notaport/x",
    f"postgresql//limeguard:{SECRET}@db.invalid/x",         # no "://"
    f"limeguard:{SECRET}@db.invalid",                       # no scheme
    f"postgresql://limeguard:{SECRET}@@db.invalid/x",
    f"postgresql://limeguard:p@{SECRET}@127.0.0.1:1/x",     # an unescaped @ inside the password
    f"postgresql://127.0.0.1:1/x?sslmode=disable&password={SECRET}",
    f"mysql://root:{SECRET}",
]


@pytest.mark.parametrize("url", MALFORMED)
def test_redact_hides_the_password_of_any_url(url: str) -> None:
    shown = redact(url)
    assert SECRET not in shown and "***" in shown


def test_redact_keeps_what_is_not_secret() -> None:
    assert redact("postgresql://limeguard:pw@db.example:5432/x") == "postgresql://limeguard:***@db.example:5432/x"
    assert redact("postgresql://limeguard@db.example/x") == "postgresql://limeguard@db.example/x"
    assert redact("sqlite:///data/07_model_output/tune/study.db") == "sqlite:///data/07_model_output/tune/study.db"
    assert redact("journal:///data/tune.log") == "journal:///data/tune.log"
    assert redact(f"postgresql://limeguard:{SECRET}").startswith("postgresql://***")


@pytest.mark.parametrize("url", MALFORMED)
def test_open_errors_never_quote_the_password(url: str) -> None:
    """The error names the redacted URL and the reason; neither it nor the traceback that
    Kedro would log (chained exceptions included) holds the password."""
    with pytest.raises(StorageError, match="tune.study.storage: cannot open") as caught:
        open_storage(url)
    logged = "".join(traceback.format_exception(caught.value))
    assert SECRET not in logged, logged
