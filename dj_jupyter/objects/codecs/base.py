"""The codec API: ``<name>`` types that store a value through another type.

A codec subclasses :class:`Codec`, which registers it by ``name`` (entry points
in the ``dj_jupyter.codecs`` and ``datajoint.codecs`` groups are loaded too).
``get_dtype`` says what it is stored as — a core type such as ``bytes`` or
``json``, or another codec (a chain: ``<blob@store>`` → ``<hash>`` → ``json``).
Encoders run outer to inner on insert, decoders inner to outer on fetch; the
round-trip law ``decode(encode(x)) == x`` holds for every built-in codec.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ClassVar

from ...definition.model import TypeSpec
from ...definition.types import parse_type
from ...errors import CodecPluginError, DataTypeError, DefinitionError

__all__ = ["Codec", "get_codec", "list_codecs", "storage_spec", "encoder_for", "decoder_for",
           "uses_store", "referenced_paths", "is_codec_registered", "unregister_codec",
           "rescan_plugins", "PLUGIN_GROUPS", "with_context"]

_REGISTRY: dict[str, type[Codec]] = {}

# Entry-point groups of codec plugins: ours, DataJoint 2.x's, and its legacy one.
PLUGIN_GROUPS = ("dj_jupyter.codecs", "datajoint.codecs", "datajoint.types")


class Codec:
    """Base class of codecs; subclasses register themselves by their ``name``.

    ``replaceable`` marks a built-in that DataJoint itself lacks (``<zarr@>``): a codec
    plugin of that name, written for DataJoint, takes its place.
    """

    name: ClassVar[str] = ""
    replaceable: ClassVar[bool] = False

    def __init_subclass__(cls, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not register or (not cls.name and _is_abstract(cls)):
            return
        if not cls.name or not cls.name.isidentifier() or cls.name != cls.name.lower():
            raise DefinitionError(f"codec {cls.__name__} needs a lower-case name, e.g. "
                                  "name = 'mycodec'")
        existing = _REGISTRY.get(cls.name)
        if existing is not None and existing.__qualname__ != cls.__qualname__ and \
                not existing.replaceable:
            raise DefinitionError(f"a codec named {cls.name!r} exists already "
                                  f"({existing.__module__}.{existing.__qualname__}); choose "
                                  "another name")
        _REGISTRY[cls.name] = cls

    def get_dtype(self, is_store: bool) -> str:
        """The type this codec stores its encoded value as (a core type or ``<codec>``)."""
        raise NotImplementedError(f"codec {self.name!r} must define get_dtype")

    def validate(self, value: Any) -> None:
        """Raise TypeError/ValueError for a value this codec cannot store."""

    def encode(self, value: Any, *, key: dict | None = None,
               store_name: str | None = None) -> Any:
        raise NotImplementedError(f"codec {self.name!r} must define encode")

    def decode(self, stored: Any, *, key: dict | None = None) -> Any:
        raise NotImplementedError(f"codec {self.name!r} must define decode")

    def referenced_paths(self, stored: Any) -> list[tuple[str, str]]:
        """(store, path) of the objects a stored value refers to (for delete and GC)."""
        if isinstance(stored, dict) and "path" in stored and "store" in stored:
            return [(stored["store"], stored["path"])]
        return []

    @staticmethod
    def _codec_config(key: dict | None = None, context: dict | None = None) -> Any:
        """The configuration a DataJoint 2.x codec threads into its helpers: ``None`` here,
        where the helpers read ``dj.config`` (one configuration per process)."""
        if context and context.get("config") is not None:
            return context["config"]
        return (key or {}).get("_config")

    def __repr__(self) -> str:
        return f"<codec {self.name}>"


def _is_abstract(cls: type) -> bool:
    return bool(getattr(cls, "__abstractmethods__", None))


@functools.lru_cache(maxsize=1)
def _plugin_entries() -> tuple[Any, ...]:
    from importlib.metadata import entry_points

    return tuple(entry for group in PLUGIN_GROUPS for entry in entry_points(group=group))


_LOADED_PLUGINS: set[str] = set()


def rescan_plugins() -> None:
    """Look for installed codec plugins again (after installing one into a running process)."""
    _plugin_entries.cache_clear()


def _load_plugins() -> None:
    """Load every installed codec plugin once. One that fails is an error naming it: no
    other codec answers in its place."""
    for entry in _plugin_entries():
        label = f"{entry.group}:{entry.name}"
        if label in _LOADED_PLUGINS:
            continue
        try:
            loaded = entry.load()
        except Exception as error:  # noqa: BLE001 - any failure names the plugin
            package = getattr(entry.dist, "name", None) or entry.value.split(":")[0]
            hint = ("it is written for DataJoint: call dj_jupyter.alias_datajoint() (or set "
                    "DJ_ALIAS_DATAJOINT=1) before using it" if _missing_datajoint(error) else
                    "install what it needs or uninstall the package")
            raise CodecPluginError(
                f"codec plugin {entry.name!r} ({entry.value}, package {package!r}, entry "
                f"point group {entry.group!r}) failed to load: {type(error).__name__}: "
                f"{error}; {hint}. No other codec is used in its place") from error
        if isinstance(loaded, type) and issubclass(loaded, Codec) and loaded.name and \
                _REGISTRY.get(loaded.name) is not loaded:
            _REGISTRY[loaded.name] = loaded  # a class registered under another base first
        _LOADED_PLUGINS.add(label)


def _missing_datajoint(error: BaseException | None) -> bool:
    """Whether the import of ``datajoint`` failed (also when re-raised, as plugins do)."""
    seen = 0
    while error is not None and seen < 8:
        if isinstance(error, ImportError) and (error.name or "").split(".")[0] == "datajoint":
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def get_codec(name: str) -> Codec:
    """The registered codec called ``name`` (an installed plugin of that name loaded first)."""
    name = name.strip("<>").split("@", 1)[0]
    codec = _REGISTRY.get(name)
    if codec is None or codec.replaceable:
        _load_plugins()
        codec = _REGISTRY.get(name)
    if codec is None:
        known = ", ".join(f"<{n}>" for n in sorted(_REGISTRY)) or "none"
        raise DefinitionError(f"unknown codec <{name}>; registered codecs: {known}. Define it "
                              "by subclassing dj.Codec (or install the package providing it)")
    return codec()


def list_codecs() -> list[str]:
    _load_plugins()
    return sorted(_REGISTRY)


def is_codec_registered(name: str) -> bool:
    """Whether a codec ``name`` (``<name@store>`` accepted) is known, plugins included."""
    name = name.strip("<>").split("@", 1)[0]
    if name not in _REGISTRY:
        _load_plugins()
    return name in _REGISTRY


def unregister_codec(name: str) -> None:
    """Forget the codec ``name`` (tests; a table using it can no longer be read)."""
    if _REGISTRY.pop(name.strip("<>").split("@", 1)[0], None) is None:
        raise DefinitionError(f"no codec named <{name}> is registered")


def _accepts(function: Callable[..., Any], name: str) -> bool:
    """Whether ``function`` takes the keyword ``name`` (DataJoint codecs written before
    ``context`` existed do not)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def _chain(spec: TypeSpec) -> tuple[list[tuple[Codec, str | None]], TypeSpec]:
    """The codecs a value passes through (outermost first) and the core type stored."""
    chain: list[tuple[Codec, str | None]] = []
    seen = set()
    while spec.is_codec:
        name, store = spec.args
        if name in seen:
            raise DefinitionError(f"codec chain through <{name}> is a cycle")
        seen.add(name)
        codec = get_codec(name)
        chain.append((codec, store))
        text = codec.get_dtype(store is not None)
        if text.startswith("<") and store is not None and "@" not in text:
            text = text[:-1] + f"@{store}>"  # the store travels inward
        spec = parse_type(text)
    return chain, spec


def with_context(key: dict | None, context: dict | None) -> dict | None:
    """The row ``key`` a codec reads, with DataJoint 2.3.4's ``context`` (schema, table,
    field) winning over the legacy ``_schema``/``_table``/``_field`` keys, as in DataJoint."""
    given = {f"_{name}": context[name] for name in ("schema", "table", "field")
             if context and context.get(name) is not None}
    return {**(key or {}), **given} if given else key


def _context_for(method: Callable[..., Any], key: dict | None) -> dict:
    """``context=`` for a codec method that declares it (DataJoint 2.3.4's keyword): the
    row's schema, table and field; no per-connection config (``config`` is None)."""
    if not _accepts(method, "context"):
        return {}
    key = key or {}
    return {"context": {"schema": key.get("_schema"), "table": key.get("_table"),
                        "field": key.get("_field"), "config": None}}


def storage_spec(spec: TypeSpec) -> TypeSpec:
    """The core type a codec type is stored as (``<blob>`` → ``bytes``)."""
    return _chain(spec)[1] if spec.is_codec else spec


def store_only_dtype(name: str, keeps: str, is_store: bool) -> str:
    """The stored type (``json``, the object's description) of a codec that lives only in an
    object store; without one (``<name>``) it is refused with the two spellings that work."""
    if not is_store:
        raise DefinitionError(f"<{name}> requires @: it {keeps} an object store; write <{name}@> "
                              f"(the default store) or <{name}@name>")
    return "json"


def uses_store(spec: TypeSpec) -> bool:
    """Whether values of this (codec) type live in an object store."""
    return spec.is_codec and any(store is not None for _codec, store in _chain(spec)[0])


def encoder_for(spec: TypeSpec) -> Callable[..., Any]:
    """Validate and encode a value through the codec chain, outermost first.

    ``key`` (``{"_schema", "_table", "_field", <primary-key values>}``) is given to every
    codec; store codecs need it to address the objects they write.
    """
    chain, _ = _chain(spec)

    def encode(value: Any, key: dict | None = None) -> Any:
        for codec, store in chain:
            try:
                codec.validate(value)
                value = codec.encode(value, key=key, store_name=store,
                                     **_context_for(codec.encode, key))
            except (TypeError, ValueError) as problem:
                raise DataTypeError(f"<{codec.name}> cannot store {type(value).__name__}: "
                                    f"{problem}") from None
        return value

    return encode


def decoder_for(dialect: Any, spec: TypeSpec) -> Callable[[Any], Any] | None:
    """Driver value → Python value: the storage type's decoding, then the codecs, inner first."""
    if not spec.is_codec:
        return dialect.decoder(spec)
    chain, storage = _chain(spec)
    base = dialect.decoder(storage)

    def decode(value: Any) -> Any:
        if value is None:
            return None
        if base is not None:
            value = base(value)
        for codec, _store in reversed(chain):
            value = codec.decode(value, key=None, **_context_for(codec.decode, None))
        return value

    return decode


def referenced_paths(spec: TypeSpec, stored: Any) -> list[tuple[str, str]]:
    """(store, path) of the objects one stored (storage-decoded) value of ``spec`` refers to."""
    if stored is None or not spec.is_codec:
        return []
    chain, _ = _chain(spec)
    for codec, store in reversed(chain):  # the innermost store codec holds the reference
        if store is not None:
            return codec.referenced_paths(stored)
    return []
