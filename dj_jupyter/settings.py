"""``dj.config``: documented settings read from defaults, ``datajoint.json`` and the environment.

Precedence, highest first: values assigned at run time, environment variables,
the nearest ``datajoint.json`` (searched from the working directory upwards,
stopping at a ``.git`` folder), then the defaults below. ``config.load(file)`` later
replaces the run-time values of the keys it holds (the environment still wins), as in
DataJoint. Every key is validated when it is set; unknown keys are refused with the list of
known ones.

Long module: the table of documented settings is most of it, and each setting's validator
sits beside it; the store-specification check (``get_store_spec``), DataJoint's
``DatabaseSettings`` and ``dj.config``'s thread-safe face (:class:`GlobalConfig`) read that
table and belong with it.

Keys are dotted (``config["database.host"]``) and also reachable as attributes
(``config.database.host``). ``with config.override(safemode=False,
database__host="db"):`` changes settings for one block. Passwords never appear
in a ``repr``, a log line or an error message.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import math
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError, ConfigFileNotFoundError, ConfigValueError, ThreadSafetyError

__all__ = [
    "SecretValue", "Config", "config", "SECRET_KEYS", "CONFIG_FILENAME", "SECRETS_DIRNAME",
    "find_config_file", "find_secrets_dir", "read_secret_file", "DatabaseSettings",
    "ENV_VAR_MAPPING", "DEFAULT_PORTS", "store_spec", "STORE_LAYOUT_DEFAULTS", "GlobalConfig",
    "global_config", "thread_safe_mode", "invalid_setting", "secret_value"]

BACKENDS = ("sqlite", "postgresql", "mysql")
SECRET_KEYS = frozenset({"database.password"})


def _choice(*options: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = str(value).lower()
        if text not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return text

    return check


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _whole_number(value: Any) -> int:
    """An int from an int or its decimal text (``"5"``); 1.5, True or "x" are refused."""
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise ValueError("must be a whole number")
    if isinstance(value, str):
        value = value.strip()
        if not value.lstrip("+-").isdigit():
            raise ValueError("must be a whole number")
    return int(value)


def _int_between(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        number = _whole_number(value)
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}")
        return number

    return check


def _seconds(*, zero: bool) -> Callable[[Any], float]:
    """A finite number of seconds, more than zero (or zero too when ``zero``)."""
    def check(value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError("must be a number of seconds")
        number = float(value)
        if not math.isfinite(number) or number < 0 or (number == 0 and not zero):
            raise ValueError("must be a finite number of seconds, " +
                             ("zero or more" if zero else "more than zero"))
        return number

    return check


def _optional_port(value: Any) -> int | None:
    return None if value in (None, "") else _int_between(1, 65535)(value)


def _host(value: Any) -> str:
    """A host name, optionally ``host:port`` (split into database.port when set)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a host name such as 'localhost' or 'db.example.org:3306'")
    if value.count(":") == 1:
        name, port = value.split(":")
        if not name:
            raise ValueError("names no host before ':'")
        try:
            _optional_port(port)
        except ValueError:
            raise ValueError(f"port {port!r} after ':' must be a number from 1 to 65535") \
                from None
    return value


def _tls(value: Any) -> bool | dict | None:
    """``database.use_tls``: None (driver default), True/False, or the driver's TLS options."""
    if value is None or value == "" or isinstance(value, Mapping):
        return None if value in (None, "") else dict(value)
    return _boolean(value)


def _optional_path(value: Any) -> Path | None:
    if value is None or value == "":
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise ValueError("must be a folder path or None")
    return Path(value)


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _version_method(value: Any) -> str:
    """'code', 'git' or 'none' (None, as DataJoint's default, means 'none')."""
    return "none" if value is None else _choice("code", "git", "none")(value)


def _provenance_source(value: Any) -> dict:
    """A JSON-serialisable mapping (JSON text from the environment)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError("must be JSON: a mapping such as {\"system\": \"PyRat\"}") from None
    if not isinstance(value, Mapping):
        raise ValueError("must be a mapping such as {'system': 'PyRat'}")
    try:
        json.dumps(dict(value), default=str)
    except (TypeError, ValueError) as error:
        raise ValueError(f"must be JSON-serialisable (it is stored with every row): "
                         f"{error}") from None
    return dict(value)


def _log_level(value: Any) -> str:
    return _choice("debug", "info", "warning", "error", "critical")(value).upper()


def _positive_int(value: Any) -> int:
    number = _whole_number(value)
    if number < 1:
        raise ValueError("must be a positive integer")
    return number


LAYOUT_KEYS = {"subfolding", "partition_pattern", "token_length", "hash_prefix",
               "schema_prefix", "filepath_prefix"}
# what a store's layout is when its specification does not say (as DataJoint 2.x)
STORE_LAYOUT_DEFAULTS = {"subfolding": None, "partition_pattern": None, "token_length": 8,
                         "hash_prefix": "_hash", "schema_prefix": "_schema",
                         "filepath_prefix": None}
# "stage": a local staging folder in DataJoint's store specs; accepted so that DataJoint
# configurations load, and unused (DataJoint 2.x does not use it either).
LEGACY_STORE_KEYS = {"stage"}
STORE_KEYS = {
    "file": {"protocol", "location"} | LAYOUT_KEYS | LEGACY_STORE_KEYS,
    "s3": {"protocol", "location", "bucket", "endpoint", "access_key", "secret_key", "secure",
           "options"} | LAYOUT_KEYS | LEGACY_STORE_KEYS,
}
OTHER_STORE_KEYS = {"protocol", "location", "options"} | LAYOUT_KEYS | LEGACY_STORE_KEYS
STORE_SECRETS = frozenset({"access_key", "secret_key", "token", "account_key",
                           "connection_string", "password"})
SECRETS_FOLDERS = (Path("/run/secrets/datajoint"),)  # besides .secrets/ next to datajoint.json


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    if lowered in LAYOUT_KEYS:
        return False
    return lowered in STORE_SECRETS or any(w in lowered for w in ("secret", "password", "token"))


def parse_partition_pattern(pattern: Any) -> tuple[str, ...]:
    """``"subject_id/session"`` (or ``"{subject_id}/{session}"``, or a list) → attribute names."""
    if pattern in (None, ""):
        return ()
    items = pattern.split("/") if isinstance(pattern, str) else list(pattern)
    names = tuple(str(item).strip().strip("{}").strip() for item in items if str(item).strip())
    bad = [n for n in names if not n.isidentifier()]
    if bad:
        raise ValueError(f"partition_pattern names attributes, e.g. 'subject_id/session'; "
                         f"{', '.join(map(repr, bad))} is not an attribute name")
    return names


def _store_prefix(name: str, key: str, value: Any) -> str:
    text = str(value).strip().strip("/")
    parts = text.split("/")
    if not text or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"store {name!r}: {key} must be a relative folder such as '_hash', "
                         f"not {text!r}")
    return text


def _check_layout(name: str, spec: dict) -> None:
    """Validate the layout keys of one store (reference §3); prefixes may not overlap."""
    folding = spec.get("subfolding")
    if folding is not None:
        if not isinstance(folding, (list, tuple)) or not all(
                isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 8 for n in folding) \
                or sum(folding) > 16:
            raise ValueError(f"store {name!r}: subfolding must be a list of folder name widths "
                             "such as [2, 2] (each 1..8, 16 characters at most)")
    if "token_length" in spec:
        try:
            int(spec["token_length"])
        except (TypeError, ValueError):
            raise ValueError(f"store {name!r}: token_length must be an integer (4..16)") from None
    try:
        parse_partition_pattern(spec.get("partition_pattern"))
    except ValueError as error:
        raise ValueError(f"store {name!r}: {error}") from None
    prefixes = {key: _store_prefix(name, key, spec.get(key, default))
                for key, default in (("hash_prefix", "_hash"), ("schema_prefix", "_schema"),
                                     ("filepath_prefix", None))
                if spec.get(key, default) is not None}
    for first, one in prefixes.items():
        for second, two in prefixes.items():
            if first < second and (one == two or one.startswith(two + "/")
                                   or two.startswith(one + "/")):
                raise ValueError(f"store {name!r}: {first} ({one!r}) and {second} ({two!r}) "
                                 "overlap; they are mutually exclusive: give each its own "
                                 "folder")


def secrets_folders() -> list[Path]:
    """Where secret files are looked for: ``.secrets/`` next to the loaded datajoint.json,
    then ``/run/secrets/datajoint/``."""
    folders = []
    if config.source is not None:
        folders.append(Path(config.source).parent / ".secrets")
    return folders + list(SECRETS_FOLDERS)


def with_store_secrets(name: str, spec: Mapping[str, Any]) -> dict:
    """The store's spec completed from files ``stores.<name>.<attr>`` in the secrets folders
    (values in the configuration win). The values are never shown or saved."""
    merged = dict(spec)
    allowed = STORE_KEYS.get(str(spec.get("protocol")), OTHER_STORE_KEYS)
    for folder in secrets_folders():
        prefix = f"stores.{name}."
        try:
            entries = sorted(folder.iterdir()) if folder.is_dir() else []
        except OSError:
            continue
        for entry in entries:
            attribute = entry.name[len(prefix):]
            if entry.name.startswith(prefix) and attribute in allowed \
                    and attribute not in merged and entry.is_file():
                merged[attribute] = entry.read_text().strip()
    return merged


def mask_stores(value: Any) -> Any:
    """The stores configuration with every credential replaced by ``***``."""
    if not isinstance(value, Mapping):
        return value
    return {k: ("***" if _is_secret(str(k)) and v else mask_stores(v)) for k, v in value.items()}


def _stores(value: Any) -> dict:
    """Check the object-store configuration; error messages name keys, never values."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError("must be JSON: a mapping of store names to specifications") from None
    if not isinstance(value, Mapping):
        raise ValueError("must be a mapping of store names to store specifications")
    stores = dict(value)
    names = [n for n in stores if n not in ("default", "filepath_default")]
    for pointer in ("default", "filepath_default"):
        if pointer in stores and stores[pointer] not in names:
            raise ValueError(f"{pointer!r} names store {stores[pointer]!r}, which is not "
                             f"configured (stores: {', '.join(names) or 'none'})")
    for name in names:
        stores[name] = _checked_store(name, stores[name])
    return stores


def _checked_store(name: str, spec: Any) -> dict:
    """One store's specification, checked (ValueError names the key, never a value)."""
    if name == "gc_grace_seconds":
        raise ValueError("gc_grace_seconds is a setting of its own: set "
                         "dj.config['stores.gc_grace_seconds']")
    if not isinstance(spec, Mapping) or "protocol" not in spec:
        raise ValueError(f"store {name!r} is missing its 'protocol': a store is a mapping with "
                         "a 'protocol' (file, s3 or another fsspec protocol) and a 'location'")
    protocol = str(spec["protocol"])
    allowed = STORE_KEYS.get(protocol, OTHER_STORE_KEYS)
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ValueError(f"store {name!r}: unknown key(s) {', '.join(unknown)} for protocol "
                         f"{protocol!r}; known keys: {', '.join(sorted(allowed))}"
                         + ("; pass fsspec arguments in 'options'"
                            if "options" in allowed else ""))
    if protocol == "s3" and not spec.get("bucket"):
        raise ValueError(f"store {name!r} is missing 'bucket': an s3 store needs one")
    if protocol == "file" and not spec.get("location"):
        raise ValueError(f"store {name!r} is missing 'location': a file store needs a folder")
    if "options" in spec and not isinstance(spec["options"], Mapping):
        raise ValueError(f"store {name!r}: 'options' must be a mapping")
    _check_layout(name, dict(spec))
    return dict(spec)


def store_spec(stores: Mapping[str, Any], store: str | None = None, *,
               use_filepath_default: bool = False) -> dict:
    """The checked specification of one configured store, its layout defaults filled in.

    ``store=None`` means the store ``stores['default']`` names (``stores['filepath_default']``
    with ``use_filepath_default``, for ``<filepath@>``). Raises :class:`ConfigError` naming
    the fix when the store is not configured or its specification is incomplete.
    """
    if store is None:
        pointer = "filepath_default" if use_filepath_default else "default"
        if pointer not in stores:
            raise ConfigError(f"stores.{pointer} is not configured; set "
                              f"dj.config['stores']['{pointer}'] to a store name, or name the "
                              f"store in the type (e.g. <blob@name>)")
        store = stores[pointer]
        if not isinstance(store, str):
            raise ConfigError(f"stores.{pointer} must be a store name (a string), not "
                              f"{type(store).__name__}")
    names = [n for n in stores if n not in ("default", "filepath_default")]
    if store not in names:
        raise ConfigError(f"store {store!r} is not configured (stores: "
                          f"{', '.join(names) or 'none'}); add it to dj.config['stores'], e.g. "
                          f"{{'{store}': {{'protocol': 'file', 'location': '/path/to/folder'}}}}")
    try:
        spec = _checked_store(store, stores[store])
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return {**STORE_LAYOUT_DEFAULTS, **spec}




@dataclass(frozen=True)
class Setting:
    default: Any
    parse: Callable[[Any], Any]
    env: str | None
    doc: str


SETTINGS: dict[str, Setting] = {
    "database.backend": Setting("sqlite", _choice(*BACKENDS), "DJ_BACKEND",
                                "sqlite (embedded default), postgresql or mysql"),
    "database.host": Setting("localhost", _host, "DJ_HOST", "server host (host:port accepted)"),
    "database.port": Setting(None, _optional_port, "DJ_PORT", "server port; default per backend"),
    "database.user": Setting(None, _optional_str, "DJ_USER", "user name"),
    "database.password": Setting(None, _optional_str, "DJ_PASS", "password (never printed)"),
    "database.name": Setting(None, _optional_str, "DJ_DATABASE_NAME",
                             "PostgreSQL database holding the schemas (default: the user name)"),
    "database.use_tls": Setting(None, _tls, "DJ_USE_TLS",
                                "TLS to the server: None (driver default), True, False, or a "
                                "dict of the driver's TLS options"),
    "database.path": Setting("datajoint.db", str, "DJ_DATABASE_PATH",
                             "SQLite file, relative to the working directory"),
    "database.reconnect": Setting(True, _boolean, "DJ_RECONNECT",
                                  "reconnect a dropped connection outside transactions"),
    "database.create_tables": Setting(True, _boolean, "DJ_CREATE_TABLES",
                                      "declare missing tables on @schema (False: production mode)"),
    "database.fast_paths": Setting(True, _boolean, "DJ_FAST_PATHS",
                                   "round-trip savers (chained commits, COMMIT sent with the last "
                                   "statement, PostgreSQL pipeline, MySQL binary protocol); "
                                   "False: the plain path"),
    "connection.charset": Setting("", str, None,
                                  "MySQL connection character set ('': utf8mb4, the tables' "
                                  "own; DataJoint passes it to PyMySQL too); unused elsewhere"),
    "safemode": Setting(True, _boolean, "DJ_SAFEMODE", "confirm before delete and drop"),
    "loglevel": Setting("INFO", _log_level, "DJ_LOG_LEVEL",
                        "log level (DEBUG, INFO, WARNING, ERROR, CRITICAL)"),
    "download_path": Setting(".", str, "DJ_DOWNLOAD_PATH", "where attachments are written"),
    "query_cache": Setting(None, _optional_path, None,
                           "folder of the query cache (a Path or None; used while "
                           "conn.set_query_cache(name) is on)"),
    "display.limit": Setting(12, _positive_int, None, "rows shown in previews"),
    "display.width": Setting(14, _positive_int, None, "column width of the text preview"),
    "display.show_tuple_count": Setting(True, _boolean, None, "show the total row count"),
    "display.diagram_direction": Setting("LR", _choice("lr", "tb"), "DJ_DIAGRAM_DIRECTION",
                                         "diagram layout direction"),
    "display.diagram_theme": Setting("auto", _choice("auto", "light", "dark"),
                                     "DJ_DIAGRAM_THEME", "diagram colours"),
    "stores": Setting({}, _stores, "DJ_STORES", "object stores (see the codec docs)"),
    "stores.gc_grace_seconds": Setting(3600.0, _seconds(zero=True), "DJ_GC_GRACE_SECONDS",
                                       "schema.gc() never removes objects younger than this "
                                       "(they may belong to an insert in flight)"),
    "jobs.auto_refresh": Setting(True, _boolean, "DJ_JOBS_AUTO_REFRESH",
                                 "refresh the job queue when populate(reserve_jobs=True) starts"),
    "jobs.default_priority": Setting(5, _int_between(0, 127), "DJ_JOBS_DEFAULT_PRIORITY",
                                     "priority of new jobs, 0..127 (lower runs first)"),
    "jobs.heartbeat_interval": Setting(5.0, _seconds(zero=False), "DJ_JOBS_HEARTBEAT_INTERVAL",
                                       "seconds between a worker's heartbeats on its job"),
    "jobs.heartbeat_timeout": Setting(30.0, _seconds(zero=True), "DJ_JOBS_HEARTBEAT_TIMEOUT",
                                      "silence after which another host's reserved job is "
                                      "re-queued"),
    "jobs.stale_timeout": Setting(3600.0, _seconds(zero=True), "DJ_JOBS_STALE_TIMEOUT",
                                  "jobs.refresh() removes waiting jobs older than this whose "
                                  "key left key_source (0: never by age), as in DataJoint"),
    "populate.stage_writes": Setting(True, _boolean, "DJ_POPULATE_STAGE_WRITES",
                                     "on SQLite, a make's inserts wait for its end, so that "
                                     "makes of several workers compute at once"),
    "jobs.allow_new_pk_fields_in_computed_tables": Setting(
        True, _boolean, "DJ_JOBS_ALLOW_NEW_PK_FIELDS_IN_COMPUTED_TABLES",
        "accept Computed/Imported primary-key attributes not from foreign keys, as DataJoint "
        "does (its default reads False but it never enforces the rule); False: refuse them"),
    "jobs.keep_completed": Setting(False, _boolean, "DJ_JOBS_KEEP_COMPLETED",
                                   "keep a 'success' job record per made key (False: a "
                                   "finished job's record is removed, as in DataJoint)"),
    "jobs.add_job_metadata": Setting(False, _boolean, "DJ_JOBS_ADD_JOB_METADATA",
                                     "declare Computed/Imported tables with the hidden columns "
                                     "_job_start_time, _job_duration, _job_version, which "
                                     "populate fills per row"),
    "jobs.version_method": Setting("code", _version_method, "DJ_JOBS_VERSION_METHOD",
                                   "the code version recorded with jobs and rows: 'code' (a "
                                   "hash of make plus the git commit), 'git' (the commit, as "
                                   "DataJoint), 'none' (empty)"),
    "provenance.capture": Setting(False, _boolean, "DJ_PROVENANCE_CAPTURE",
                                  "declare Manual tables with the hidden _prov column and fill "
                                  "it on insert (who, where, when, which make)"),
    "provenance.source": Setting({}, _provenance_source, "DJ_PROVENANCE_SOURCE",
                                 "the external system rows of this process come from, "
                                 "recorded in _prov, e.g. {'system': 'PyRat'}"),
}


ENV_VAR_MAPPING: dict[str, str] = {key: s.env for key, s in SETTINGS.items() if s.env}
DEFAULT_PORTS = {"mysql": 3306, "postgresql": 5432}  # a server backend's port when none is set


def _parsed(key: str, value: Any, source: str | None = None) -> Any:
    """``value`` checked for the known setting ``key``; ConfigError (secrets masked) if not."""
    try:
        return SETTINGS[key].parse(value)
    except (TypeError, ValueError, OverflowError) as error:
        shown = "***" if key in SECRET_KEYS or key == "stores" else repr(value)
        where = f" in {source}" if source else ""
        raise invalid_setting(f"invalid value {shown} for {key!r}{where}: {error}") from None


def invalid_setting(message: str) -> ConfigValueError:
    """The error for a refused setting: a :class:`ConfigValueError` (a ``ValueError``) and,
    once pydantic is imported, also a ``pydantic.ValidationError``: what DataJoint raises, so
    ``except ValidationError`` written for DataJoint still catches it. pydantic is never
    imported for this (whoever names its class has loaded it)."""
    if "pydantic_core" in sys.modules:
        return _pydantic_flavoured()[0](message)
    return ConfigValueError(message)


def secret_value(value: str) -> SecretValue:
    """A secret as read by attribute: a :class:`SecretValue`, and also a ``pydantic.SecretStr``
    (DataJoint's type) once pydantic is imported."""
    if "pydantic" in sys.modules:
        return _pydantic_flavoured()[1](value)
    return SecretValue(value)


@functools.cache
def _pydantic_flavoured() -> tuple[type[ConfigValueError], type[SecretValue]]:
    """Our error and secret classes, also pydantic's (made once, when pydantic is loaded)."""
    from pydantic import SecretStr
    from pydantic_core import ValidationError

    class ConfigValidationError(ConfigValueError, ValidationError):
        """A ConfigValueError that is also pydantic's ValidationError (no line errors)."""

        def __new__(cls, message: str) -> ConfigValidationError:
            return ValidationError.__new__(cls, message, [])

        def __init__(self, message: str):
            Exception.__init__(self, message)

        def __str__(self) -> str:
            return Exception.__str__(self)

        def __repr__(self) -> str:
            return f"{type(self).__name__}({str(self)!r})"

    class PydanticSecretValue(SecretValue, SecretStr):
        """A SecretValue that is also pydantic's SecretStr."""

        def __init__(self, value: str):
            SecretValue.__init__(self, value)
            SecretStr.__init__(self, value)

        __repr__ = SecretValue.__repr__
        __str__ = SecretValue.__str__
        __eq__ = SecretValue.__eq__
        __hash__ = SecretValue.__hash__

    return ConfigValidationError, PydanticSecretValue


class DatabaseSettings:
    """The ``database.*`` settings on their own, from keyword values, the environment
    (``DJ_HOST``, ``DJ_BACKEND``, ...) and the defaults, as DataJoint's ``DatabaseSettings``.

    ``port`` left unset is the backend's default (3306, 5432; None for SQLite), decided once
    when made: changing ``backend`` later keeps the port. Values are checked when set.
    """

    def __init__(self, *, environ: Mapping[str, str] | None = None, **values: Any):
        environ = os.environ if environ is None else environ
        unknown = sorted(set(values) - set(self._names()))
        if unknown:
            raise ConfigError(f"unknown database setting(s) {', '.join(unknown)}; known: "
                              f"{', '.join(self._names())}")
        found: dict[str, Any] = {}
        for name in self._names():
            setting = SETTINGS["database." + name]
            if name in values:
                found[name] = _parsed("database." + name, values[name])
            elif setting.env and setting.env in environ:
                found[name] = _parsed("database." + name, environ[setting.env], setting.env)
            else:
                found[name] = setting.default
        if found["port"] is None:
            found["port"] = DEFAULT_PORTS.get(found["backend"])
        object.__setattr__(self, "_values", found)

    @staticmethod
    def _names() -> list[str]:
        return [k.split(".", 1)[1] for k in SETTINGS if k.startswith("database.")]

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        if name not in values:
            raise AttributeError(f"no database setting {name!r}; known: "
                                 f"{', '.join(self._names())}")
        value = values[name]
        return secret_value(value) if name == "password" and value is not None else value

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._values:
            raise ConfigError(f"unknown database setting {name!r}; known: "
                              f"{', '.join(self._names())}")
        self._values[name] = _parsed("database." + name, value)

    def __repr__(self) -> str:
        shown = {k: ("***" if k == "password" and v else v) for k, v in self._values.items()}
        return f"DatabaseSettings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


class SecretValue:
    """A secret read as ``dj.config.database.password``: masked when shown, like DataJoint's
    ``SecretStr``; ``get_secret_value()`` gives it (``dj.config["database.password"]`` too)."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "SecretStr('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SecretValue):
            return other._value == self._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


class _Section:
    """Attribute view of one dotted prefix, e.g. ``config.database``."""

    def __init__(self, owner: Config, prefix: str):
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_prefix", prefix)

    def __getattr__(self, name: str) -> Any:
        key = f"{self._prefix}.{name}"
        value = self._owner[key]
        return secret_value(value) if key in SECRET_KEYS and value is not None else value

    def __setattr__(self, name: str, value: Any) -> None:
        self._owner[f"{self._prefix}.{name}"] = value

    def __repr__(self) -> str:
        keys = [k for k in SETTINGS if k.startswith(self._prefix + ".")]
        return "{" + ", ".join(f"{k.split('.', 1)[1]}: {self._owner._shown(k)}" for k in keys) + "}"


class Config:
    """Validated settings; see the module docstring for sources and precedence."""

    def __init__(self, *, environ: Mapping[str, str] | None = None, file: Path | None = None):
        self._runtime: dict[str, Any] = {}
        self._loaded: dict[str, Any] = {}
        self._own_defaults: dict[str, Any] = {}  # this config's copies of mutable defaults
        self.source: Path | None = None
        environ = os.environ if environ is None else environ
        if not _boolean(environ.get("DJ_IGNORE_CONFIG_FILE", "false")):
            path = file if file is not None else find_config_file(Path.cwd())
            if path is not None:
                self.load(path)
        for key, setting in SETTINGS.items():
            if setting.env and setting.env in environ:
                self._loaded[key] = self._validated(key, environ[setting.env])
        self._split_host_port()

    # -- access ---------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        self._known(key)
        if key in self._runtime:
            return self._runtime[key]
        if key in self._loaded:
            return self._loaded[key]
        default = SETTINGS[key].default
        if isinstance(default, (dict, list)):  # a copy this config owns, changed in place
            return self._own_defaults.setdefault(key, copy.deepcopy(default))
        return default

    def __setitem__(self, key: str, value: Any) -> None:
        self._runtime[key] = self._validated(key, value)
        if key == "database.host":
            self._split_host_port()

    def __delitem__(self, key: str) -> None:
        """Back to the default value (as DataJoint's ``del dj.config[key]``)."""
        self._known(key)
        self._runtime[key] = copy.deepcopy(SETTINGS[key].default)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in SETTINGS:
            return self[name]
        if any(k.startswith(name + ".") for k in SETTINGS):
            return _Section(self, name)
        raise AttributeError(f"dj.config has no setting {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") or name == "source":
            object.__setattr__(self, name, value)
        else:
            self[name] = value

    def __contains__(self, key: object) -> bool:
        return key in SETTINGS

    def __iter__(self) -> Iterator[str]:
        return iter(SETTINGS)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in SETTINGS else default

    def get_store_spec(self, store: str | None = None, *,
                       use_filepath_default: bool = False) -> dict:
        """The checked specification of a configured store, layout defaults filled in.

        As DataJoint's: ``store=None`` is ``stores['default']`` (``stores['filepath_default']``
        with ``use_filepath_default``). Stores changed in place (``config.stores['x'] = ...``)
        are checked here, where they are used.
        """
        return store_spec(self["stores"], store, use_filepath_default=use_filepath_default)

    def update(self, values: Mapping[str, Any]) -> None:
        """Set several keys at once; none are set when one is invalid."""
        checked = {key: self._validated(key, value) for key, value in _flatten(values).items()}
        self._runtime.update(checked)
        self._split_host_port()

    def load(self, path: str | Path, *, environ: Mapping[str, str] | None = None) -> None:
        """Read settings from a ``datajoint.json`` file (nested or dotted keys).

        As in DataJoint: the file's values replace those set before at run time, an
        environment variable still wins over the file, ``.secrets/database.user`` and
        ``.secrets/database.password`` next to the file are read, and a missing file raises
        :class:`~dj_jupyter.errors.ConfigFileNotFoundError` (a ``FileNotFoundError``).
        """
        path = Path(path)
        environ = os.environ if environ is None else environ
        if not path.exists():
            raise ConfigFileNotFoundError(f"config file not found: {path}; create one with "
                                          "dj.config.save_template(path)")
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as error:  # ValueError: bad JSON or bad UTF-8
            raise ConfigError(f"cannot read config file {path}: {error}") from None
        if not isinstance(data, Mapping):
            raise ConfigError(f"config file {path} holds a JSON {type(data).__name__}; it must "
                              'hold one object, e.g. {"database": {"backend": "sqlite"}}')
        flat = {**_flatten(data), **_secret_files(path.parent / ".secrets")}
        checked = {key: self._validated(key, value, source=str(path))
                   for key, value in flat.items()}
        for key, value in checked.items():  # all or nothing: a bad key leaves none loaded
            if SETTINGS[key].env and SETTINGS[key].env in environ:
                continue  # the environment wins over the file
            self._loaded[key] = value
            self._runtime.pop(key, None)
        self.source = path
        self._split_host_port()

    def save_template(self, path: str | Path = "datajoint.json", minimal: bool = True,
                      create_secrets_dir: bool = True) -> Path:
        """Write a starting ``datajoint.json`` for a database server (never credentials).

        ``minimal``: host and port only; else every group with example stores. With
        ``create_secrets_dir``, ``.secrets/`` next to it gets placeholder files for the user
        and password and a ``.gitignore`` that keeps them out of git. Refuses to overwrite.
        """
        path = Path(path)
        if path.exists():
            raise FileExistsError(f"File already exists: {path}. Remove it first or choose a "
                                  "different path.")
        template = dict(TEMPLATE_MINIMAL if minimal else TEMPLATE_FULL)
        path.write_text(json.dumps(template, indent=2) + "\n")
        if create_secrets_dir:
            secrets = path.parent / ".secrets"
            secrets.mkdir(exist_ok=True)
            for name, placeholder in (("database.user", "your_username"),
                                      ("database.password", "your_password")):
                if not (secrets / name).exists():
                    (secrets / name).write_text(placeholder)
            if not (secrets / ".gitignore").exists():
                (secrets / ".gitignore").write_text("# Never commit secrets\n*\n!.gitignore\n")
        return path.absolute()

    def save(self, path: str | Path = "datajoint.json") -> None:
        """Write the non-default, non-secret settings to a JSON file."""
        values = {k: self[k] for k in SETTINGS
                  if k not in SECRET_KEYS and self[k] != SETTINGS[k].default}
        if "stores" in values:  # credentials stay in the environment (DJ_STORES)
            values["stores"] = {n: ({k: v for k, v in spec.items() if not _is_secret(k)}
                                    if isinstance(spec, Mapping) else spec)
                                for n, spec in values["stores"].items()}
        Path(path).write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")

    @contextlib.contextmanager
    def override(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> Iterator[Config]:
        """Change settings inside a ``with`` block; ``a__b=v`` means ``a.b``."""
        changes = dict(values or {})
        changes.update({k.replace("__", "."): v for k, v in kwargs.items()})
        checked = {key: self._validated(key, value) for key, value in _flatten(changes).items()}
        saved = dict(self._runtime)
        self._runtime.update(checked)
        self._split_host_port()
        try:
            yield self
        finally:
            self._runtime = saved

    def is_set(self, key: str) -> bool:
        """Whether ``key`` was given (at run time, in a file or the environment), not defaulted."""
        self._known(key)
        return key in self._runtime or key in self._loaded

    def reset(self) -> None:
        """Forget run-time assignments (file and environment values stay)."""
        self._runtime.clear()
        self._own_defaults.clear()

    # -- helpers --------------------------------------------------------------
    def _known(self, key: str) -> None:
        if key not in SETTINGS:
            raise ConfigError(self._unknown_message(key))

    @staticmethod
    def _unknown_message(key: str) -> str:
        return f"unknown setting {key!r}; known settings: {', '.join(sorted(SETTINGS))}"

    def _validated(self, key: str, value: Any, source: str | None = None) -> Any:
        if key not in SETTINGS:
            raise invalid_setting(self._unknown_message(key))
        return _parsed(key, value, source)

    def _split_host_port(self) -> None:
        """Accept ``host:port`` in database.host, as DataJoint does."""
        for layer in (self._loaded, self._runtime):
            host = layer.get("database.host")
            if isinstance(host, str) and host.count(":") == 1:
                name, port = host.split(":")
                layer["database.host"] = name
                layer["database.port"] = int(port)

    def _shown(self, key: str) -> str:
        value = self[key]
        if key == "stores":
            return repr(mask_stores(value))
        return "***" if key in SECRET_KEYS and value else repr(value)

    def __repr__(self) -> str:
        return "dj.config(\n" + "".join(f"  {k}={self._shown(k)},\n" for k in SETTINGS) + ")"


TEMPLATE_MINIMAL = {"database": {"backend": "mysql", "host": "localhost", "port": 3306}}
TEMPLATE_FULL = {
    "database": {"backend": "mysql", "host": "localhost", "port": 3306, "reconnect": True,
                 "use_tls": None},
    "connection": {"charset": ""},
    "display": {"limit": 12, "width": 14, "show_tuple_count": True},
    "stores": {
        "default": "main",
        "filepath_default": "raw_data",
        "main": {"protocol": "file", "location": "/data/my-project/main",
                 "partition_pattern": None, "token_length": 8, "subfolding": None},
        "raw_data": {"protocol": "file", "location": "/data/my-project/raw"},
    },
    "loglevel": "INFO",
    "safemode": True,
    "query_cache": None,
    "download_path": ".",
}
SECRET_FILES = ("database.user", "database.password")


def _secret_files(folder: Path) -> dict[str, str]:
    """``database.user`` / ``database.password`` from files of those names in ``folder``."""
    found = {}
    for name in SECRET_FILES:
        candidate = folder / name
        if candidate.is_file():
            found[name] = candidate.read_text().strip()
    return found


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys of nested settings (a mapping below no known prefix stays one, unknown key)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"settings are given as a mapping of keys to values, not a "
                          f"{type(data).__name__}; e.g. {{'database.backend': 'sqlite'}}")
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and dotted not in SETTINGS \
                and any(k.startswith(dotted + ".") for k in SETTINGS):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


CONFIG_FILENAME = "datajoint.json"
SECRETS_DIRNAME = ".secrets"


def find_secrets_dir(config_path: Path | None = None) -> Path | None:
    """``.secrets/`` next to ``config_path`` if it exists, else ``/run/secrets/datajoint``
    if that exists (as DataJoint looks for them)."""
    if config_path is not None and (Path(config_path).parent / SECRETS_DIRNAME).is_dir():
        return Path(config_path).parent / SECRETS_DIRNAME
    return next((folder for folder in SECRETS_FOLDERS if folder.is_dir()), None)


def read_secret_file(secrets_dir: Path | None, name: str) -> str | None:
    """The stripped content of the secret file ``name`` (e.g. ``database.password``)."""
    if secrets_dir is None or not (Path(secrets_dir) / name).is_file():
        return None
    return (Path(secrets_dir) / name).read_text().strip()


def find_config_file(start: Path | None = None) -> Path | None:
    """The nearest ``datajoint.json`` from ``start`` (default: the working directory) upwards,
    stopping at a repository root."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_FILENAME
        if candidate.is_file():
            return candidate
        if (folder / ".git").exists() or (folder / ".hg").exists():
            return None
    return None


config = Config()


def thread_safe_mode() -> bool:
    """Whether ``DJ_THREAD_SAFE`` (read when asked, as DataJoint does) forbids global state."""
    return os.environ.get("DJ_THREAD_SAFE", "").strip().lower() in ("1", "true", "yes")


def _refuse_in_thread_safe_mode() -> None:
    if thread_safe_mode():
        raise ThreadSafetyError(
            "DJ_THREAD_SAFE is set, so the process-wide dj.config is off: make an instance "
            "per tenant with dj.Instance(host, user, password, ...) and use instance.config")


class GlobalConfig:
    """``dj.config``: the process's settings (:data:`config`), refused with
    :class:`ThreadSafetyError` while ``DJ_THREAD_SAFE`` is set, as in DataJoint 2.x.

    The library's own modules read :data:`config` itself, so a ``dj.Instance`` keeps working
    in thread-safe mode; only user code reaching for the global is stopped.
    ``save_template`` writes a file and reads no setting, so it stays allowed.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_"):  # probes such as IPython's _repr_html_ stay quiet
            _refuse_in_thread_safe_mode()
        return getattr(config, name)

    def __setattr__(self, name: str, value: Any) -> None:
        _refuse_in_thread_safe_mode()
        setattr(config, name, value)

    def __getitem__(self, key: str) -> Any:
        _refuse_in_thread_safe_mode()
        return config[key]

    def __setitem__(self, key: str, value: Any) -> None:
        _refuse_in_thread_safe_mode()
        config[key] = value

    def __delitem__(self, key: str) -> None:
        _refuse_in_thread_safe_mode()
        del config[key]

    def __contains__(self, key: object) -> bool:
        _refuse_in_thread_safe_mode()
        return key in config

    def __iter__(self) -> Iterator[str]:
        _refuse_in_thread_safe_mode()
        return iter(config)

    @staticmethod
    def save_template(path: str | Path = "datajoint.json", minimal: bool = True,
                      create_secrets_dir: bool = True) -> Path:
        return config.save_template(path, minimal, create_secrets_dir)

    def __dir__(self) -> list[str]:  # tab completion sees the Config's methods
        return sorted(set(dir(Config)) | {"save_template"})

    def __repr__(self) -> str:
        if thread_safe_mode():
            return "dj.config (off: DJ_THREAD_SAFE is set; use dj.Instance(...).config)"
        return repr(config)


global_config = GlobalConfig()
