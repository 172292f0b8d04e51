"""The engine under the :class:`~huey.Huey` façade (see ``docs/architecture.rst``).

Layer 1: imports only the leaves below it (``_task``, the pure core, ``protocols``,
``storage``); never ``_api`` or anything above.
"""

from __future__ import annotations

from ._chords import Chords as Chords
from ._codec import Codec as Codec
from ._engine import Engine as Engine
from ._engine import HasEngine as HasEngine
from ._enqueuer import Enqueuer as Enqueuer
from ._events import Events as Events
from ._events import HeaderProvider as HeaderProvider
from ._events import HookKind as HookKind
from ._events import Receiver as Receiver
from ._ports import Ports as Ports
from ._registry import Registry as Registry
from ._registry import TaskEntry as TaskEntry
from ._results import Results as Results
from ._results import ResultSink as ResultSink
from ._results import Settlement as Settlement
from ._results import WriteThrough as WriteThrough
from ._revocations import Revocations as Revocations
from ._revocations import instance_key as instance_key
from ._revocations import task_key as task_key
from ._runner import ErrorBuilder as ErrorBuilder
from ._runner import Runner as Runner
from ._runner import RunOutcome as RunOutcome
from ._runner import default_error_result as default_error_result
from ._settings import HUEY_OPTION_NAMES as HUEY_OPTION_NAMES
from ._settings import Delivery as Delivery
from ._settings import HueyOptions as HueyOptions
from ._settings import Settings as Settings
from ._settings import check_priority as check_priority
from ._settings import check_storage as check_storage
from ._settings import check_storage_options as check_storage_options
from ._settings import clock_from as clock_from
from ._settings import make_storage as make_storage
from ._settings import option_names as option_names
from ._settings import serializer_from as serializer_from
from ._settings import settings_from as settings_from

__all__ = (
    "HUEY_OPTION_NAMES",
    "Chords",
    "Codec",
    "Delivery",
    "Engine",
    "Enqueuer",
    "ErrorBuilder",
    "Events",
    "HeaderProvider",
    "HasEngine",
    "HookKind",
    "HueyOptions",
    "Ports",
    "Receiver",
    "Registry",
    "ResultSink",
    "Results",
    "Revocations",
    "RunOutcome",
    "Runner",
    "Settings",
    "Settlement",
    "TaskEntry",
    "WriteThrough",
    "check_priority",
    "check_storage",
    "check_storage_options",
    "clock_from",
    "default_error_result",
    "make_storage",
    "serializer_from",
    "settings_from",
    "instance_key",
    "option_names",
    "task_key",
)
