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
from collections.abc import Callable
from typing import Any, ClassVar

from ...definition.model import TypeSpec
from ...definition.types import parse_type
from ...errors import DataTypeError, DefinitionError

__all__ = ["Codec", "get_codec", "list_codecs", "storage_spec", "encoder_for", "decoder_for",
           "uses_store", "referenced_paths"]

_REGISTRY: dict[str, type[Codec]] = {}


class Codec:
    """Base class of codecs; subclasses register themselves by their ``name``."""

    name: ClassVar[str] = ""

    def __init_subclass__(cls, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not register:
            return
        if not cls.name or not cls.name.isidentifier() or cls.name != cls.name.lower():
            raise DefinitionError(f"codec {cls.__name__} needs a lower-case name, e.g. "
                                  "name = 'mycodec'")
        existing = _REGISTRY.get(cls.name)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
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

    def __repr__(self) -> str:
        return f"<codec {self.name}>"


def _load_entry_points() -> None:
    from importlib.metadata import entry_points

    for group in ("dj_jupyter.codecs", "datajoint.codecs"):
        for entry in entry_points(group=group):
            try:
                entry.load()
            except Exception as error:  # noqa: BLE001 - one broken plugin must not stop us
                import logging

                logging.getLogger("dj_jupyter").warning("codec plugin %s failed: %s",
                                                        entry.name, error)


@functools.lru_cache(maxsize=1)
def _registry() -> dict[str, type[Codec]]:
    _load_entry_points()
    return _REGISTRY


def get_codec(name: str) -> Codec:
    """The registered codec called ``name``."""
    registry = _registry()
    codec = registry.get(name) or _REGISTRY.get(name)
    if codec is None:
        known = ", ".join(f"<{n}>" for n in sorted(_REGISTRY)) or "none"
        raise DefinitionError(f"unknown codec <{name}>; registered codecs: {known}. Define it "
                              "by subclassing dj.Codec (or install the package providing it)")
    return codec()


def list_codecs() -> list[str]:
    return sorted(_registry())


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


def storage_spec(spec: TypeSpec) -> TypeSpec:
    """The core type a codec type is stored as (``<blob>`` → ``bytes``)."""
    return _chain(spec)[1] if spec.is_codec else spec


def store_only_dtype(name: str, keeps: str, is_store: bool) -> str:
    """The stored type (``json``, the object's description) of a codec that lives only in an
    object store; without one (``<name>``) it is refused with the two spellings that work."""
    if not is_store:
        raise DefinitionError(f"<{name}> {keeps} an object store: write <{name}@> (the default "
                              f"store) or <{name}@name>")
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
                value = codec.encode(value, key=key, store_name=store)
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
            value = codec.decode(value, key=None)
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
