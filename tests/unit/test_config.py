"""dj.config: keys, sources and their precedence, override, validation and secrets."""

from __future__ import annotations

import json

import pytest

import dj_jupyter as dj
from dj_jupyter.errors import ConfigError
from dj_jupyter.settings import Config

SECRET = "s3cret-Pa55word"


def make(environ=None, file=None) -> Config:
    return Config(environ={"DJ_IGNORE_CONFIG_FILE": "0" if file else "1", **(environ or {})},
                  file=file)


def test_defaults():
    config = make()
    assert config["database.backend"] == "sqlite"
    assert config["safemode"] is True
    assert config.database.host == "localhost"
    assert config["jobs.allow_new_pk_fields_in_computed_tables"] is True  # DataJoint's effect
    assert config["jobs.keep_completed"] is False and config["jobs.add_job_metadata"] is False
    assert config["provenance.capture"] is False and config["provenance.source"] == {}
    assert "database.password" in config
    assert set(config) >= {"database.host", "database.user", "safemode", "loglevel"}


def test_environment_variables():
    config = make({"DJ_HOST": "db.example.org:3307", "DJ_BACKEND": "MySQL", "DJ_USER": "ann",
                   "DJ_PASS": SECRET, "DJ_SAFEMODE": "false"})
    assert config["database.host"] == "db.example.org"
    assert config["database.port"] == 3307
    assert config["database.backend"] == "mysql"
    assert config["database.user"] == "ann"
    assert config["database.password"] == SECRET
    assert config["safemode"] is False


def test_bad_environment_value_is_refused():
    with pytest.raises(ConfigError, match="database.backend"):
        make({"DJ_BACKEND": "oracle"})


def test_config_file_and_precedence(tmp_path):
    path = tmp_path / "datajoint.json"
    path.write_text(json.dumps({"database": {"host": "filehost", "user": "fileuser"},
                                "safemode": False, "display.limit": 5}))
    config = make({"DJ_USER": "envuser"}, file=path)
    assert config.source == path
    assert config["database.host"] == "filehost"
    assert config["database.user"] == "envuser"  # environment beats the file
    assert config["safemode"] is False
    assert config["display.limit"] == 5
    config["database.user"] = "runtime"  # run time beats both
    assert config["database.user"] == "runtime"
    config.reset()
    assert config["database.user"] == "envuser"


def test_config_file_is_found_from_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    (tmp_path / "datajoint.json").write_text(json.dumps({"database.host": "found"}))
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    config = Config(environ={})
    assert config["database.host"] == "found"


def test_bad_config_file_is_refused(tmp_path):
    path = tmp_path / "datajoint.json"
    path.write_text(json.dumps({"database": {"nosuchkey": 1}}))
    with pytest.raises(ConfigError, match="nosuchkey"):
        make(file=path)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="datajoint.json"):
        make(file=path)


def test_override_restores_values():
    config = make()
    with config.override(safemode=False, database__host="elsewhere"):
        assert config["safemode"] is False
        assert config["database.host"] == "elsewhere"
    assert config["safemode"] is True
    assert config["database.host"] == "localhost"
    with pytest.raises(RuntimeError):
        with config.override({"display.limit": 3}):
            raise RuntimeError
    assert config["display.limit"] == 12


def test_unknown_keys_and_bad_values_are_refused():
    config = make()
    with pytest.raises(ConfigError, match="known settings"):
        config["database.hots"] = "x"
    with pytest.raises(ConfigError):
        config["nosuchkey"]
    with pytest.raises(ConfigError):
        with config.override(nosuch=1):
            pass
    with pytest.raises(ConfigError, match="safemode"):
        config["safemode"] = "perhaps"
    with pytest.raises(ConfigError):
        config.update({"safemode": False, "display.limit": 0})
    assert config["safemode"] is True  # update is all or nothing
    with pytest.raises(AttributeError):
        config.nosuchsection  # noqa: B018


def test_attribute_access():
    config = make()
    config.database.host = "attr-host"
    assert config["database.host"] == "attr-host"
    config.safemode = False
    assert config.safemode is False


def test_password_is_never_shown(tmp_path):
    config = make({"DJ_PASS": SECRET})
    assert SECRET not in repr(config)
    assert SECRET not in repr(config.database)
    with pytest.raises(ConfigError) as failure:
        config["database.port"] = SECRET
    assert "database.port" in str(failure.value)
    config.save(tmp_path / "saved.json")
    assert SECRET not in (tmp_path / "saved.json").read_text()
    with pytest.raises(ConfigError) as failure:
        make({"DJ_PASS": SECRET, "DJ_PORT": "notaport"})
    assert SECRET not in str(failure.value)


def test_global_config_is_the_process_config():
    """dj.config reads and writes the one process-wide Config the library itself reads."""
    from dj_jupyter.settings import config as process_config

    assert isinstance(process_config, Config)
    with dj.config.override(safemode=False):
        assert dj.config.safemode is False
        assert process_config["safemode"] is False

