"""DataJoint 2.x settings semantics: load(), save_template(), the password as a secret,
``del config[key]``, query_cache, use_tls and the ``stage`` store key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.errors import ConfigError, ConfigFileNotFoundError
from dj_jupyter.settings import Config, SecretValue


def fresh(environ: dict[str, str] | None = None) -> Config:
    return Config(environ={"DJ_IGNORE_CONFIG_FILE": "true", **(environ or {})})


def write(folder: Path, data: dict) -> Path:
    path = folder / "datajoint.json"
    path.write_text(json.dumps(data))
    return path


def test_load_replaces_run_time_values_but_not_the_environment(tmp_path):
    config = fresh({"DJ_HOST": "from-env"})
    config["display.limit"] = 3
    config.load(write(tmp_path, {"display": {"limit": 30}, "database": {"host": "from-file"}}),
                environ={"DJ_HOST": "from-env"})
    assert config["display.limit"] == 30
    assert config["database.host"] == "from-env"
    config["display.limit"] = 5  # a later assignment wins again
    assert config["display.limit"] == 5


@settings(max_examples=30, deadline=None)
@given(before=st.integers(1, 500), in_file=st.integers(1, 500), env=st.integers(1, 500))
def test_environment_beats_file_beats_earlier_assignment(tmp_path_factory, before, in_file,
                                                         env):
    folder = tmp_path_factory.mktemp("cfg")
    environ = {"DJ_PORT": str(env)}
    config = fresh(environ)
    config["display.limit"] = before
    config.load(write(folder, {"database.port": in_file, "display.limit": in_file}),
                environ=environ)
    assert config["display.limit"] == in_file  # no environment variable: the file wins
    assert config["database.port"] == env


def test_load_of_a_missing_file_is_a_file_not_found_error(tmp_path):
    config = fresh()
    with pytest.raises(FileNotFoundError) as caught:
        config.load(tmp_path / "nope.json")
    assert isinstance(caught.value, ConfigFileNotFoundError)
    assert isinstance(caught.value, ConfigError) and "save_template" in str(caught.value)


def test_load_is_all_or_nothing(tmp_path):
    config = fresh()
    with pytest.raises(ConfigError, match="display.limit"):
        config.load(write(tmp_path, {"safemode": False, "display": {"limit": -1}}))
    assert config["safemode"] is True


def test_save_template_writes_a_loadable_file_without_credentials(tmp_path):
    for minimal in (True, False):
        path = tmp_path / f"t{minimal}" / "datajoint.json"
        path.parent.mkdir()
        written = fresh().save_template(path, minimal=minimal, create_secrets_dir=False)
        assert written == path.absolute()
        content = json.loads(path.read_text())
        assert content["database"]["host"] == "localhost"
        assert content["database"]["port"] == 3306
        assert not {"user", "password"} & set(content["database"])
        loaded = fresh()
        loaded.load(path)  # every key of the template is a known, valid setting
        assert loaded["database.backend"] == "mysql"
        if not minimal:
            assert loaded["stores"]["default"] == "main"
            assert not (path.parent / ".secrets").exists()


def test_save_template_secrets_folder_and_refusal_to_overwrite(tmp_path):
    path = tmp_path / "datajoint.json"
    fresh().save_template(path)
    secrets = tmp_path / ".secrets"
    assert (secrets / "database.user").read_text() == "your_username"
    assert "*" in (secrets / ".gitignore").read_text()
    (secrets / "database.password").write_text("real-one\n")
    with pytest.raises(FileExistsError, match="already exists"):
        fresh().save_template(path)
    assert (secrets / "database.password").read_text() == "real-one\n"
    config = fresh()
    config.load(path)  # the secrets next to the file are read, stripped
    assert config["database.password"] == "real-one"
    assert config["database.user"] == "your_username"
    assert "real-one" not in repr(config)


@given(password=st.text(min_size=1, max_size=30))
def test_password_is_held_as_a_secret(password):
    config = fresh()
    config["database.password"] = password
    held = config.database.password
    assert isinstance(held, SecretValue)
    assert held.get_secret_value() == password
    assert config["database.password"] == password  # item access gives the plain string
    assert "**" in repr(held) and "**" in str(held)
    marked = f"pw-{password}-9f3c"  # distinctive, so a leak cannot hide as another word
    config["database.password"] = marked
    assert marked not in repr(config.database.password) and marked not in repr(config)


def test_del_resets_to_the_default():
    config = fresh()
    config["download_path"] = "/somewhere"
    del config["download_path"]
    assert config["download_path"] == "."
    with pytest.raises(ConfigError, match="unknown setting"):
        del config["no.such"]


def test_query_cache_is_a_path_or_none():
    config = fresh()
    assert config["query_cache"] is None
    config.query_cache = "/tmp/cache"
    assert config.query_cache == Path("/tmp/cache")
    config.query_cache = None
    assert config.query_cache is None
    with pytest.raises(ConfigError, match="query_cache"):
        config["query_cache"] = 5


def test_a_datajoint_store_spec_with_stage_is_accepted(tmp_path):
    config = fresh()
    config["stores"] = {"repo-s3": {"protocol": "file", "location": str(tmp_path / "r"),
                                    "stage": str(tmp_path / "stage")}}
    assert config["stores"]["repo-s3"]["stage"] == str(tmp_path / "stage")


def test_module_config_has_the_new_keys():
    for key in ("database.use_tls", "query_cache"):
        assert key in dj.config


def test_config_file_and_secret_helpers(tmp_path, monkeypatch):
    from dj_jupyter import settings as module

    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "sub").mkdir()
    (project / module.CONFIG_FILENAME).write_text("{}")
    assert module.find_config_file(project / "sub") == project / "datajoint.json"
    monkeypatch.chdir(project / "sub")
    assert module.find_config_file() == project / "datajoint.json"
    secrets = project / module.SECRETS_DIRNAME
    secrets.mkdir()
    (secrets / "database.user").write_text(" alice\n")
    assert module.find_secrets_dir(project / "datajoint.json") == secrets
    assert module.read_secret_file(secrets, "database.user") == "alice"
    assert module.read_secret_file(secrets, "database.password") is None
    assert module.read_secret_file(None, "database.user") is None
