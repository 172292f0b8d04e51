"""The command line, in-process: defaults, flag mapping, usage errors, --version, -v."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path

import pytest

import huey
from huey.__main__ import build_parser, main
from huey.consumer import ConsumerOptions, check_options


def _options(*argv: str) -> ConsumerOptions:
    from huey.__main__ import consumer_options

    args = build_parser().parse_args(["app.huey", *argv])
    return check_options(**consumer_options(args))


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


def test_version_prints_the_huey_version(capsys: pytest.CaptureFixture[str]) -> None:
    """``huey_consumer --version`` prints the version and exits 0, IMPORT_PATH or not."""
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"huey_consumer (huey) {huey.__version__}\n"


BROKEN_APP = """
def load_settings():
    raise RuntimeError("settings missing")


load_settings()
"""


@pytest.fixture
def app_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on ``sys.path`` for application modules written by a test."""
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    importlib.invalidate_caches()  # the directory is new to the import system
    return tmp_path


def test_a_failed_import_is_one_line_without_verbose(
    app_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without -v the import error stays one line, and says how to see the traceback."""
    (app_dir / "brokenapp_quiet.py").write_text(BROKEN_APP)
    assert main(["brokenapp_quiet.huey"]) == 2
    assert capsys.readouterr().err == (
        "huey_consumer: error: importing 'brokenapp_quiet' failed: "
        "RuntimeError: settings missing (-v shows the traceback)\n"
    )


def test_verbose_shows_the_traceback_of_a_failed_import(
    app_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With -v the application's traceback comes first, from its own frames."""
    module = app_dir / "brokenapp_verbose.py"
    module.write_text(BROKEN_APP)
    assert main(["brokenapp_verbose.huey", "-v"]) == 2
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    # The import machinery and huey's own frames are left out.
    assert lines[1].startswith(f'  File "{module}", line 6, in <module>')
    assert f'File "{module}", line 3, in load_settings' in err
    assert lines[-2] == "RuntimeError: settings missing"
    assert lines[-1] == (
        "huey_consumer: error: importing 'brokenapp_verbose' failed: RuntimeError: settings missing"
    )


def test_a_missing_dependency_is_not_reported_as_a_missing_application(
    app_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A module the application imports is named as what failed, with its traceback on -v."""
    (app_dir / "needsdep.py").write_text("import no_such_dependency_for_huey_tests\n")
    assert main(["needsdep.huey", "-v"]) == 2
    err = capsys.readouterr().err
    assert "needsdep.py" in err
    assert err.endswith(
        "huey_consumer: error: importing 'needsdep' failed: ModuleNotFoundError: "
        "No module named 'no_such_dependency_for_huey_tests'\n"
    )


def test_a_missing_application_module_has_no_traceback_even_with_verbose(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A module that does not exist has nothing to trace: one line, with or without -v."""
    assert main(["no_such_module_anywhere.huey", "-v"]) == 2
    assert capsys.readouterr().err == (
        "huey_consumer: error: cannot import 'no_such_module_anywhere' from "
        "'no_such_module_anywhere.huey': No module named 'no_such_module_anywhere'\n"
    )


def test_logging_is_set_up_on_the_root_logger_and_undone_after_an_error(
    app_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The application's INFO lines logged while it loads are shown; nothing is left behind."""
    (app_dir / "loudapp.py").write_text(
        "import logging\nlogging.getLogger('loudapp').info('loading loudapp')\n"
    )
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    assert main(["loudapp.huey", "-S"]) == 2
    err = capsys.readouterr().err
    assert "loading loudapp" in err
    assert err.endswith("huey_consumer: error: module 'loudapp' has no attribute 'huey'\n")
    assert (root.handlers, root.level) == (handlers, level)
