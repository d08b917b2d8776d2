"""Fuzzed settings: a value is stored as its parser says (and reads back stable), or a
ConfigError leaves every setting as it was. Run per backend, with that backend configured,
and a connection made from the fuzzed configuration must work or raise a DataJointError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.settings import SETTINGS, Config
from tests.fuzz.support import FUZZ, TEXT, WILD, judge

KEYS = st.sampled_from(sorted(SETTINGS)) | st.sampled_from(["nosuch", "database", "jobs.x", ""])
VALUES = WILD | st.sampled_from([
    0, -1, 1, 5, 127, 128, 0.5, "0.5", "nan", "inf", float("nan"), "-3", "db:abc", "db:3306",
    "db:0", "::::", "DEBUG", "loud", "true", "off", "yes", "", " ", "sqlite", "postgresql",
    "mysql", "oracle", {"main": {"protocol": "file", "location": "/tmp/x"}}, [1, 2], {}])


def snapshot(config: Config) -> dict:
    return {key: repr(config[key]) for key in config}


@FUZZ
@given(key=KEYS, value=VALUES)
def test_settings_are_stored_right_or_refused(backend, key, value):
    config = Config(environ={"DJ_IGNORE_CONFIG_FILE": "1"})
    config["database.backend"] = backend

    def assign() -> None:
        config[key] = value

    def succeed(_: Any) -> None:
        stored = config[key] if key != "database.host" else config["database.host"]
        again = Config(environ={"DJ_IGNORE_CONFIG_FILE": "1"})
        again[key] = stored  # what was stored is itself a valid value, stored unchanged
        assert repr(again[key]) == repr(stored)
        if key != "stores":
            plain = (type(SETTINGS[key].default), type(None), str, int, float, bool, dict)
            assert type(stored) in plain or isinstance(stored, Path)  # query_cache: a Path

    judge(backend, "settings", assign, on_success=succeed, counts=lambda: snapshot(config))


@FUZZ
@given(content=st.one_of(
    st.dictionaries(KEYS, VALUES, max_size=3).map(lambda v: json.dumps(v, default=str)),
    WILD.map(lambda v: json.dumps(v, default=str)), TEXT))
def test_config_files_load_right_or_refuse(backend, tmp_path_factory, content):
    path = Path(tmp_path_factory.mktemp("config")) / "datajoint.json"
    path.write_text(content, errors="surrogatepass")
    config = Config(environ={"DJ_IGNORE_CONFIG_FILE": "1"})

    def succeed(_: Any) -> None:
        assert config.source == path

    judge(backend, "config files", lambda: config.load(path), on_success=succeed,
          counts=lambda: snapshot(config))


@pytest.fixture
def empty_folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


TARGETS = st.one_of(
    WILD,
    st.from_regex(r"[a-z:/@.0-9\[\]]{0,16}", fullmatch=True),
    st.sampled_from(["::::", "nosuch://x", "sqlite://", "postgresql://u@[::1", "a:b:c",
                     "file.db", "C:\\data\\x.db", ":memory:", "mysql://u@127.0.0.1:1/x"]),
)


@FUZZ
@given(target=TARGETS)
def test_connection_targets_connect_or_refuse(backend, empty_folder, target):
    """Only sqlite targets and closed local ports can succeed or fail here (no DNS waits)."""
    if isinstance(target, str) and "://" in target and not target.startswith(
            ("sqlite", "nosuch", "postgresql://u@[", "mysql://u@127.0.0.1:1/")):
        target = "nosuch" + target[target.index("://"):]

    def connect() -> dj.Connection:
        return dj.Connection(target)

    def succeed(connection: dj.Connection) -> None:
        assert connection.backend == "sqlite"
        connection.close()

    judge(backend, "connections", connect, on_success=succeed,
          counts=lambda: sorted(p.name for p in empty_folder.iterdir()
                                if not p.name.endswith(("-wal", "-shm"))))
