"""The command line, in-process: defaults, flag mapping and one-line usage errors."""

from __future__ import annotations

import pytest

from huey.__main__ import build_parser, main
from huey.consumer import ConsumerOptions, check_options


def _options(*argv: str) -> ConsumerOptions:
    from huey.__main__ import _consumer_options  # pyright: ignore[reportPrivateUsage] - white-box test

    args = build_parser().parse_args(["app.huey", *argv])
    return check_options(**_consumer_options(args))


def test_flag_defaults_are_the_consumer_defaults() -> None:
    """With no flags, the command line gives exactly the Consumer defaults."""
    assert _options() == ConsumerOptions()


def test_every_flag_maps_to_its_option() -> None:
    """Each short flag sets its consumer option."""
    options = _options(
        *("-w", "3", "-k", "process", "-d", "0.5", "-m", "5", "-b", "2"),
        *("-c", "3", "-f", "-L", "a,b", "-M", "7", "-t", "9", "-g", "term", "-s", "10", "-n"),
    )
    assert options == ConsumerOptions(
        workers=3,
        worker_type="process",
        initial_delay=0.5,
        max_delay=5.0,
        backoff=2.0,
        health_check_interval=3.0,
        flush_locks=True,
        extra_locks=("a", "b"),
        max_tasks=7,
        shutdown_timeout=9.0,
        graceful_signal="TERM",
        scheduler_interval=10,
        periodic=False,
    )
    assert _options("-C").check_worker_health is False


@pytest.mark.parametrize(
    "argv",
    [
        ["app.huey", "-w", "0"],
        ["app.huey", "-b", "nan"],
        ["app.huey", "-t", "inf"],
        ["app.huey", "-v", "-q"],
        ["app.huey", "-l", "/nonexistent-dir/consumer.log"],
        ["no_such_module_anywhere.huey"],
        [],
    ],
)
def test_usage_errors_are_one_line_and_status_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Invalid command lines return 2 and print a single line to stderr."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("huey_consumer: error: ")
    assert err.count("\n") == 1
