"""``settings.HUEY`` is read into a Huey, with the original's defaults and clear errors.

:func:`read_huey_setting` takes the setting's values as arguments, so these tests need no
configured Django process.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from huey import Huey, MemoryHuey, SqliteHuey
from huey.contrib.djhuey._settings import (
    DEFAULT_HUEY_CLASS,
    default_name,
    read_huey_setting,
)
from huey.storage import SqliteStorage

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "shop"}}


def _read(value: object, *, debug: bool = False) -> Huey[bool]:
    return read_huey_setting(value, debug=debug, databases=DATABASES).huey


def test_a_dict_builds_the_named_class_with_its_options(tmp_path: Path) -> None:
    setting = read_huey_setting(
        {
            "huey_class": "huey.SqliteHuey",
            "name": "orders",
            "results": False,
            "store_none": True,
            "utc": False,
            "immediate": False,
            "connection": {"filename": str(tmp_path / "q.db")},
            "consumer": {"workers": 4, "worker_type": "process", "verbose": False},
        },
        debug=True,
        databases=DATABASES,
    )
    huey = setting.huey
    assert isinstance(huey, SqliteHuey)
    assert (huey.name, huey.results, huey.store_none, huey.utc) == ("orders", False, True, False)
    assert huey.immediate is False
    storage = huey.storage
    assert isinstance(storage, SqliteStorage)
    assert storage.filename == str(tmp_path / "q.db")
    assert (setting.consumer.workers, setting.consumer.worker_type) == (4, "process")
    assert setting.consumer.verbose is False


@pytest.mark.parametrize("debug", [True, False])
def test_immediate_follows_debug_when_not_given(debug: bool) -> None:
    huey = read_huey_setting(
        {"huey_class": "huey.MemoryHuey"}, debug=debug, databases=DATABASES
    ).huey
    assert huey.immediate is debug


def test_the_defaults_are_the_originals() -> None:
    """RedisHuey named after the default database (redis-py connects lazily)."""
    assert DEFAULT_HUEY_CLASS == "huey.RedisHuey"
    for value in (None, dict[str, object]()):
        huey = _read(value)
        assert type(huey).__name__ == "RedisHuey"
        assert huey.name == "shop"
    assert default_name({"default": {"NAME": Path("/srv/db.sqlite3")}}) == "/srv/db.sqlite3"
    assert default_name({}) == default_name(None) == "huey"


def test_an_instance_is_used_as_it_is() -> None:
    instance = MemoryHuey("mine")
    setting = read_huey_setting(instance, debug=True, databases=DATABASES)
    assert setting.huey is instance
    assert setting.huey.immediate is False  # DEBUG does not touch a ready instance


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ({"huey_class": "huey.MemoryHuey", "bogus": 1}, ["settings.HUEY", "'bogus'"]),
        ({"huey_class": "huey.MemoryHuey", "immediate": "yes"}, ["settings.HUEY['immediate']"]),
        (
            {"huey_class": "huey.MemoryHuey", "connection": {"utc": 1}},
            ["settings.HUEY['connection']['utc']"],
        ),
        ({"huey_class": "huey.MemoryHuey", "name": 3}, ["settings.HUEY['name']"]),
        ({"huey_class": "huey.NoSuchHuey"}, ["settings.HUEY['huey_class']", "NoSuchHuey"]),
        ({"huey_class": "no.such.module.Huey"}, ["settings.HUEY['huey_class']"]),
        ({"huey_class": "huey.crontab"}, ["not a huey.Huey class"]),
        ({"backend_class": "huey.Nope"}, ["settings.HUEY['backend_class']"]),
        ({"huey_class": 42}, ["settings.HUEY['huey_class']"]),
        ({"huey_class": "huey.MemoryHuey", "connection": []}, ["settings.HUEY['connection']"]),
        (
            {"huey_class": "huey.MemoryHuey", "consumer": {"wrokers": 2}},
            ["['consumer']", "wrokers"],
        ),
        (
            {"huey_class": "huey.MemoryHuey", "consumer": {"workers": 0}},
            ["['consumer']", "workers"],
        ),
        (
            {"huey_class": "huey.MemoryHuey", "results": True, "connection": {"results": True}},
            ["both at the top and in 'connection'"],
        ),
        ("huey.MemoryHuey", ["must be a dict or a huey.Huey instance"]),
    ],
)
def test_a_bad_setting_is_improperly_configured_naming_it(value: object, names: list[str]) -> None:
    with pytest.raises(ImproperlyConfigured) as caught:
        _read(value)
    for name in names:
        assert name in str(caught.value)
