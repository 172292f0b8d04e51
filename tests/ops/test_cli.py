"""The ``huey`` operations commands, run in-process on a real SQLite queue.

The consumer-backed scenario (dead letters made by a real worker, the command run as a
subprocess) is in ``test_ops_integration.py``.
"""

from __future__ import annotations

import io
import json
import sys
import time
from typing import Any

import pytest

from huey import Huey
from huey.__main__ import main
from huey._cli import COMMANDS, run_command
from huey._delivery import process_next
from huey.protocols import SupportsLeases
from huey.storage import BlackHoleStorage
from tests.storage.base_only import LeasesOnlyStorage

from .harness import OpsApp


def run(*args: str, answer: bool = True) -> tuple[int, str]:
    """Run a command; return its status and output. The prompt answers ``answer``."""
    out = io.StringIO()
    asked: list[str] = []

    def confirm(question: str) -> bool:
        asked.append(question)
        return answer

    status = run_command(list(args), out=out, confirm=confirm)
    return status, out.getvalue()


def as_json(*args: str) -> Any:
    status, output = run(*args, "--json")
    assert status == 0, output
    return json.loads(output)


def test_every_command_is_dispatched_by_the_consumer_entry_point() -> None:
    assert {
        "info",
        "pending",
        "scheduled",
        "results",
        "dead-letters",
        "requeue",
        "purge",
        "revoke",
        "restore",
        "flush",
    } == COMMANDS


def test_info_counts_what_the_queue_holds(sqlite_app: OpsApp) -> None:
    app = sqlite_app.module
    app.add(1, 2)
    app.add.schedule((3, 4), delay=3600)
    sqlite_app.huey.put("some-key", "value")
    info = as_json("info", "opsapp.huey")
    assert info["storage"] == "SqliteStorage"
    assert info["delivery"].startswith("at-least-once")
    assert (info["queued"], info["scheduled"], info["results"]) == (1, 1, 1)
    assert info["dead_letters"] == 0
    assert (info["in_flight"], info["expired_leases"]) == (0, 0)
    assert info["tasks"] == ["opsapp.add", "opsapp.fail", "opsapp.wait_for_file"]
    assert 0 <= info["oldest_wait_seconds"] < 60  # the header written at enqueue
    status, text = run("info", "opsapp.huey")
    assert status == 0
    assert "queued        1 (oldest waiting" in text
    assert "leases        0 in flight, 0 expired" in text


def test_info_counts_leases_in_flight_and_expired(sqlite_app: OpsApp) -> None:
    storage = sqlite_app.huey.storage
    assert isinstance(storage, SupportsLeases)
    for n in range(4):
        sqlite_app.module.add(n, n)
    now = time.time()
    # A worker's lease, and two whose worker died long ago: their deadlines passed.
    assert storage.reserve(now, 3600.0) is not None
    assert storage.reserve(now - 7200.0, 30.0) is not None
    assert storage.reserve(now - 7200.0, 30.0) is not None
    info = as_json("info", "opsapp.huey")
    assert (info["queued"], info["in_flight"], info["expired_leases"]) == (1, 1, 2)
    status, text = run("info", "opsapp.huey")
    assert status == 0
    assert "leases        1 in flight, 2 expired" in text


def test_pending_and_scheduled_list_the_messages(sqlite_app: OpsApp) -> None:
    app = sqlite_app.module
    first = app.add(1, 2)
    app.add(5, b=6)
    later = app.add.schedule((3, 4), delay=3600)
    pending = as_json("pending", "opsapp.huey")
    assert (pending[0]["id"], pending[0]["args"]) == (first.id, [1, 2])
    assert pending[1]["kwargs"] == {"b": 6}
    assert "huey-enqueued-at" in pending[0]["headers"]
    assert len(as_json("pending", "opsapp.huey", "--limit", "1")) == 1
    (scheduled,) = as_json("scheduled", "opsapp.huey")
    assert scheduled["id"] == later.id
    assert scheduled["eta"] is not None
    status, text = run("pending", "opsapp.huey")
    assert status == 0
    assert text.splitlines()[0].split() == ["ID", "TASK", "PRIORITY", "ETA", "RETRIES", "ARGUMENTS"]
    assert f"{first.id}  opsapp.add" in text
    assert "5, b=6" in text
    assert text.splitlines()[-1] == "(2 shown)"


def test_an_undecodable_message_is_listed_not_skipped(sqlite_app: OpsApp) -> None:
    sqlite_app.huey.storage.enqueue(b"not a message")
    (item,) = as_json("pending", "opsapp.huey")
    assert item["bytes"] == len(b"not a message")
    assert item["undecodable"]


def test_results_decode_the_stored_values(sqlite_app: OpsApp) -> None:
    huey = sqlite_app.huey
    huey.put("b-key", {"x": 1})
    huey.put("a-key", [1, 2])
    huey.storage.put_data("raw", b"\x00garbage")
    results = as_json("results", "opsapp.huey")
    assert [r["key"] for r in results] == ["a-key", "b-key", "raw"]
    assert results[0]["value"] == [1, 2]
    assert results[2]["value"].startswith("<undecodable")
    assert len(as_json("results", "opsapp.huey", "--limit", "2")) == 2


def _dead_letter_one(app: OpsApp, data: bytes = b"garbage") -> str:
    """Queue ``data`` and let a worker's delivery dead-letter it (it cannot be decoded)."""
    huey = app.huey
    huey.storage.enqueue(data)
    process_next(huey)  # a worker's delivery: undecodable, so moved to the dead letters
    (letter,) = [dl for dl in huey.dead_letters() if dl.data == data]
    return letter.id


def test_dead_letters_requeue_by_id_and_purge(sqlite_app: OpsApp) -> None:
    first = _dead_letter_one(sqlite_app, b"one")
    _dead_letter_one(sqlite_app, b"two")
    letters = as_json("dead-letters", "opsapp.huey")
    assert [letter["id"] for letter in letters] == [first, letters[1]["id"]]
    assert letters[0]["task"] is None
    assert letters[0]["reason"]
    status, text = run("dead-letters", "opsapp.huey")
    assert status == 0
    assert text.splitlines()[0].split() == ["ID", "TASK", "DELIVERIES", "WHEN", "REASON"]

    status, text = run("requeue", "opsapp.huey", first, "--yes")
    assert (status, text) == (0, "requeued 1 dead letter(s)\n")
    assert sqlite_app.huey.storage.enqueued_items() == [b"one"]
    status, text = run("requeue", "opsapp.huey", "no-such-id", "--yes")
    assert status == 1
    assert "no dead letter 'no-such-id'" in text

    status, _ = run("purge", "opsapp.huey", "--all", answer=False)
    assert status == 1
    assert len(sqlite_app.huey.dead_letters()) == 1
    status, text = run("purge", "opsapp.huey", "--all")
    assert (status, text) == (0, "deleted 1 dead letter(s)\n")
    assert sqlite_app.huey.dead_letters() == []


def test_purge_deletes_dead_letters_by_id(sqlite_app: OpsApp) -> None:
    first = _dead_letter_one(sqlite_app, b"one")
    second = _dead_letter_one(sqlite_app, b"two")
    third = _dead_letter_one(sqlite_app, b"three")
    asked: list[str] = []

    def decline(question: str) -> bool:
        asked.append(question)
        return False

    status = run_command(["purge", "opsapp.huey", first, second], confirm=decline)
    assert (status, asked) == (1, ["delete 2 dead letter(s)?"])
    assert len(sqlite_app.huey.dead_letters()) == 3

    status, text = run("purge", "opsapp.huey", second)
    assert (status, text) == (0, "deleted 1 dead letter(s)\n")
    assert [dl.data for dl in sqlite_app.huey.dead_letters()] == [b"one", b"three"]
    assert sqlite_app.huey.pending_count() == 0  # deleted, not requeued

    status, text = run("purge", "opsapp.huey", first, "no-such-id", second, "--yes")
    assert status == 1
    assert text.splitlines() == [
        "deleted 1 dead letter(s)",
        "no dead letter 'no-such-id'",
        f"no dead letter {second!r}",
    ]
    status, output = run("purge", "opsapp.huey", third, "nope", "--yes", "--json")
    assert status == 1
    assert json.loads(output) == {"deleted": [third], "missing": ["nope"]}
    assert sqlite_app.huey.dead_letters() == []


def test_purge_needs_ids_or_all(sqlite_app: OpsApp, capsys: Any) -> None:
    _dead_letter_one(sqlite_app)
    assert run("purge", "opsapp.huey", "--yes")[0] == 2
    assert "one of the arguments ID --all is required" in capsys.readouterr().err
    assert run("purge", "opsapp.huey", "1", "--all", "--yes")[0] == 2
    assert len(sqlite_app.huey.dead_letters()) == 1


def test_a_storage_with_leases_only_cannot_delete_one_letter_or_count_leases(
    sqlite_app: OpsApp, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    leasing = Huey("leasing", storage=LeasesOnlyStorage("leasing"))
    monkeypatch.setattr(sys.modules["opsapp"], "leasing", leasing, raising=False)
    leasing.storage.enqueue(b"garbage")
    process_next(leasing)
    (letter,) = leasing.dead_letters()
    status, _ = run("purge", "opsapp.leasing", letter.id, "--yes")
    assert status == 1
    assert "LeasesOnlyStorage cannot delete single dead letters" in capsys.readouterr().err
    assert run("purge", "opsapp.leasing", "--all", "--yes") == (0, "deleted 1 dead letter(s)\n")
    info = as_json("info", "opsapp.leasing")
    assert (info["dead_letters"], info["in_flight"], info["expired_leases"]) == (0, None, None)
    status, text = run("info", "opsapp.leasing")
    assert "leases        n/a (LeasesOnlyStorage does not count them)" in text


def test_requeue_all_asks_first(sqlite_app: OpsApp) -> None:
    letter = _dead_letter_one(sqlite_app)
    status, _ = run("requeue", "opsapp.huey", "--all", answer=False)
    assert status == 1
    assert sqlite_app.huey.pending_count() == 0
    assert as_json("requeue", "opsapp.huey", "--all") == {"requeued": [letter], "missing": []}
    assert sqlite_app.huey.pending_count() == 1


def test_revoke_and_restore_by_task_name_and_id(sqlite_app: OpsApp) -> None:
    app = sqlite_app.module
    huey = sqlite_app.huey
    status, text = run("revoke", "opsapp.huey", "--task", "opsapp.add")
    assert (status, text) == (0, "revoked task opsapp.add\n")
    assert app.add.is_revoked()
    result = app.fail()
    assert as_json("revoke", "opsapp.huey", "--id", result.id, "--once") == {
        "tasks": [],
        "ids": [result.id],
    }
    assert huey.is_revoked(result.id)
    process_next(huey)  # revoked for one run: dropped, the flag used up
    assert not huey.is_revoked(result.id)
    restored = as_json("restore", "opsapp.huey", "--task", "opsapp.add", "--id", "nope")
    assert restored == {"tasks": {"opsapp.add": True}, "ids": {"nope": False}}
    assert not app.add.is_revoked()


def test_revoke_refuses_an_unknown_task_name(sqlite_app: OpsApp, capsys: Any) -> None:
    status, _ = run("revoke", "opsapp.huey", "--task", "opsapp.nope")
    assert status == 2
    assert "unknown task(s) opsapp.nope; registered: opsapp.add" in capsys.readouterr().err
    status, _ = run("revoke", "opsapp.huey")
    assert status == 2


def test_flush_asks_then_empties_everything(sqlite_app: OpsApp) -> None:
    sqlite_app.module.add(1, 2)
    sqlite_app.huey.put("k", 1)
    status, _ = run("flush", "opsapp.huey", answer=False)
    assert status == 1
    assert sqlite_app.huey.pending_count() == 1
    status, text = run("flush", "opsapp.huey")
    assert status == 0
    assert text.startswith("flushed ops-")
    assert (sqlite_app.huey.pending_count(), sqlite_app.huey.result_count()) == (0, 0)


def test_a_storage_without_dead_letters_gets_exit_status_1(
    sqlite_app: OpsApp, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = Huey("plain", storage=BlackHoleStorage())
    monkeypatch.setattr(sys.modules["opsapp"], "plain", plain, raising=False)
    for command in (["dead-letters"], ["requeue", "--all", "--yes"], ["purge", "--all", "--yes"]):
        status, _ = run(command[0], "opsapp.plain", *command[1:])
        assert status == 1
        assert "BlackHoleStorage has no dead letters" in capsys.readouterr().err
    info = as_json("info", "opsapp.plain")
    assert (info["dead_letters"], info["in_flight"], info["expired_leases"]) == (None, None, None)
    assert "leases        n/a (BlackHoleStorage has no leases)" in run("info", "opsapp.plain")[1]


def test_bad_command_lines_exit_with_status_2(sqlite_app: OpsApp, capsys: Any) -> None:
    assert run("info", "opsapp.nothing")[0] == 2
    assert "has no attribute 'nothing'" in capsys.readouterr().err
    assert run("pending", "opsapp.huey", "--limit", "-1")[0] == 2
    assert run("requeue", "opsapp.huey")[0] == 2  # neither ids nor --all


def test_python_m_huey_runs_commands_and_still_the_consumer(sqlite_app: OpsApp) -> None:
    sqlite_app.module.add(1, 2)
    done = sqlite_app.command("info", "opsapp.huey", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["queued"] == 1
    # Without a command the first argument is the application: the consumer's parser.
    assert main(["opsapp.huey", "--workers", "0"]) == 2
