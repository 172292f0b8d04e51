"""What the command-line entry points share: loading the application, one-line errors.

``huey_consumer`` (:mod:`huey.__main__`) and the operations commands (:mod:`huey._cli`)
both name a :class:`~huey.Huey` by import path and report a bad command line as one line
on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

from typing_extensions import override

from ._api import Huey

__all__ = (
    "USAGE_ERROR",
    "OneLineErrorParser",
    "UsageError",
    "application_traceback",
    "whole_number",
    "load_application",
    "load_huey",
)

USAGE_ERROR = 2
"""The exit status of a bad command line (import path, attribute, object, flag value)."""


class UsageError(Exception):
    """A bad command line; the message is printed as one line.

    Args:
        message: the line to print.
        cause: the exception behind it, whose traceback ``-v`` prints.
    """

    def __init__(self, message: str, *, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause


class OneLineErrorParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2."""

    @override
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def whole_number(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: a whole number from ``minimum`` to ``maximum`` (inclusive)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
            raise argparse.ArgumentTypeError(f"expected a number {bounds}, got {value}")
        return value

    return parse


def load_huey(path: str) -> object:
    """Import the object named by ``path`` (``module.attr`` or ``module:attr``).

    The current directory is searched too, as the original consumer does.

    Raises:
        UsageError: the module cannot be imported or lacks the attribute.
    """
    if ":" in path:
        module_name, _, attribute = path.partition(":")
    else:
        module_name, _, attribute = path.rpartition(".")
    if not module_name or not attribute:
        raise UsageError(
            f"import path {path!r} must name an object in a module, e.g. myapp.tasks.huey"
        )
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if _names_the_module(exc, module_name):
            # No cause: its traceback would only show the import machinery.
            raise UsageError(f"cannot import {module_name!r} from {path!r}: {exc}") from None
        # A module that the application imports is missing, not the application itself.
        raise UsageError(_import_failed(module_name, exc), cause=exc) from None
    except Exception as exc:
        raise UsageError(_import_failed(module_name, exc), cause=exc) from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise UsageError(f"module {module_name!r} has no attribute {attribute!r}") from None


def load_application(path: str) -> Huey[Any]:
    """The :class:`~huey.Huey` instance named by ``path`` (see :func:`load_huey`).

    Raises:
        UsageError: it cannot be imported, or is not a ``Huey``.
    """
    target = load_huey(path)
    if not isinstance(target, Huey):
        raise UsageError(f"{path!r} is a {type(target).__name__}, not a huey.Huey instance")
    huey: Huey[Any] = target  # pyright: ignore[reportUnknownVariableType] - any results mode
    return huey


def _names_the_module(exc: ModuleNotFoundError, module_name: str) -> bool:
    """Whether ``exc`` says ``module_name`` itself (or a package above it) does not exist."""
    missing = exc.name or ""
    return module_name == missing or module_name.startswith(f"{missing}.")


def _import_failed(module_name: str, exc: BaseException) -> str:
    return f"importing {module_name!r} failed: {type(exc).__name__}: {exc}".replace("\n", " ")


def application_traceback(exc: BaseException) -> str:
    """The traceback of ``exc``, starting at the application's first frame.

    The frames of this module and of the import machinery above it say nothing about
    what went wrong in the application, so they are left out.
    """
    machinery = {__file__, importlib.__file__}
    tb = exc.__traceback__
    while tb is not None and (
        tb.tb_frame.f_code.co_filename in machinery
        or tb.tb_frame.f_code.co_filename.startswith("<frozen importlib")
    ):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))
