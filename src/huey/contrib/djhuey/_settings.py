"""Django's ``HUEY`` setting, read into a :class:`~huey.Huey` and the consumer's options.

The setting is untyped project data, so every value is checked here, once, when
``huey.contrib.djhuey`` is imported (at Django's start-up): a mistake is an
``ImproperlyConfigured`` that names the setting, not a surprise in a worker later.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, cast

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from huey import Huey
from huey.consumer_options import ConsumerConfig, ConsumerConfigKwargs
from huey.exceptions import ConfigurationError

__all__ = ("DEFAULT_HUEY_CLASS", "HueySetting", "default_name", "read_huey_setting")

DEFAULT_HUEY_CLASS: Final = "huey.RedisHuey"
"""The Huey class of a ``HUEY`` dict without ``huey_class``, as in the original."""

# Constructor options that must be booleans: huey would take 0 or "no" as a truth value.
_BOOLEAN_OPTIONS: Final = (
    "immediate",
    "results",
    "store_none",
    "utc",
    "blocking",
    "compression",
    "use_zlib",
    "immediate_use_memory",
    "store_intermediate_errors",
)


@dataclass(frozen=True, slots=True)
class HueySetting:
    """What the ``HUEY`` setting configures.

    Attributes:
        huey: the application's Huey (``huey.contrib.djhuey.HUEY``).
        consumer: ``run_huey``'s defaults (``HUEY["consumer"]``; the consumer's own
            defaults when ``HUEY`` is an instance).
    """

    huey: Huey[bool]
    consumer: ConsumerConfig


def default_name(databases: object) -> str:
    """The queue name when ``HUEY`` names none: the default database's ``NAME``, else huey."""
    if isinstance(databases, Mapping):
        default = cast(Mapping[str, object], databases).get("default")
        if isinstance(default, Mapping):
            name = cast(Mapping[str, object], default).get("NAME")
            if isinstance(name, str | os.PathLike):
                return os.fspath(cast(str, name)) or "huey"
    return "huey"


def read_huey_setting(value: object, *, debug: bool, databases: object) -> HueySetting:
    """Build the Huey and the consumer's defaults from the ``HUEY`` setting.

    Args:
        value: ``settings.HUEY``: a dict, a :class:`~huey.Huey` instance, or ``None``
            (not set: the same as an empty dict).
        debug: ``settings.DEBUG``, the default of ``immediate``.
        databases: ``settings.DATABASES``, whose default ``NAME`` is the default queue name.

    Besides ``name``, ``huey_class``, ``connection`` and ``consumer``, every key is an
    option of the Huey class's constructor (its storage's options too), so an unknown key
    is one the class refuses.

    Raises:
        ImproperlyConfigured: an unknown key, a value of the wrong type, a ``huey_class``
            that does not import or is not a Huey class, or options the class refuses.
    """
    if isinstance(value, Huey):
        return HueySetting(cast(Huey[bool], value), ConsumerConfig())
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(
            f"settings.HUEY must be a dict or a huey.Huey instance, got {type(value).__name__}"
        )
    config = dict(cast(Mapping[object, object], value))
    for key in config:
        if not isinstance(key, str):
            raise ImproperlyConfigured(f"settings.HUEY has a key that is not a str: {key!r}")
    options = cast(dict[str, object], config)
    name = options.pop("name", None)
    if name is None:
        name = default_name(databases)
    elif not isinstance(name, str) or not name:
        raise ImproperlyConfigured(f"settings.HUEY['name'] must be a non-empty str, got {name!r}")
    huey_class = _huey_class(options)
    connection = _mapping(options.pop("connection", None), "connection")
    consumer = _consumer(options.pop("consumer", None))
    options.setdefault("immediate", debug)
    clashes = sorted(set(connection) & set(options))
    if clashes:
        raise ImproperlyConfigured(
            f"settings.HUEY sets {', '.join(clashes)} both at the top and in 'connection'"
        )
    options.update(connection)
    for option in _BOOLEAN_OPTIONS:
        if option in options and not isinstance(options[option], bool):
            where = "['connection']" if option in connection else ""
            raise ImproperlyConfigured(
                f"settings.HUEY{where}[{option!r}] must be True or False, got {options[option]!r}"
            )
    # The options are untyped settings data, checked above and by the class itself.
    construct = cast(Callable[..., Huey[bool]], huey_class)
    try:
        huey = construct(name, **options)
    except (TypeError, ValueError, ConfigurationError) as exc:
        raise ImproperlyConfigured(
            f"settings.HUEY: {huey_class.__name__} refused its options: {exc}"
        ) from exc
    return HueySetting(huey, consumer)


def _huey_class(options: dict[str, object]) -> type[Huey[bool]]:
    """Pop ``huey_class`` (or the original's older ``backend_class``) and import it."""
    if "huey_class" in options and "backend_class" in options:
        raise ImproperlyConfigured("settings.HUEY sets both 'huey_class' and 'backend_class'")
    key = "backend_class" if "backend_class" in options else "huey_class"
    path = options.pop(key, DEFAULT_HUEY_CLASS)
    if isinstance(path, type):
        found: object = path
    elif isinstance(path, str):
        try:
            found = import_string(path)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"settings.HUEY[{key!r}]: cannot import {path!r}: {exc}"
            ) from exc
    else:
        raise ImproperlyConfigured(
            f"settings.HUEY[{key!r}] must be a dotted path such as 'huey.SqliteHuey', got {path!r}"
        )
    if not (isinstance(found, type) and issubclass(found, Huey)):
        raise ImproperlyConfigured(
            f"settings.HUEY[{key!r}]: {path!r} is not a huey.Huey class, got {found!r}"
        )
    # The results mode is read from the settings at run time, so it is typed as bool.
    return cast(type[Huey[bool]], found)


def _mapping(value: object, key: str) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(
            f"settings.HUEY[{key!r}] must be a dict, got {type(value).__name__}"
        )
    items = cast(Mapping[object, object], value)
    for item in items:
        if not isinstance(item, str):
            raise ImproperlyConfigured(f"settings.HUEY[{key!r}] has a key that is not a str")
    return {cast(str, item): item_value for item, item_value in items.items()}


def _consumer(value: object) -> ConsumerConfig:
    options = _mapping(value, "consumer")
    try:
        # Checked by ConsumerConfig: unknown names and bad values raise ConfigurationError.
        return ConsumerConfig(**cast(ConsumerConfigKwargs, options))
    except ConfigurationError as exc:
        raise ImproperlyConfigured(f"settings.HUEY['consumer']: {exc}") from exc
