"""Tests for huey._crontab: parsing, matching and next_fire."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from huey._crontab import Crontab, crontab, next_fire

# ---------------------------------------------------------------------------
# Independent brute-force oracle
# ---------------------------------------------------------------------------

# (name, lowest literal, highest literal)
FIELDS: dict[str, tuple[int, int]] = {
    "minute": (0, 59),
    "hour": (0, 23),
    "day": (1, 31),
    "month": (1, 12),
    "day_of_week": (0, 7),
}


def expand_item(item: str, field: str) -> list[int]:
    """Naively expand one list item of a field, walking ranges value by value."""
    lo, hi = FIELDS[field]
    is_dow = field == "day_of_week"
    body, _, step_text = item.strip().partition("/")
    step = int(step_text) if step_text else 1
    if body == "*":
        values = list(range(lo, (6 if is_dow else hi) + 1))
    else:
        first_text, _, last_text = body.partition("-")
        first = int(first_text)
        last = int(last_text) if last_text else first
        if first <= last:
            values = list(range(first, last + 1))
        else:
            # Walk forward one value at a time, wrapping at the end of the cycle.
            current = first % 7 if is_dow else first
            values = [current]
            while current != last:
                if is_dow:
                    current = (current + 1) % 7
                elif current == hi:
                    current = lo
                else:
                    current += 1
                values.append(current)
    return [value for index, value in enumerate(values) if index % step == 0]


def expand(expr: str, field: str) -> set[int]:
    """Naively expand a whole field expression (day_of_week normalised to 0-6)."""
    result: set[int] = set()
    for item in expr.split(","):
        result.update(expand_item(item, field))
    if field == "day_of_week":
        return {value % 7 for value in result}
    return result


class Oracle(NamedTuple):
    """Expanded sets of a crontab expression."""

    minutes: set[int]
    hours: set[int]
    days: set[int]
    months: set[int]
    days_of_week: set[int]

    def date_matches(self, d: date) -> bool:
        """Whether the calendar date matches day, month and day of week."""
        return (
            d.day in self.days
            and d.month in self.months
            and d.isoweekday() % 7 in self.days_of_week
        )

    def matches(self, dt: datetime) -> bool:
        """Whether the datetime's minute matches every field."""
        return dt.minute in self.minutes and dt.hour in self.hours and self.date_matches(dt.date())

    def can_fire(self) -> bool:
        """Whether some (month, day) pair exists in a leap year."""
        return any(
            (date(2000, month, 1) + timedelta(days=day - 1)).month == month
            for month in self.months
            for day in self.days
        )


class Expr(NamedTuple):
    """Five generated field expressions."""

    month: str
    day: str
    day_of_week: str
    hour: str
    minute: str

    def oracle(self) -> Oracle:
        """Expand with the oracle."""
        return Oracle(
            minutes=expand(self.minute, "minute"),
            hours=expand(self.hour, "hour"),
            days=expand(self.day, "day"),
            months=expand(self.month, "month"),
            days_of_week=expand(self.day_of_week, "day_of_week"),
        )

    def build(self) -> Crontab:
        """Build with the implementation under test."""
        return crontab(
            month=self.month,
            day=self.day,
            day_of_week=self.day_of_week,
            hour=self.hour,
            minute=self.minute,
        )


def truncate(dt: datetime) -> datetime:
    """Drop seconds and microseconds."""
    return dt.replace(second=0, microsecond=0)


def brute_next_minutes(oracle: Oracle, after: datetime, limit: timedelta) -> datetime | None:
    """Scan minute by minute for the first match after ``after`` within ``limit``."""
    candidate = truncate(after) + timedelta(minutes=1)
    end = after + limit
    while candidate <= end:
        if oracle.matches(candidate):
            return candidate
        candidate += timedelta(minutes=1)
    return None


def brute_next_days(oracle: Oracle, after: datetime, max_days: int) -> datetime | None:
    """Scan minute by minute, but jump over whole days whose date does not match."""
    candidate = truncate(after) + timedelta(minutes=1)
    for _ in range(max_days):
        if oracle.date_matches(candidate.date()):
            day = candidate.date()
            while candidate.date() == day:
                if oracle.matches(candidate):
                    return candidate
                candidate += timedelta(minutes=1)
        else:
            candidate = candidate.replace(hour=0, minute=0) + timedelta(days=1)
    return None


# ---------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------


@st.composite
def field_items(draw: st.DrawFn, field: str) -> str:
    """One item of a field: literal, '*', '*/n', 'a-b' or 'a-b/k' (a > b wraps)."""
    lo, hi = FIELDS[field]
    kind = draw(st.sampled_from(["literal", "star", "star_step", "range", "range_step"]))
    step = draw(st.integers(1, hi - lo + 3))
    first = draw(st.integers(lo, hi))
    last = draw(st.integers(lo, hi))
    if kind == "literal":
        return str(first)
    if kind == "star":
        return "*"
    if kind == "star_step":
        return f"*/{step}"
    if kind == "range":
        return f"{first}-{last}"
    return f"{first}-{last}/{step}"


@st.composite
def field_exprs(draw: st.DrawFn, field: str) -> str:
    """A comma-separated list of 1-3 items, with optional whitespace."""
    items = draw(st.lists(field_items(field), min_size=1, max_size=3))
    separator = draw(st.sampled_from([",", ", ", " , "]))
    padding = draw(st.sampled_from(["", " "]))
    return padding + separator.join(items) + padding


@st.composite
def exprs(draw: st.DrawFn, dense_dates: bool = False) -> Expr:
    """Five field expressions; with ``dense_dates`` month and day are '*'."""
    month = "*" if dense_dates else draw(field_exprs("month"))
    day = "*" if dense_dates else draw(field_exprs("day"))
    return Expr(
        month=month,
        day=day,
        day_of_week=draw(field_exprs("day_of_week")),
        hour=draw(field_exprs("hour")),
        minute=draw(field_exprs("minute")),
    )


TIMEZONES = [
    None,
    UTC,
    timezone(timedelta(hours=5, minutes=30)),
    timezone(-timedelta(hours=8)),
]

datetimes = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 12, 31))


def with_tz(dt: datetime, tz: timezone | None) -> datetime:
    """Attach a tzinfo (or none) to a naive datetime."""
    return dt.replace(tzinfo=tz)


aware_or_naive = st.builds(with_tz, datetimes, st.sampled_from(TIMEZONES))


# ---------------------------------------------------------------------------
# Unit examples
# ---------------------------------------------------------------------------


def test_every_three_hours() -> None:
    """minute='0', hour='*/3' matches on the hour every third hour only."""
    cron = crontab(minute="0", hour="*/3")
    assert cron.hours == frozenset({0, 3, 6, 9, 12, 15, 18, 21})
    assert cron.minutes == frozenset({0})
    assert cron(datetime(2024, 1, 1, 0, 0))
    assert cron(datetime(2024, 1, 1, 21, 0, 59, 999999))
    assert not cron(datetime(2024, 1, 1, 4, 0))
    assert not cron(datetime(2024, 1, 1, 3, 1))


def test_lists_ranges_and_steps() -> None:
    """Lists, ranges and m-n/k expand to the expected sets."""
    assert crontab(minute="0,15,30,45").minutes == frozenset({0, 15, 30, 45})
    assert crontab(hour="9-17").hours == frozenset(range(9, 18))
    assert crontab(minute="10-50/20").minutes == frozenset({10, 30, 50})
    assert crontab(day="1-10/3,20").days == frozenset({1, 4, 7, 10, 20})
    assert crontab(month="*/4").months == frozenset({1, 5, 9})
    assert crontab(minute=" 1 , 2 ,3 ").minutes == frozenset({1, 2, 3})


def test_step_larger_than_span_yields_start() -> None:
    """A step beyond the span keeps only the first value."""
    assert crontab(minute="*/100").minutes == frozenset({0})
    assert crontab(minute="10-20/50").minutes == frozenset({10})
    assert crontab(day="*/31").days == frozenset({1})


def test_wrap_around_hour() -> None:
    """hour='22-2' is 22, 23, 0, 1, 2 and stepping walks the wrapped sequence."""
    assert crontab(hour="22-2").hours == frozenset({22, 23, 0, 1, 2})
    assert crontab(hour="22-2/2").hours == frozenset({22, 0, 2})
    assert crontab(minute="50-10/15").minutes == frozenset({50, 5})
    cron = crontab(hour="22-2", minute="0")
    assert cron(datetime(2024, 1, 1, 23, 0))
    assert cron(datetime(2024, 1, 1, 1, 0))
    assert not cron(datetime(2024, 1, 1, 12, 0))


def test_wrap_around_day_of_week() -> None:
    """day_of_week='5-1' is Fri, Sat, Sun, Mon on real dates."""
    cron = crontab(day_of_week="5-1")
    assert cron.days_of_week == frozenset({5, 6, 0, 1})
    thursday = date(2024, 6, 6)
    assert thursday.strftime("%A") == "Thursday"
    matched = [
        (thursday + timedelta(days=offset)).strftime("%A")
        for offset in range(7)
        if cron(datetime.combine(thursday + timedelta(days=offset), datetime.min.time()))
    ]
    assert matched == ["Friday", "Saturday", "Sunday", "Monday"]
    assert crontab(day_of_week="5-1/2").days_of_week == frozenset({5, 0})
    assert crontab(day_of_week="7-2").days_of_week == frozenset({0, 1, 2})


def test_day_of_week_five_to_seven_is_fri_sat_sun() -> None:
    """'5-7' matches Friday, Saturday and Sunday and nothing else."""
    cron = crontab(day_of_week="5-7")
    expected = {"Friday", "Saturday", "Sunday"}
    for offset in range(14):
        day = date(2024, 6, 3) + timedelta(days=offset)
        dt = datetime(day.year, day.month, day.day, 12, 30)
        assert cron(dt) == (day.strftime("%A") in expected), day


def test_zero_and_seven_are_sunday() -> None:
    """Both 0 and 7 select Sunday."""
    sunday = datetime(2024, 6, 9, 8, 0)
    assert sunday.strftime("%A") == "Sunday"
    for value in ("0", "7", 0, 7):
        cron = crontab(day_of_week=value)
        assert cron.days_of_week == frozenset({0})
        assert cron(sunday)
        assert not cron(sunday + timedelta(days=1))
    assert crontab(day_of_week="0-7").days_of_week == frozenset(range(7))


def test_day_and_day_of_week_combine_with_and() -> None:
    """Day of month and day of week must both match."""
    cron = crontab(day="7", day_of_week="5")
    assert cron(datetime(2024, 6, 7))  # Friday the 7th
    assert not cron(datetime(2024, 6, 14))  # a Friday, not the 7th
    assert not cron(datetime(2024, 7, 7))  # the 7th, a Sunday


def test_ints_accepted() -> None:
    """Ints act like their string form."""
    assert crontab(minute=5, hour=0) == crontab(minute="5", hour="0")
    cron = crontab(month=1, day=2, day_of_week=3, hour=4, minute=5)
    assert (cron.month, cron.day, cron.day_of_week, cron.hour, cron.minute) == (
        "1",
        "2",
        "3",
        "4",
        "5",
    )


def _call_positionally(build: Callable[..., Crontab], *args: object) -> Crontab:
    """Call ``build`` with positional fields, as untyped code can."""
    return build(*args)


SHORTCUTS: dict[str, Callable[..., Crontab]] = {
    "crontab": crontab,
    "crontab.hourly": crontab.hourly,
    "crontab.daily": crontab.daily,
    "crontab.weekly": crontab.weekly,
    "crontab.monthly": crontab.monthly,
    "crontab.yearly": crontab.yearly,
}


@pytest.mark.parametrize("name", SHORTCUTS)
def test_positional_fields_raise_type_error_explaining_why(name: str) -> None:
    """A positional field is refused: the original's docs and code disagree on the order."""
    with pytest.raises(TypeError) as info:
        _call_positionally(SHORTCUTS[name], "*/5")
    message = str(info.value)
    assert message.startswith(f"{name}() takes its fields by keyword only")
    assert "(month, day, day_of_week, hour, minute)" in message
    assert "(minute, hour, day, month, day_of_week)" in message
    assert f"{name}(minute='*/5')" in message


def test_several_positional_fields_are_all_shown() -> None:
    """The message repeats what was passed, so the caller finds the call."""
    with pytest.raises(TypeError, match=r"got positional \('0', '2'\)"):
        _call_positionally(crontab, "0", "2")


def test_strict_true_is_accepted_silently(recwarn: pytest.WarningsRecorder) -> None:
    """``strict=True`` is what this huey always does: no warning, same schedule."""
    assert crontab(minute="0", strict=True) == crontab(minute="0")
    assert crontab.daily(strict=True) == crontab.daily()
    assert len(recwarn) == 0


def test_strict_false_warns_and_still_parses_strictly() -> None:
    """``strict=False`` warns that it changes nothing; bad items are still refused."""
    with pytest.warns(DeprecationWarning, match=r"strict=False.*always parsed strictly"):
        cron = crontab(minute="0", strict=False)
    assert cron == crontab(minute="0")
    with (
        pytest.warns(DeprecationWarning, match="strict=False"),
        pytest.raises(ValueError, match=r"^crontab minute: "),
    ):
        crontab(minute="foo", strict=False)
    with pytest.warns(DeprecationWarning, match="strict=False"):
        crontab.hourly(strict=False)


def test_strict_false_warning_points_at_the_caller() -> None:
    """The warning names the line that passed ``strict=False``, not huey's code."""
    with pytest.warns(DeprecationWarning, match="strict=False") as record:
        crontab(strict=False)
    assert record[0].filename == __file__


@pytest.mark.parametrize(
    ("shortcut", "explicit", "matching", "not_matching"),
    [
        (
            crontab.hourly(),
            crontab(minute="0"),
            [datetime(2024, 6, 7, 0, 0), datetime(2024, 6, 7, 13, 0)],
            [datetime(2024, 6, 7, 13, 1), datetime(2024, 6, 7, 13, 30)],
        ),
        (
            crontab.daily(),
            crontab(minute="0", hour="0"),
            [datetime(2024, 6, 7, 0, 0), datetime(2024, 2, 29, 0, 0)],
            [datetime(2024, 6, 7, 1, 0), datetime(2024, 6, 7, 0, 1)],
        ),
        (
            crontab.weekly(),
            crontab(minute="0", hour="0", day_of_week="0"),
            [datetime(2024, 6, 9, 0, 0), datetime(2024, 6, 16, 0, 0)],  # Sundays
            [datetime(2024, 6, 10, 0, 0), datetime(2024, 6, 9, 12, 0)],
        ),
        (
            crontab.monthly(),
            crontab(minute="0", hour="0", day="1"),
            [datetime(2024, 6, 1, 0, 0), datetime(2024, 12, 1, 0, 0)],
            [datetime(2024, 6, 2, 0, 0), datetime(2024, 6, 1, 0, 5)],
        ),
        (
            crontab.yearly(),
            crontab(minute="0", hour="0", day="1", month="1"),
            [datetime(2024, 1, 1, 0, 0), datetime(2031, 1, 1, 0, 0)],
            [datetime(2024, 2, 1, 0, 0), datetime(2024, 1, 2, 0, 0)],
        ),
    ],
    ids=["hourly", "daily", "weekly", "monthly", "yearly"],
)
def test_shortcuts(
    shortcut: Crontab, explicit: Crontab, matching: list[datetime], not_matching: list[datetime]
) -> None:
    """Each shortcut is cron's ``@hourly``/``@daily``/... schedule, at minute 0 / midnight."""
    assert shortcut == explicit
    assert all(shortcut(dt) for dt in matching)
    assert not any(shortcut(dt) for dt in not_matching)


def test_shortcut_next_fire() -> None:
    """The shortcuts fire when cron's ``@`` schedules do."""
    after = datetime(2024, 6, 7, 13, 30)  # a Friday
    assert next_fire(crontab.hourly(), after) == datetime(2024, 6, 7, 14, 0)
    assert next_fire(crontab.daily(), after) == datetime(2024, 6, 8, 0, 0)
    assert next_fire(crontab.weekly(), after) == datetime(2024, 6, 9, 0, 0)
    assert next_fire(crontab.monthly(), after) == datetime(2024, 7, 1, 0, 0)
    assert next_fire(crontab.yearly(), after) == datetime(2025, 1, 1, 0, 0)


def test_shortcut_fields_can_be_overridden() -> None:
    """Keywords override a shortcut's fields, as with the original's ``partial``."""
    assert crontab.daily(hour="2") == crontab(minute="0", hour="2")
    assert crontab.hourly(day_of_week="1-5") == crontab(minute="0", day_of_week="1-5")
    assert crontab.weekly(day_of_week=1) == crontab(minute="0", hour="0", day_of_week="1")
    assert crontab.monthly(day="15", minute="30") == crontab(minute="30", hour="0", day="15")
    assert crontab.yearly(month="7") == crontab(minute="0", hour="0", day="1", month="7")
    with pytest.raises(ValueError, match=r"^crontab hour: "):
        crontab.daily(hour="25")


def test_factory_repr() -> None:
    """``crontab`` itself shows where it comes from."""
    assert repr(crontab) == "huey.crontab"


def test_repr() -> None:
    """The repr shows a crontab(...) call with the non-'*' fields."""
    assert repr(crontab(minute="0", hour="*/3")) == "crontab(minute='0', hour='*/3')"
    assert repr(crontab()) == "crontab()"
    assert repr(crontab(day_of_week=7, month="1-3")) == "crontab(month='1-3', day_of_week='7')"


def test_frozen_hashable_and_callable_type() -> None:
    """Crontab is immutable, hashable and usable as a validate_datetime callable."""
    cron = crontab(minute="*/5")
    validate: Callable[[datetime], bool] = cron
    assert validate(datetime(2024, 1, 1, 0, 5))
    assert hash(cron) == hash(crontab(minute="*/5"))
    attribute = "minute"
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(cron, attribute, "1")


BAD_COMMON = ["foo", "*/0", "", "5-", "1-2-3", "-1", "*/x", "5/2", "1,,2", "*-3", "1.5"]
BAD_RANGE = {
    "minute": ["60", "61", "0-60"],
    "hour": ["24", "20-24"],
    "day": ["0", "32", "0-5"],
    "month": ["0", "13"],
    "day_of_week": ["8", "1-8"],
}
BAD_CASES = [(field, value) for field in FIELDS for value in BAD_COMMON] + [
    (field, value) for field, values in BAD_RANGE.items() for value in values
]


@pytest.mark.parametrize(("field", "value"), BAD_CASES)
def test_invalid_field_raises(field: str, value: str) -> None:
    """Unparseable or out-of-range fields raise ValueError naming the field."""
    fields: dict[str, str] = {field: value}
    with pytest.raises(ValueError, match=f"^crontab {field}: ") as info:
        crontab(**fields)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # strict is a bool
    bad_token = "" if value == "1,,2" else value
    assert repr(bad_token) in str(info.value)


def test_invalid_messages() -> None:
    """Messages name the bad token and the reason."""
    expected = {
        "foo": "crontab minute: 'foo' is not a number, '*', '*/n', 'm-n' or 'm-n/k'",
        "61": "crontab minute: '61' is out of range 0-59",
        "*/0": "crontab minute: '*/0' has a step of 0; the step must be >= 1",
        "-1": "crontab minute: '-1' is not a number, '*', '*/n', 'm-n' or 'm-n/k'",
    }
    for value, message in expected.items():
        with pytest.raises(ValueError, match=re.escape(message)):
            crontab(minute=value)
    with pytest.raises(ValueError, match=re.escape("crontab hour: '-3' is not a number")):
        crontab(hour=-3)


@pytest.mark.parametrize(
    ("month", "day"),
    [("2", "30-31"), ("2", "30"), ("4", "31"), ("4,6,9,11", "31"), ("2,4", "31")],
)
def test_never_fires_raises(month: str, day: str) -> None:
    """Day/month combinations that never occur are rejected."""
    with pytest.raises(ValueError, match="would never fire"):
        crontab(month=month, day=day)


@pytest.mark.parametrize(("month", "day"), [("2", "29"), ("2,3", "31"), ("4", "30-31")])
def test_possible_day_month_accepted(month: str, day: str) -> None:
    """Combinations that occur at least sometimes are accepted."""
    crontab(month=month, day=day)


# ---------------------------------------------------------------------------
# next_fire examples
# ---------------------------------------------------------------------------


def test_next_fire_basic() -> None:
    """next_fire is strictly after the truncated minute."""
    cron = crontab(minute="0", hour="*/3")
    assert next_fire(cron, datetime(2024, 1, 1, 0, 0)) == datetime(2024, 1, 1, 3, 0)
    assert next_fire(cron, datetime(2024, 1, 1, 2, 59, 59)) == datetime(2024, 1, 1, 3, 0)
    assert next_fire(cron, datetime(2024, 12, 31, 22, 0)) == datetime(2025, 1, 1, 0, 0)
    assert next_fire(crontab(), datetime(2024, 1, 1, 0, 0, 30)) == datetime(2024, 1, 1, 0, 1)


def test_next_fire_leap_day() -> None:
    """February 29th skips non-leap years, including 2100."""
    assert next_fire(crontab(month="2", day="29"), datetime(2097, 3, 1)) == datetime(2104, 2, 29)
    monday = next_fire(crontab(month="2", day="29", day_of_week="1"), datetime(2097, 3, 1))
    assert monday == datetime(2112, 2, 29)
    assert monday.strftime("%A") == "Monday"


def test_next_fire_month_end() -> None:
    """day='31' skips 30-day months."""
    cron = crontab(day="31", hour="12", minute="0")
    assert next_fire(cron, datetime(2024, 3, 31, 12, 0)) == datetime(2024, 5, 31, 12, 0)


def test_next_fire_keeps_tzinfo() -> None:
    """Aware datetimes keep their tzinfo and are handled on wall-clock fields."""
    tz = ZoneInfo("Europe/Paris")
    after = datetime(2024, 3, 30, 23, 10, tzinfo=tz)
    result = next_fire(crontab(minute="0", hour="9"), after)
    assert result == datetime(2024, 3, 31, 9, 0, tzinfo=tz)
    assert result.tzinfo is tz
    fixed = timezone(timedelta(hours=-3))
    assert next_fire(crontab(minute="*/15"), datetime(2024, 1, 1, 0, 1, tzinfo=fixed)) == (
        datetime(2024, 1, 1, 0, 15, tzinfo=fixed)
    )


def test_next_fire_keeps_fold_on_same_date() -> None:
    """The second pass of an ambiguous hour stays on the second pass."""
    tz = ZoneInfo("Europe/Paris")
    after = datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=tz)
    result = next_fire(crontab(), after)
    assert result == datetime(2024, 10, 27, 2, 31, tzinfo=tz)
    assert result.fold == 1
    assert result.timestamp() > after.timestamp()
    previous_day = datetime(2024, 10, 26, 2, 40, fold=1, tzinfo=tz)
    first_pass = next_fire(crontab(hour="2", minute="30"), previous_day)
    assert first_pass == datetime(2024, 10, 27, 2, 30, tzinfo=tz)
    assert first_pass.fold == 0


def test_next_fire_overflow() -> None:
    """No match before datetime.max raises OverflowError."""
    with pytest.raises(OverflowError):
        next_fire(crontab(minute="0"), datetime(9999, 12, 31, 23, 30))
    with pytest.raises(OverflowError):
        next_fire(crontab(), datetime.max)


# ---------------------------------------------------------------------------
# Property tests against the oracle
# ---------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(expr=exprs(), data=st.data())
def test_matches_oracle(expr: Expr, data: st.DataObject) -> None:
    """crontab(...)(dt) agrees with the naive expansion, and sets agree."""
    oracle = expr.oracle()
    if not oracle.can_fire():
        with pytest.raises(ValueError, match="would never fire"):
            expr.build()
        return
    cron = expr.build()
    assert cron.minutes == oracle.minutes
    assert cron.hours == oracle.hours
    assert cron.days == oracle.days
    assert cron.months == oracle.months
    assert cron.days_of_week == oracle.days_of_week
    dt = data.draw(aware_or_naive)
    assert cron(dt) == oracle.matches(dt)
    # Also probe a datetime built from matching fields, so True results get exercised.
    year = data.draw(st.integers(1970, 2200))
    month = data.draw(st.sampled_from(sorted(oracle.months)))
    day = data.draw(st.sampled_from(sorted(oracle.days)))
    hour = data.draw(st.sampled_from(sorted(oracle.hours)))
    minute = data.draw(st.sampled_from(sorted(oracle.minutes)))
    try:
        probe = datetime(year, month, day, hour, minute, data.draw(st.integers(0, 59)))
    except ValueError:
        return
    assert cron(probe) == oracle.matches(probe)


@settings(max_examples=60, deadline=None)
@given(expr=exprs(dense_dates=True), after=aware_or_naive)
def test_next_fire_matches_minute_scan(expr: Expr, after: datetime) -> None:
    """With month/day '*', next_fire equals a minute-by-minute scan (always within 8 days)."""
    expected = brute_next_minutes(expr.oracle(), after, timedelta(days=8))
    assert expected is not None
    result = next_fire(expr.build(), after)
    assert result == expected
    assert result.tzinfo is after.tzinfo


@settings(max_examples=100, deadline=None)
@given(expr=exprs(), after=aware_or_naive)
def test_next_fire_matches_day_skipping_scan(expr: Expr, after: datetime) -> None:
    """For any valid crontab, next_fire equals a day-skipping minute scan."""
    oracle = expr.oracle()
    assume(oracle.can_fire())
    expected = brute_next_days(oracle, after, max_days=50 * 366)
    assert expected is not None
    result = next_fire(expr.build(), after)
    assert result == expected
    assert result > after
    assert result.tzinfo is after.tzinfo
