"""Bad settings and connection arguments: a ConfigError naming the fix, and nothing changed."""

from __future__ import annotations

import json
import os

import pytest

import dj_jupyter as dj
from dj_jupyter.errors import ConfigError
from dj_jupyter.settings import Config


def make(**environ: str) -> Config:
    return Config(environ={"DJ_IGNORE_CONFIG_FILE": "1", **environ})


BAD = [
    ("jobs.heartbeat_interval", 0, "more than zero"),
    ("jobs.heartbeat_interval", -1, "more than zero"),
    ("jobs.heartbeat_interval", float("nan"), "finite"),
    ("jobs.heartbeat_interval", float("inf"), "finite"),
    ("jobs.heartbeat_timeout", -1, "zero or more"),
    ("jobs.heartbeat_timeout", float("nan"), "finite"),
    ("stores.gc_grace_seconds", float("nan"), "finite"),
    ("stores.gc_grace_seconds", -5, "zero or more"),
    ("jobs.default_priority", 1000, "between 0 and 127"),
    ("jobs.default_priority", -1, "between 0 and 127"),
    ("jobs.default_priority", 2.5, "whole number"),
    ("loglevel", "LOUD", "debug, info"),
    ("database.host", "db:abc", "port 'abc'"),
    ("database.host", "db:0", "1 to 65535"),
    ("database.host", "", "host name"),
    ("database.port", 70000, "between 1 and 65535"),
    ("database.port", "x", "whole number"),
    ("display.limit", 1.5, "whole number"),
    ("display.limit", float("inf"), "whole number"),
]


@pytest.mark.parametrize("key, value, message", BAD, ids=[f"{k}={v!r}" for k, v, _ in BAD])
def test_bad_values_leave_the_setting_unchanged(key, value, message):
    config = make()
    config["database.host"] = "server.example.org:3307"
    before = {k: config[k] for k in config}
    with pytest.raises(ConfigError, match=message):
        config[key] = value
    with pytest.raises(ConfigError, match=message):
        config.update({key: value, "safemode": False})
    with pytest.raises(ConfigError, match=message), config.override({key: value}):
        pass  # pragma: no cover
    assert {k: config[k] for k in config} == before


def test_good_values_are_normalised():
    config = make()
    config["loglevel"] = "warning"
    config["jobs.heartbeat_interval"] = "0.5"
    config["jobs.heartbeat_timeout"] = 0
    config["jobs.default_priority"] = "7"
    config["database.host"] = "db:5432"
    assert (config["loglevel"], config["jobs.heartbeat_interval"],
            config["jobs.heartbeat_timeout"], config["jobs.default_priority"]) == \
        ("WARNING", 0.5, 0.0, 7)
    assert (config["database.host"], config["database.port"]) == ("db", 5432)


@pytest.mark.parametrize("content", ["[1, 2]", '"text"', "5", "null"])
def test_config_file_must_hold_an_object(tmp_path, content):
    path = tmp_path / "datajoint.json"
    path.write_text(content)
    config = make()
    with pytest.raises(ConfigError, match="must hold one object"):
        config.load(path)
    assert config.source is None


def test_config_file_with_one_bad_key_loads_nothing(tmp_path):
    path = tmp_path / "datajoint.json"
    path.write_text(json.dumps({"safemode": False, "jobs": {"heartbeat_interval": 0}}))
    config = make()
    with pytest.raises(ConfigError, match="heartbeat_interval"):
        config.load(path)
    assert config["safemode"] is True


def test_bad_environment_variable_names_the_variable_value():
    with pytest.raises(ConfigError, match="heartbeat_interval"):
        make(DJ_JOBS_HEARTBEAT_INTERVAL="nan")


def test_update_takes_a_mapping():
    with pytest.raises(ConfigError, match="mapping"):
        make().update([("safemode", False)])


@pytest.mark.parametrize("target, message", [
    (5, "takes a URL"),
    (None, "takes a URL"),
    ("", "takes a URL"),
    ("nosuch://x", "unsupported database"),
    ("::::", "neither a URL nor an SQLite file"),
    ("db.example.org:3306", "neither a URL nor an SQLite file"),
    ("postgresql://u@[::1", "not a database URL"),
])
def test_connection_arguments(tmp_path, monkeypatch, target, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=message):
        dj.Connection(target)
    assert os.listdir(tmp_path) == []  # no SQLite file made by mistake


def test_connection_server_form_checks_its_port():
    with pytest.raises(ConfigError, match="port"):
        dj.Connection("db:abc", "user", backend="mysql")
    with pytest.raises(ConfigError, match="backend"):
        dj.Connection("db", "user", backend="oracle")


def test_sqlite_paths_still_connect(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    connection = dj.Connection("pipeline.db")
    connection.close()
    assert (tmp_path / "pipeline.db").exists()
    dj.Connection(":memory:").close()
