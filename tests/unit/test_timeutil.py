"""Unit tests for delay checks (``huey._timeutil``) and time conversion (``huey._localtime``)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huey._localtime import datetime_to_epoch, epoch_to_datetime
from huey._timeutil import MAX_DELAY_SECONDS, aware_to_epoch, delay_to_seconds


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (-1, ValueError),
        (-0.001, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        (float("-inf"), ValueError),
        (1e20, ValueError),
        (timedelta(seconds=-1), ValueError),
        (timedelta(days=365 * 200), ValueError),
        (True, TypeError),
        (False, TypeError),
        ("10", TypeError),
        (None, TypeError),
        ([1], TypeError),
        (datetime(2026, 1, 1), TypeError),
    ],
    ids=repr,
)
def test_delay_to_seconds_rejects(value: object, error: type[Exception]) -> None:
    """Invalid delays raise TypeError (wrong kind) or ValueError (bad number)."""
    with pytest.raises(error):
        delay_to_seconds(value)


def test_delay_to_seconds_names_the_parameter() -> None:
    """The message names the offending parameter so the caller can find it."""
    with pytest.raises(ValueError, match="retry_delay"):
        delay_to_seconds(-5, what="retry_delay")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0.0),
        (5, 5.0),
        (2.5, 2.5),
        (timedelta(minutes=2), 120.0),
        (timedelta(milliseconds=1), 0.001),
        (MAX_DELAY_SECONDS, MAX_DELAY_SECONDS),
    ],
)
def test_delay_to_seconds_accepts(value: object, seconds: float) -> None:
    """Numbers and timedeltas become float seconds."""
    result = delay_to_seconds(value)
    assert result == seconds
    assert type(result) is float


@given(st.floats(min_value=0, max_value=MAX_DELAY_SECONDS))
def test_delay_to_seconds_is_identity_on_valid_floats(value: float) -> None:
    """Every valid float delay is returned unchanged."""
    assert delay_to_seconds(value) == value


def test_aware_to_epoch() -> None:
    """Aware datetimes convert regardless of their zone; naive ones are refused."""
    moment = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    plus_two = moment.astimezone(timezone(timedelta(hours=2)))
    assert aware_to_epoch(moment) == aware_to_epoch(plus_two) == 1_767_268_800.0
    with pytest.raises(ValueError, match="naive"):
        aware_to_epoch(datetime(2026, 1, 1))


@pytest.fixture
def berlin() -> Iterator[None]:
    """Run the test with the process time zone set to Europe/Berlin, then restore it."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Berlin"
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


def test_datetime_to_epoch_aware() -> None:
    """An aware datetime converts to its UTC epoch, whatever the host zone."""
    moment = datetime(2026, 3, 29, 2, 30, tzinfo=UTC)
    assert datetime_to_epoch(moment) == moment.timestamp()
    east = moment.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert datetime_to_epoch(east) == moment.timestamp()


@pytest.mark.usefixtures("berlin")
def test_datetime_to_epoch_naive_is_local_time() -> None:
    """A naive datetime is the host's local time (Berlin: UTC+1 in winter, +2 in summer)."""
    winter = datetime(2026, 1, 15, 13, 0)
    summer = datetime(2026, 7, 15, 14, 0)
    assert datetime_to_epoch(winter) == datetime(2026, 1, 15, 12, 0, tzinfo=UTC).timestamp()
    assert datetime_to_epoch(summer) == datetime(2026, 7, 15, 12, 0, tzinfo=UTC).timestamp()


@pytest.mark.usefixtures("berlin")
def test_datetime_to_epoch_rejects_dst_gap() -> None:
    """02:30 on 2026-03-29 does not exist in Berlin: ValueError naming the parameter."""
    with pytest.raises(ValueError, match="eta 2026-03-29T02:30:00"):
        datetime_to_epoch(datetime(2026, 3, 29, 2, 30))


@pytest.mark.usefixtures("berlin")
def test_datetime_to_epoch_rejects_dst_fold() -> None:
    """02:30 on 2026-10-25 happens twice in Berlin: ValueError, whatever the fold."""
    with pytest.raises(ValueError, match="revoke_until"):
        datetime_to_epoch(datetime(2026, 10, 25, 2, 30), what="revoke_until")
    with pytest.raises(ValueError, match="ambiguous"):
        datetime_to_epoch(datetime(2026, 10, 25, 2, 30, fold=1))


@pytest.mark.usefixtures("berlin")
def test_datetime_to_epoch_aware_is_fine_during_dst_change() -> None:
    """Aware datetimes inside the local gap or fold are unambiguous and accepted."""
    moment = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST in Berlin
    assert datetime_to_epoch(moment) == moment.timestamp()


@pytest.mark.usefixtures("berlin")
def test_epoch_to_datetime_utc_and_local() -> None:
    """Epochs become naive UTC or naive local datetimes."""
    epoch = datetime(2026, 7, 15, 12, 0, tzinfo=UTC).timestamp()
    assert epoch_to_datetime(epoch, utc=True) == datetime(2026, 7, 15, 12, 0)
    assert epoch_to_datetime(epoch, utc=False) == datetime(2026, 7, 15, 14, 0)
