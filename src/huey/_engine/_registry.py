"""The tasks an application knows, by name, and the lock names it has created."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from .._task import TaskSettings
from .._timeutil import delay_to_seconds
from ..exceptions import ConfigurationError
from ._settings import check_backoff, check_count, check_priority, check_timeout

__all__ = ("Registry", "TaskEntry")


@dataclass(frozen=True, slots=True)
class TaskEntry:
    """A registered task function.

    Attributes:
        func: the function the worker calls.
        settings: the defaults it was decorated with.
        validate_datetime: for a periodic task, whether it runs in a given minute.
    """

    func: Callable[..., object]
    settings: TaskSettings
    validate_datetime: Callable[[datetime], bool] | None = None


class Registry:
    """Registered tasks by name, and the names of the locks created for this application.

    Args:
        priorities: whether the storage keeps task priorities; without them a task
            decorated with a priority is refused at decoration time.
        storage_name: names the storage in that refusal.
    """

    def __init__(self, *, priorities: bool, storage_name: str) -> None:
        self._tasks: dict[str, TaskEntry] = {}
        self.priorities = priorities
        self.storage_name = storage_name
        self.lock_names: set[str] = set()

    def __contains__(self, name: object) -> bool:
        return name in self._tasks

    def __iter__(self) -> Iterator[str]:
        return iter(self._tasks)

    def __len__(self) -> int:
        return len(self._tasks)

    def get(self, name: str) -> TaskEntry | None:
        """The task registered as ``name``, if any."""
        return self._tasks.get(name)

    def periodic(self) -> list[TaskEntry]:
        """The periodic tasks, in registration order."""
        return [entry for entry in self._tasks.values() if entry.validate_datetime is not None]

    def register(
        self,
        fn: Callable[..., object],
        options: Mapping[str, object],
        validate: Callable[[datetime], bool] | None,
    ) -> TaskEntry:
        """Check a decorator's options and register ``fn`` under its name.

        Args:
            fn: the task function.
            options: the decorator's keyword arguments (``retries``, ``name``, ...).
            validate: for a periodic task, its ``validate_datetime``.

        Raises:
            ConfigurationError: an async generator function, a ``context=True``
                function without a ``task`` parameter, a periodic task with required
                arguments, or a priority on a storage without priorities.
            ValueError: the name is taken, or an option is out of range.
        """
        # An async def function is a task like any other: the runner runs its coroutine
        # on the worker's event loop. An async generator has no single result to store.
        if inspect.isasyncgenfunction(fn):
            raise ConfigurationError(
                f"{fn.__qualname__} is an async generator function; a task returns one "
                "value: collect the items in an async def function and return the list"
            )
        name = str(options.get("name") or f"{fn.__module__}.{fn.__name__}")
        if name in self._tasks:
            raise ValueError(f"a task named {name!r} is already registered")
        context = bool(options.get("context"))
        if context:
            _check_accepts_task(fn, name)
        if validate is not None:
            _check_callable_without_arguments(fn, name, context)
        priority = check_priority(options.get("priority"))
        if priority and not self.priorities:
            raise ConfigurationError(
                f"{self.storage_name} does not support task priorities (got priority="
                f"{priority!r}); use a storage with priorities (on Redis: PriorityRedisHuey "
                "or PriorityRedisExpireHuey, which need Redis 5+)"
            )
        expires = options.get("expires")
        if expires is not None and not isinstance(expires, datetime):
            expires = delay_to_seconds(expires, what="expires")
        settings = TaskSettings(
            name=name,
            retries=check_count(options.get("retries", 0), "retries"),
            retry_delay=delay_to_seconds(options.get("retry_delay", 0), what="retry_delay"),
            retry_backoff=check_backoff(options.get("retry_backoff", 1.0)),
            priority=priority,
            expires=expires,
            timeout=check_timeout(options.get("timeout")),
            context=context,
            periodic=validate is not None,
        )
        entry = TaskEntry(fn, settings, validate)
        self._tasks[name] = entry
        return entry

    def unregister(self, name: str) -> bool:
        """Forget the task ``name``; whether it was registered."""
        return self._tasks.pop(name, None) is not None


def _check_accepts_task(fn: Callable[..., object], name: str) -> None:
    parameters = inspect.signature(fn).parameters
    accepts_task = "task" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )
    if not accepts_task:
        raise ConfigurationError(
            f"{name} is registered with context=True, so it must accept a `task` "
            "keyword argument (e.g. `task: Task[int] | None = None`)"
        )


def _check_callable_without_arguments(fn: Callable[..., object], name: str, context: bool) -> None:
    # The scheduler calls periodic tasks without arguments: fail now, not at run time.
    required = [
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        and not (p.name == "task" and context)
    ]
    if required:
        raise ConfigurationError(
            f"periodic task {name} is called without arguments, but requires {', '.join(required)}"
        )
