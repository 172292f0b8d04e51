"""``huey.contrib.djhuey`` in this process (see ``in_process.py`` for its settings)."""

from __future__ import annotations

import importlib

import pytest
from django.db import transaction

from huey import Result
from huey.__main__ import consumer_options
from huey.consumer_options import ConsumerConfig
from huey.contrib import djhuey
from huey.contrib.djhuey.management.commands.run_huey import Command, flag_defaults
from tests.test_public_api import defined_public_names

MODULES = [
    "huey.contrib.djhuey",
    "huey.contrib.djhuey.tasks_backend",
    "huey.contrib.djhuey.management.commands.run_huey",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_matches_definitions(name: str) -> None:
    module = importlib.import_module(name)
    defined, imported = defined_public_names(module)
    exported = set(module.__all__)
    assert sorted(defined - exported) == []
    assert sorted(exported - defined - imported) == []


def test_the_originals_names_are_there() -> None:
    original = {
        "HUEY", "task", "periodic_task", "lock_task", "enqueue", "restore", "restore_all",
        "restore_by_id", "revoke", "revoke_all", "revoke_by_id", "is_revoked", "result",
        "scheduled", "on_startup", "on_shutdown", "pre_execute", "post_execute", "signal",
        "disconnect_signal", "close_db", "db_task", "db_periodic_task", "on_commit_task",
    }  # fmt: skip
    assert original <= set(djhuey.__all__)
    assert djhuey.enqueue == djhuey.HUEY.enqueue


CONFIG = ConsumerConfig(
    workers=3,
    worker_type="process",
    initial_delay=0.5,
    max_delay=4.0,
    backoff=2.0,
    check_worker_health=True,
    health_check_interval=3.0,
    extra_locks="a,b",
    max_tasks=9,
    shutdown_timeout=7.0,
    graceful_signal="TERM",
    scheduler_interval=5,
    periodic=False,
)


def _parse(config: ConsumerConfig, *argv: str) -> ConsumerConfig:
    parser = Command().create_parser("manage.py", "run_huey")
    parser.set_defaults(**flag_defaults(config))
    return ConsumerConfig(**consumer_options(parser.parse_args(list(argv))))


def test_flag_defaults_give_back_the_settings() -> None:
    """HUEY['consumer'] becomes the flags' defaults, every option of it."""
    assert _parse(CONFIG).values == CONFIG.values
    assert _parse(ConsumerConfig()).values == ConsumerConfig().values
    unchecked = ConsumerConfig(check_worker_health=False, periodic=False)
    assert _parse(unchecked).values == unchecked.values


def test_a_flag_overrides_its_setting() -> None:
    parsed = _parse(CONFIG, "-w", "5", "-k", "thread", "-n")
    assert (parsed.workers, parsed.worker_type, parsed.periodic) == (5, "thread", False)
    assert parsed.initial_delay == CONFIG.initial_delay


def test_close_db_closes_stale_connections_around_the_task(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(djhuey, "close_old_connections", lambda: calls.append("close"))

    @djhuey.close_db
    def body() -> str:
        calls.append("task")
        return "done"

    assert body() == "done"
    assert calls == ["close", "task", "close"]
    calls.clear()
    monkeypatch.setattr(djhuey.HUEY, "immediate", True)
    try:
        assert body() == "done"
    finally:
        djhuey.HUEY.immediate = False
    assert calls == ["task"]  # the caller's connections are left alone


@djhuey.on_commit_task()
def remember(word: str) -> str:
    return word


def test_on_commit_task_enqueues_on_commit_only() -> None:
    huey = djhuey.HUEY
    huey.flush()
    with transaction.atomic():
        handle = remember("kept")
        assert huey.pending_count() == 0
    assert huey.pending_count() == 1
    assert isinstance(handle, Result)
    [message] = huey.pending()
    assert message.id == handle.id

    def roll_back() -> None:
        with transaction.atomic():
            remember("dropped")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        roll_back()
    assert huey.pending_count() == 1
    huey.flush()
