"""DataJoint 2.x's settings API beyond keys: ``config.get_store_spec``, stores changed in
place, ``DatabaseSettings``, ``ENV_VAR_MAPPING``, ``dj.config`` under ``DJ_THREAD_SAFE`` and
the port ``dj.Instance`` picks for a backend."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.errors import ConfigError, ConnectionError_, ThreadSafetyError
from dj_jupyter.settings import (
    DEFAULT_PORTS,
    ENV_VAR_MAPPING,
    SETTINGS,
    STORE_LAYOUT_DEFAULTS,
    Config,
    DatabaseSettings,
    SecretValue,
)


def fresh(environ: dict[str, str] | None = None) -> Config:
    return Config(environ={"DJ_IGNORE_CONFIG_FILE": "true", **(environ or {})})


# --- get_store_spec ---------------------------------------------------------------------------


def test_store_spec_fills_the_layout_defaults_and_keeps_the_given_keys():
    config = fresh()
    config["stores"] = {"raw": {"protocol": "file", "location": "/data/raw", "token_length": 12}}
    spec = config.get_store_spec("raw")
    assert spec == {**STORE_LAYOUT_DEFAULTS, "protocol": "file", "location": "/data/raw",
                    "token_length": 12}


def test_store_spec_follows_the_default_pointers():
    config = fresh()
    config["stores"] = {"default": "a", "filepath_default": "b",
                        "a": {"protocol": "file", "location": "/a"},
                        "b": {"protocol": "file", "location": "/b"},
                        "c": {"protocol": "file", "location": "/c"}}
    assert config.get_store_spec()["location"] == "/a"
    assert config.get_store_spec(None, use_filepath_default=True)["location"] == "/b"
    assert config.get_store_spec("c", use_filepath_default=True)["location"] == "/c"


@pytest.mark.parametrize(("stores", "name", "filepath", "fix"), [
    ({}, None, False, "stores.default is not configured; set dj.config['stores']['default']"),
    ({"a": {"protocol": "file", "location": "/a"}}, None, True,
     "stores.filepath_default is not configured"),
    ({}, "lab", False, "store 'lab' is not configured (stores: none); add it"),
])
def test_store_spec_of_an_unconfigured_store_names_the_fix(stores, name, filepath, fix):
    config = fresh()
    config["stores"] = stores
    with pytest.raises(ConfigError) as failure:
        config.get_store_spec(name, use_filepath_default=filepath)
    assert fix in str(failure.value)


def test_a_store_changed_in_place_is_checked_where_it_is_used():
    """As in DataJoint, ``config.stores`` is the live mapping: changes in place are kept and
    checked by get_store_spec (and so by every store use), naming the missing key."""
    config = fresh()
    config.stores["s3"] = {"protocol": "s3", "location": "x", "secret_key": "hidden-value"}
    config.stores["disk"] = {"protocol": "file"}
    assert set(config["stores"]) == {"s3", "disk"}
    for name, missing in (("s3", "bucket"), ("disk", "location")):
        with pytest.raises(ConfigError, match=f"store '{name}' is missing '{missing}'") as failure:
            config.get_store_spec(name)
        assert "hidden-value" not in str(failure.value)


def test_mutable_defaults_are_owned_by_each_config():
    first, second = fresh(), fresh()
    first.stores["x"] = {"protocol": "file", "location": "/x"}
    assert second.stores == {} and SETTINGS["stores"].default == {}
    del first["stores"]
    assert first.stores == {} and SETTINGS["stores"].default == {}
    first.stores["y"] = {"protocol": "file", "location": "/y"}
    first.reset()
    assert first.stores == {}


folder = st.lists(st.sampled_from(["a", "b", "ab"]), min_size=1, max_size=3).map("/".join)


@given(hash_prefix=folder, schema_prefix=folder)
def test_prefixes_are_refused_exactly_when_one_folder_holds_the_other(hash_prefix,
                                                                      schema_prefix):
    config = fresh()
    config.stores["s"] = {"protocol": "file", "location": "/s", "hash_prefix": hash_prefix,
                          "schema_prefix": schema_prefix}
    nested = (hash_prefix == schema_prefix or hash_prefix.startswith(schema_prefix + "/")
              or schema_prefix.startswith(hash_prefix + "/"))
    if nested:
        with pytest.raises(ConfigError, match="overlap; they are mutually exclusive"):
            config.get_store_spec("s")
    else:
        spec = config.get_store_spec("s")
        assert (spec["hash_prefix"], spec["schema_prefix"]) == (hash_prefix, schema_prefix)


# --- DatabaseSettings and ENV_VAR_MAPPING ---------------------------------------------------


@pytest.mark.parametrize(("environ", "backend", "port"), [
    ({}, "sqlite", None),
    ({"DJ_BACKEND": "mysql"}, "mysql", 3306),
    ({"DJ_BACKEND": "postgresql"}, "postgresql", 5432),
    ({"DJ_BACKEND": "postgresql", "DJ_PORT": "9999"}, "postgresql", 9999),
    ({"DJ_BACKEND": "mysql", "DJ_PORT": "3307"}, "mysql", 3307),
])
def test_database_settings_take_the_port_from_the_backend(environ, backend, port):
    settings = DatabaseSettings(environ=environ)
    assert (settings.backend, settings.port) == (backend, port)


def test_database_settings_are_checked_and_keep_their_port():
    settings = DatabaseSettings(environ={"DJ_BACKEND": "mysql", "DJ_DATABASE_NAME": "lab",
                                         "DJ_PASS": "pw"})
    assert settings.name == "lab"
    assert isinstance(settings.password, SecretValue) and "pw" not in repr(settings)
    settings.backend = "postgresql"
    assert settings.port == 3306  # decided when made, as in DataJoint
    with pytest.raises(ConfigError, match="'database.port'"):
        settings.port = "not a port"
    with pytest.raises(ConfigError, match="unknown database setting 'colour'"):
        settings.colour = "red"
    with pytest.raises(ConfigError, match="'database.backend' in DJ_BACKEND"):
        DatabaseSettings(environ={"DJ_BACKEND": "oracle"})


@pytest.mark.parametrize(("key", "text", "value"), [
    ("database.backend", "postgresql", "postgresql"), ("database.port", "6543", 6543),
    ("database.name", "lab", "lab"), ("loglevel", "ERROR", "ERROR"),
    ("display.diagram_theme", "dark", "dark"), ("jobs.keep_completed", "true", True),
])
def test_env_var_mapping_names_the_variable_config_reads(key, text, value):
    assert fresh({ENV_VAR_MAPPING[key]: text})[key] == value


# --- dj.config under DJ_THREAD_SAFE -----------------------------------------------------------


def test_thread_safe_mode_turns_the_global_config_off(monkeypatch, tmp_path):
    monkeypatch.setenv("DJ_THREAD_SAFE", "true")
    for use in (lambda: dj.config.database, lambda: dj.config["safemode"],
                lambda: setattr(dj.config, "safemode", False),
                lambda: dj.config.__setitem__("safemode", False),
                lambda: dj.config.get_store_spec("x"), lambda: "safemode" in dj.config):
        with pytest.raises(ThreadSafetyError, match="dj.Instance"):
            use()
    assert "DJ_THREAD_SAFE" in repr(dj.config)
    assert {"override", "get_store_spec", "load"} <= set(dir(dj.config))  # completion works
    assert getattr(dj.config, "_repr_html_", None) is None  # display probes do not raise
    dj.config.save_template(tmp_path / "datajoint.json", create_secrets_dir=False)
    assert (tmp_path / "datajoint.json").exists()
    with pytest.raises(ThreadSafetyError):
        dj.FreeTable("lab.subject")
    monkeypatch.setenv("DJ_THREAD_SAFE", "false")
    assert isinstance(dj.config.database.host, str)


# --- dj.Instance's port -----------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["mysql", "postgresql"])
def test_instance_uses_the_backends_port_unless_the_config_is_for_that_backend(backend,
                                                                             monkeypatch):
    """The configured port belongs to the configured backend; another backend asked for by
    ``backend=`` gets its own default port (the host does not resolve: nothing is reached)."""
    other = {"mysql": "postgresql", "postgresql": "mysql"}[backend]
    monkeypatch.setenv("DJ_IGNORE_CONFIG_FILE", "true")
    monkeypatch.setenv("DJ_BACKEND", other)
    monkeypatch.setenv("DJ_PORT", "4444")
    for chosen, port in ((backend, DEFAULT_PORTS[backend]), (other, 4444)):
        with pytest.raises(ConnectionError_, match=f"@nohost.invalid:{port}"):
            dj.Instance("nohost.invalid", "user", "secret", backend=chosen)
    with pytest.raises(ConnectionError_, match="@nohost.invalid:4545"):
        dj.Instance("nohost.invalid", "user", "secret", backend=backend, database__port=4545)


# --- templates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("minimal", [True, False])
def test_a_saved_template_loads_back(tmp_path, minimal):
    """DataJoint's templates (the full one has a 'connection' group) are valid configs."""
    path = fresh().save_template(tmp_path / "datajoint.json", minimal=minimal,
                                 create_secrets_dir=False)
    config = fresh()
    config.load(path, environ={})
    assert config["database.backend"] == "mysql" and config["database.port"] == 3306
    assert minimal or config["connection.charset"] == ""


# --- the exception and secret classes DataJoint code catches and checks --------------------


def test_refused_settings_are_value_errors_and_pydantic_validation_errors():
    """DataJoint raises pydantic's ValidationError (a ValueError); ours is both, and still a
    ConfigError. The password read by attribute is also pydantic's SecretStr."""
    import pydantic

    config = fresh()
    for key, value in (("database.port", "not a port"), ("loglevel", "LOUD"),
                       ("fetch_format", "array")):
        with pytest.raises(pydantic.ValidationError) as failure:
            config[key] = value
        assert isinstance(failure.value, ConfigError) and isinstance(failure.value, ValueError)
        assert key in str(failure.value)
    config["database.password"] = "s3cret"
    password = config.database.password
    assert isinstance(password, pydantic.SecretStr) and isinstance(password, SecretValue)
    assert password.get_secret_value() == "s3cret" and "s3cret" not in repr(password)
    assert config["database.password"] == "s3cret"


def test_without_pydantic_loaded_nothing_imports_it(tmp_path):
    """Where nobody imported pydantic, the errors are plain ConfigValueErrors and pydantic
    stays unloaded (import dj_jupyter stays light)."""
    code = """
import sys
import dj_jupyter as dj
from dj_jupyter.errors import ConfigValueError
try:
    dj.config["database.port"] = "x"
except ConfigValueError as error:
    assert type(error) is ConfigValueError and isinstance(error, ValueError), type(error)
dj.config["database.password"] = "pw"
assert type(dj.config.database.password).__name__ == "SecretValue"
assert "pydantic" not in sys.modules and "pydantic_core" not in sys.modules
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, env={**os.environ, "DJ_IGNORE_CONFIG_FILE": "true"})
    assert result.stdout.strip() == "ok", result.stderr
