"""FileStorage and FileHuey: faults, the dequeue index, sharing a directory."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from huey import FileHuey
from huey.exceptions import ConfigurationError, StorageAccessError, StorageFull
from huey.storage import FileStorage
from huey.testing import MockClock


@pytest.fixture
def scandir_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records the directories ``os.scandir`` lists from now on."""
    calls: list[str] = []
    original = os.scandir

    def counting(path: str) -> Iterator[os.DirEntry[str]]:
        calls.append(os.path.basename(path))
        return original(path)

    monkeypatch.setattr(os, "scandir", counting)
    return calls


def test_path_under_a_file_raises_access_error(tmp_path: Path) -> None:
    """A path that cannot be a directory raises StorageAccessError naming it."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a directory")
    with pytest.raises(StorageAccessError, match="cannot be created or written") as info:
        FileStorage("q", blocker / "data")
    assert str(blocker / "data") in str(info.value)


def test_missing_path_is_a_configuration_error() -> None:
    """FileStorage without a path says what is missing."""
    with pytest.raises(ConfigurationError, match="path="):
        FileStorage("q")


def test_bad_levels_are_refused(tmp_path: Path) -> None:
    """levels must be a small non-negative int."""
    with pytest.raises(ConfigurationError, match="levels"):
        FileStorage("q", tmp_path, levels=-1)


def test_dequeue_does_not_list_the_queue_directory_each_call(
    tmp_path: Path, scandir_calls: list[str]
) -> None:
    """After one scan, dequeues and reserves read only the journal's new lines."""
    storage = FileStorage("q", tmp_path)
    for index in range(30):
        storage.enqueue(f"{index:02d}".encode(), index % 3)
    scandir_calls.clear()
    first = storage.dequeue()
    assert scandir_calls.count("queue") == 1
    got = [first] + [storage.dequeue() for _ in range(19)]
    lease = storage.reserve(1000.0, 10.0)
    assert lease is not None
    storage.ack(lease.token)
    storage.enqueue(b"new", 5)  # a new item reaches the index through the journal
    got.append(storage.dequeue())
    assert scandir_calls.count("queue") == 1
    assert got[0] == b"02"
    assert got[-1] == b"new"


def test_another_instance_sees_items_through_the_journal(tmp_path: Path) -> None:
    """Two storages on one directory (as in two processes) share one queue."""
    producer, consumer = FileStorage("q", tmp_path), FileStorage("q", tmp_path)
    assert consumer.dequeue() is None
    producer.enqueue(b"a")
    producer.enqueue(b"b", 1)
    assert consumer.dequeue() == b"b"
    assert producer.dequeue() == b"a"  # the producer's index skips what the consumer took
    assert consumer.dequeue() is None


def test_journal_rotation_makes_readers_rescan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the journal is replaced, other instances rescan and miss nothing."""
    monkeypatch.setattr("huey.storage._file._JOURNAL_LIMIT", 100)
    producer, consumer = FileStorage("q", tmp_path), FileStorage("q", tmp_path)
    assert consumer.dequeue() is None
    items = [f"item-{index}".encode() for index in range(20)]
    for item in items:
        producer.enqueue(item)
    assert (tmp_path / "queue.journal").stat().st_size < 200
    assert [consumer.dequeue() for _ in items] == items


def test_item_missing_from_the_journal_is_found_when_the_index_runs_dry(tmp_path: Path) -> None:
    """An item whose journal line was lost (crash) is found by the next rescan."""
    storage = FileStorage("q", tmp_path)
    storage.enqueue(b"first")
    storage.enqueue(b"known")
    assert storage.dequeue() == b"first"  # the index now holds "known"
    other = FileStorage("q", tmp_path)
    other.enqueue(b"orphan")
    journal = tmp_path / "queue.journal"
    lines = journal.read_text().splitlines()
    journal.write_text("\n".join(lines[:2]) + "\n")  # the orphan's line is lost
    assert storage.dequeue() == b"known"
    assert storage.dequeue() == b"orphan"
    assert storage.dequeue() is None


def test_leases_survive_a_new_instance(tmp_path: Path) -> None:
    """A lease taken by one instance is acknowledged or expired through another."""
    first = FileStorage("q", tmp_path)
    first.enqueue(b"job")
    lease = first.reserve(1000.0, 10.0)
    assert lease is not None
    second = FileStorage("q", tmp_path)
    assert second.reserve(1000.0, 10.0) is None
    assert second.requeue_expired(1011.0, 5) == 1
    assert not first.ack(lease.token)
    again = second.reserve(1011.0, 10.0)
    assert again is not None
    assert (again.data, again.deliveries) == (b"job", 2)


def test_tokens_cannot_escape_the_directory(tmp_path: Path) -> None:
    """Tokens and letter ids that are not ours are refused, never used as paths."""
    storage = FileStorage("q", tmp_path / "data")
    (tmp_path / "victim").write_text("keep me")
    assert not storage.ack("../../victim")
    assert not storage.requeue_dead_letter("../../victim")
    assert (tmp_path / "victim").read_text() == "keep me"


def test_file_huey_runs_tasks(tmp_path: Path) -> None:
    """FileHuey forwards path and levels and works end to end."""
    huey = FileHuey("app", path=tmp_path, levels=1, clock=MockClock())

    @huey.task()
    def double(x: int) -> int:
        return 2 * x

    result = double(21)
    assert isinstance(huey.storage, FileStorage)
    assert huey.storage.levels == 1
    task = huey.dequeue()
    assert task is not None
    huey.execute(task)
    assert result.get() == 42


def test_full_disk_raises_storage_full_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC while writing raises StorageFull; no partial item or temporary file remains."""
    storage = FileStorage("q", tmp_path)
    storage.enqueue(b"before")

    def no_space(source: str, target: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", target)

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", no_space)
        with pytest.raises(StorageFull, match="out of space") as info:
            storage.enqueue(b"lost")
    assert str(tmp_path) in str(info.value)
    assert list(storage.enqueued_items()) == [b"before"]
    assert list((tmp_path / "tmp").iterdir()) == []
    storage.enqueue(b"after")
    assert [storage.dequeue(), storage.dequeue()] == [b"before", b"after"]
