from __future__ import annotations

import pytest

from tsela.config import ConfigError, load_settings


def test_defaults_need_nothing_installed() -> None:
    s = load_settings({})
    assert s.url.get_backend_name() == "sqlite"
    assert s.url.database == "var/tsela.db"
    assert s.node == "LS"


def test_plain_postgresql_url_uses_psycopg3() -> None:
    s = load_settings({"TSELA_DATABASE_URL": "postgresql://u@h/db", "TSELA_NODE": "za"})
    assert s.url.drivername == "postgresql+psycopg"
    assert s.node == "ZA"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TSELA_DATABASE_URL": "not a url"}, "malformed database URL"),
        ({"TSELA_DATABASE_URL": "mysql://x@y/z"}, "unsupported database 'mysql'"),
        ({"TSELA_NODE": "BW"}, "unknown node 'BW'"),
    ],
)
def test_bad_settings_say_what_is_wrong(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env)
