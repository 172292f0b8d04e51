"""The operations commands of ``huey``: inspect and repair a queue from the shell.

``huey COMMAND IMPORT_PATH [options]`` (also ``python -m huey COMMAND ...``); without a
command, ``huey IMPORT_PATH`` runs the consumer as ``huey_consumer`` does (both scripts
are :func:`huey.__main__.main`, which hands the commands to :func:`run_command`). Every command
works through the :class:`~huey.Huey` façade and the storage's capabilities, so it works
on any storage; one that lacks what a command needs (dead letters need leases) gets a
one-line message and exit status 1.

Exit statuses: 0 done; 1 the operation failed or was not confirmed (storage error,
missing capability, unknown dead letter, "no" at the prompt); 2 a bad command line (as
``huey_consumer``: import path, attribute, flag). ``--json`` prints one JSON document on
stdout instead of the table.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from ._api import Huey
from ._commandline import (
    USAGE_ERROR,
    OneLineErrorParser,
    UsageError,
    load_application,
    whole_number,
)
from ._delivery import uses_leases
from ._engine import task_key
from ._version import __version__
from .contrib.prometheus import enqueue_time
from .exceptions import ConfigurationError, HueyException, StorageError
from .protocols import SupportsDeadLetterDeletion, SupportsLeaseCounts, SupportsLeases

__all__ = (
    "COMMANDS",
    "OLDEST_SCAN_LIMIT",
    "OPERATION_FAILED",
    "PROG",
    "OperationFailed",
    "run_command",
)

PROG: Final = "huey"
OPERATION_FAILED: Final = 1
"""The exit status of an operation that could not be done (or was not confirmed)."""

OLDEST_SCAN_LIMIT: Final = 10_000
"""How many queued messages ``info`` reads to find the oldest one."""

_CELL_WIDTH: Final = 60


class OperationFailed(Exception):
    """The command ran but could not do what was asked (exit status 1)."""


@dataclass(frozen=True, slots=True)
class _Context:
    """What a command runs with: the application, the arguments, where to write."""

    huey: Huey[Any]
    args: argparse.Namespace
    out: TextIO
    confirm: Callable[[str], bool]

    @property
    def json(self) -> bool:
        return bool(self.args.json)

    def emit(self, document: object, lines: Sequence[str]) -> None:
        """Print ``document`` as JSON with ``--json``, else the readable ``lines``."""
        if self.json:
            self.out.write(json.dumps(document, indent=2, default=repr) + "\n")
        else:
            self.out.writelines(f"{line}\n" for line in lines)


# --- formatting ------------------------------------------------------------------------


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _age(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def _cell(value: object, width: int = _CELL_WIDTH) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = text.replace("\n", " ")
    return text if len(text) <= width else f"{text[: width - 3]}..."


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns under ``header`` (the last column is not padded)."""
    widths = [max([len(header[i]), *(len(row[i]) for row in rows)]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [cell.ljust(width) for cell, width in zip(cells[:-1], widths, strict=False)]
        return "  ".join([*padded, cells[-1]]).rstrip()

    return [line(header), *(line(row) for row in rows)]


# --- the messages of the queue and the schedule ------------------------------------------


def _message_rows(ctx: _Context, items: Sequence[bytes]) -> tuple[list[object], list[str]]:
    """JSON records and table lines of queued or scheduled items.

    An item that cannot be decoded is listed as such, never skipped.
    """
    codec = ctx.huey.engine.codec
    records: list[object] = []
    rows: list[list[str]] = []
    for data in items:
        try:
            task = codec.decode_task(data)
        except HueyException as exc:
            records.append({"undecodable": str(exc), "bytes": len(data)})
            rows.append(["?", "(undecodable)", "-", "-", "-", _cell(str(exc))])
            continue
        records.append(
            {
                "id": task.id,
                "name": task.name,
                "args": list(task.args),
                "kwargs": dict(task.kwargs),
                "priority": task.priority,
                "eta": task.eta,
                "retries": task.retries,
                "expires_at": task.expires_at,
                "headers": dict(task.headers),
            }
        )
        call = ", ".join(
            [*(repr(arg) for arg in task.args), *(f"{k}={v!r}" for k, v in task.kwargs.items())]
        )
        priority, retries = str(task.priority), str(task.retries)
        rows.append([task.id, task.name, priority, _when(task.eta), retries, _cell(call)])
    lines = _table(["ID", "TASK", "PRIORITY", "ETA", "RETRIES", "ARGUMENTS"], rows)
    return records, [*lines, f"({len(records)} shown)"]


def _cmd_pending(ctx: _Context) -> int:
    records, lines = _message_rows(ctx, ctx.huey.storage.enqueued_items(ctx.args.limit))
    ctx.emit(records, lines)
    return 0


def _cmd_scheduled(ctx: _Context) -> int:
    records, lines = _message_rows(ctx, ctx.huey.storage.scheduled_items(ctx.args.limit))
    ctx.emit(records, lines)
    return 0


def _cmd_results(ctx: _Context) -> int:
    codec = ctx.huey.engine.codec
    items = sorted(ctx.huey.storage.result_items().items())
    if ctx.args.limit is not None:
        items = items[: ctx.args.limit]
    records: list[object] = []
    rows: list[list[str]] = []
    for key, raw in items:
        try:
            value: object = codec.decode(raw)
        except Exception as exc:  # any serializer's error: show the key all the same
            value = f"<undecodable: {exc}>"
        records.append({"key": key, "value": value, "bytes": len(raw)})
        rows.append([key, str(len(raw)), _cell(value)])
    ctx.emit(records, [*_table(["KEY", "BYTES", "VALUE"], rows), f"({len(records)} shown)"])
    return 0


# --- dead letters ------------------------------------------------------------------------


def _leases(ctx: _Context, what: str) -> SupportsLeases:
    storage = ctx.huey.storage
    if not isinstance(storage, SupportsLeases):
        raise OperationFailed(
            f"{what}: {type(storage).__name__} has no dead letters (they come with leased "
            "delivery, the SupportsLeases capability)"
        )
    return storage


def _task_name(ctx: _Context, data: bytes) -> str | None:
    try:
        return ctx.huey.engine.codec.decode_task(data).name
    except HueyException:
        return None


def _cmd_dead_letters(ctx: _Context) -> int:
    letters = _leases(ctx, "dead-letters").dead_letters(ctx.args.limit)
    records: list[object] = []
    rows: list[list[str]] = []
    for letter in letters:
        name = _task_name(ctx, letter.data)
        records.append(
            {
                "id": letter.id,
                "task": name,
                "reason": letter.reason,
                "deliveries": letter.deliveries,
                "timestamp": letter.timestamp,
            }
        )
        rows.append(
            [
                letter.id,
                name or "(undecodable)",
                str(letter.deliveries),
                _when(letter.timestamp),
                _cell(letter.reason, 2 * _CELL_WIDTH),
            ]
        )
    header = ["ID", "TASK", "DELIVERIES", "WHEN", "REASON"]
    ctx.emit(records, [*_table(header, rows), f"({len(records)} shown)"])
    return 0


def _chosen_letters(ctx: _Context, storage: SupportsLeases) -> list[str]:
    if ctx.args.all:
        return [letter.id for letter in storage.dead_letters(None)]
    return list(ctx.args.ids)


def _each_letter(
    ctx: _Context, ids: Sequence[str], operation: Callable[[str], bool], done: str
) -> int:
    """Apply ``operation`` to each dead letter; report what was ``done`` and the missing."""
    found: list[str] = []
    missing: list[str] = []
    for letter_id in ids:
        (found if operation(letter_id) else missing).append(letter_id)
    lines = [f"{done} {len(found)} dead letter(s)"]
    lines += [f"no dead letter {letter_id!r}" for letter_id in missing]
    ctx.emit({done: found, "missing": missing}, lines)
    return OPERATION_FAILED if missing else 0


def _cmd_requeue(ctx: _Context) -> int:
    storage = _leases(ctx, "requeue")
    ids = _chosen_letters(ctx, storage)
    if not ids:
        ctx.emit({"requeued": [], "missing": []}, ["no dead letters to requeue"])
        return 0
    if not ctx.args.yes and not ctx.confirm(f"requeue {len(ids)} dead letter(s)?"):
        raise OperationFailed("not confirmed; nothing requeued")
    return _each_letter(ctx, ids, storage.requeue_dead_letter, "requeued")


def _cmd_purge(ctx: _Context) -> int:
    storage = _leases(ctx, "purge")
    if ctx.args.all:
        count = len(storage.dead_letters(None))
        if not ctx.args.yes and not ctx.confirm(f"delete all {count} dead letter(s)?"):
            raise OperationFailed("not confirmed; nothing deleted")
        purged = storage.purge_dead_letters()
        ctx.emit({"purged": purged}, [f"deleted {purged} dead letter(s)"])
        return 0
    if not isinstance(storage, SupportsDeadLetterDeletion):
        raise OperationFailed(
            f"purge: {type(storage).__name__} cannot delete single dead letters (the "
            "SupportsDeadLetterDeletion capability); requeue the ones to keep, then purge --all"
        )
    ids: list[str] = list(ctx.args.ids)
    if not ctx.args.yes and not ctx.confirm(f"delete {len(ids)} dead letter(s)?"):
        raise OperationFailed("not confirmed; nothing deleted")
    return _each_letter(ctx, ids, storage.delete_dead_letter, "deleted")


# --- revocation and flushing -------------------------------------------------------------


def _check_task_names(ctx: _Context) -> list[str]:
    names: list[str] = list(ctx.args.task or [])
    registry = ctx.huey.engine.registry
    unknown = [name for name in names if name not in registry]
    if unknown:
        known = ", ".join(sorted(registry)) or "(none)"
        raise UsageError(f"unknown task(s) {', '.join(unknown)}; registered: {known}")
    if not names and not ctx.args.id:
        raise UsageError("name at least one --task or --id")
    return names


def _cmd_revoke(ctx: _Context) -> int:
    names = _check_task_names(ctx)
    until: datetime | None = ctx.args.until
    once: bool = ctx.args.once
    revocations = ctx.huey.engine.revocations
    for name in names:
        # What TaskWrapper.revoke does, by name: the wrappers live in the application.
        until_epoch = None if until is None else until.timestamp()
        revocations.put(task_key(name), until_epoch, once)
    for task_id in ctx.args.id or ():
        ctx.huey.revoke_by_id(task_id, until, once)
    scope = ""
    if once:
        scope = " for one run"
    elif until is not None:
        scope = f" until {_when(until.timestamp())}"
    lines = [f"revoked task {name}{scope}" for name in names]
    lines += [f"revoked task id {task_id}{scope}" for task_id in ctx.args.id or ()]
    ctx.emit({"tasks": names, "ids": list(ctx.args.id or ())}, lines)
    return 0


def _cmd_restore(ctx: _Context) -> int:
    names = _check_task_names(ctx)
    revocations = ctx.huey.engine.revocations
    tasks = {name: revocations.remove(task_key(name)) for name in names}
    ids = {task_id: ctx.huey.restore_by_id(task_id) for task_id in ctx.args.id or ()}
    targets = [(f"task {name}", found) for name, found in tasks.items()]
    targets += [(f"task id {task_id}", found) for task_id, found in ids.items()]
    lines = [
        f"restored {target}" if found else f"{target} was not revoked" for target, found in targets
    ]
    # Whether each one was revoked (and so is restored now).
    ctx.emit({"tasks": tasks, "ids": ids}, lines)
    return 0


def _cmd_flush(ctx: _Context) -> int:
    prompt = (
        f"delete everything of {ctx.huey.name!r}: queue, schedule, results, revocations, "
        "locks and dead letters?"
    )
    if not ctx.args.yes and not ctx.confirm(prompt):
        raise OperationFailed("not confirmed; nothing deleted")
    ctx.huey.flush()
    ctx.emit({"flushed": ctx.huey.name}, [f"flushed {ctx.huey.name}"])
    return 0


# --- info --------------------------------------------------------------------------------


def _oldest_wait(ctx: _Context, now: float) -> float | None:
    """Seconds the longest-waiting queued message has waited, if any message tells.

    A message waits from its enqueue time (the ``huey-enqueued-at`` header, written when
    the producer recorded it: :func:`huey.contrib.prometheus.record_enqueue_time`) or,
    for one that was scheduled, from its ``eta``.
    """
    codec = ctx.huey.engine.codec
    since: list[float] = []
    for data in ctx.huey.storage.enqueued_items(OLDEST_SCAN_LIMIT):
        try:
            task = codec.decode_task(data)
        except HueyException:
            continue
        stamps: list[float] = [task.eta] if task.eta is not None else []
        enqueued = enqueue_time(task)
        if enqueued is not None:
            stamps.append(enqueued)
        if stamps:
            since.append(max(stamps))
    return now - min(since) if since else None


def _cmd_info(ctx: _Context) -> int:
    huey = ctx.huey
    storage = huey.storage
    settings = huey.engine.settings
    now = huey.engine.ports.clock.time()
    queued = storage.queue_size()
    oldest = _oldest_wait(ctx, now) if queued else None
    dead: int | None = None
    if isinstance(storage, SupportsLeases):
        dead = len(storage.dead_letters(None))
    leases = storage.lease_counts(now) if isinstance(storage, SupportsLeaseCounts) else None
    tasks = sorted(huey.engine.registry)
    if uses_leases(huey):
        delivery = f"at-least-once (leases of {settings.lease_timeout:g}s)"
    else:
        delivery = "at-most-once"
    document: dict[str, object] = {
        "name": huey.name,
        "storage": type(storage).__name__,
        "delivery": delivery,
        "queued": queued,
        "oldest_wait_seconds": oldest,
        "scheduled": storage.schedule_size(),
        "results": storage.result_store_size(),
        "dead_letters": dead,
        "in_flight": None if leases is None else leases.in_flight,
        "expired_leases": None if leases is None else leases.expired,
        "tasks": tasks,
    }
    if oldest is not None:
        waiting = f"{queued} (oldest waiting {_age(oldest)})"
    elif queued:
        waiting = f"{queued} (no message tells its enqueue time)"
    else:
        waiting = "0"
    not_kept = f"n/a ({type(storage).__name__} has no leases)"
    if leases is not None:
        leased = f"{leases.in_flight} in flight, {leases.expired} expired"
    elif isinstance(storage, SupportsLeases):
        leased = f"n/a ({type(storage).__name__} does not count them)"
    else:
        leased = not_kept
    rows = [
        ("name", huey.name),
        ("storage", type(storage).__name__),
        ("delivery", delivery),
        ("queued", waiting),
        ("scheduled", str(document["scheduled"])),
        ("result keys", str(document["results"])),
        ("dead letters", not_kept if dead is None else str(dead)),
        ("leases", leased),
        ("tasks", ", ".join(tasks) or "(none)"),
    ]
    width = max(len(label) for label, _ in rows)
    ctx.emit(document, [f"{label.ljust(width)}  {value}" for label, value in rows])
    return 0


# --- the command line --------------------------------------------------------------------

_Command = Callable[[_Context], int]


def _aware_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 time, got {text!r}") from None
    # A naive time is local time, as everywhere in huey.
    return value if value.tzinfo is not None else value.astimezone()


def _build_parser() -> tuple[argparse.ArgumentParser, dict[str, _Command]]:
    parser = OneLineErrorParser(
        prog=PROG,
        description=(
            "Inspect and repair the queue of the Huey instance at IMPORT_PATH. "
            "'huey IMPORT_PATH [flags]' (no command) runs the consumer."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    handlers: dict[str, _Command] = {}

    def command(name: str, handler: _Command, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("import_path", metavar="IMPORT_PATH", help="e.g. myapp.tasks.huey")
        sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
        handlers[name] = handler
        return sub

    command("info", _cmd_info, "sizes of the queue, schedule, results, dead letters and leases")
    listings: list[tuple[str, _Command, str]] = [
        ("pending", _cmd_pending, "the queued tasks, in the order they will run"),
        ("scheduled", _cmd_scheduled, "the scheduled tasks, earliest first"),
        ("results", _cmd_results, "the keys of the result store and their values"),
        ("dead-letters", _cmd_dead_letters, "the dead letters, oldest first"),
    ]
    for name, handler, help_text in listings:
        sub = command(name, handler, help_text)
        sub.add_argument(
            "--limit", type=whole_number(0), default=None, help="show at most this many"
        )
    for name, handler, help_text in (
        ("requeue", _cmd_requeue, "put dead letters back in the queue"),
        ("purge", _cmd_purge, "delete dead letters"),
    ):
        sub = command(name, handler, help_text)
        chosen = sub.add_mutually_exclusive_group(required=True)
        chosen.add_argument("ids", metavar="ID", nargs="*", default=[], help="dead letter ids")
        chosen.add_argument("--all", action="store_true", help="every dead letter")
        sub.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    for name, handler, help_text in (
        ("revoke", _cmd_revoke, "stop tasks from running, by task name or task id"),
        ("restore", _cmd_restore, "undo a revocation, by task name or task id"),
    ):
        sub = command(name, handler, help_text)
        sub.add_argument("--task", action="append", metavar="NAME", help="a registered task")
        sub.add_argument("--id", action="append", metavar="ID", help="one task instance")
        if name == "revoke":
            sub.add_argument(
                "--until", type=_aware_datetime, help="revoke until this ISO 8601 time"
            )
            sub.add_argument("--once", action="store_true", help="revoke for one run only")
    flush = command("flush", _cmd_flush, "delete everything of the queue")
    flush.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    return parser, handlers


COMMANDS: Final = frozenset(_build_parser()[1])
"""The command names; ``huey`` given anything else runs the consumer."""


def _ask(prompt: str) -> bool:
    sys.stderr.write(f"{prompt} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def run_command(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    confirm: Callable[[str], bool] = _ask,
) -> int:
    """Run one operations command; return its exit status (0, 1 or 2).

    Args:
        argv: the arguments, the command first (default ``sys.argv[1:]``).
        out: where the output goes (default stdout); messages go to stderr.
        confirm: asks a yes/no question (default: on stderr, answered on stdin).
    """
    parser, handlers = _build_parser()
    try:
        args = parser.parse_args(argv)
        ctx = _Context(load_application(args.import_path), args, out or sys.stdout, confirm)
        status = handlers[args.command](ctx)
    except UsageError as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return USAGE_ERROR
    except (OperationFailed, ConfigurationError, StorageError) as exc:
        message = str(exc).replace("\n", " ")
        sys.stderr.write(f"{PROG}: {message}\n")
        return OPERATION_FAILED
    return status
