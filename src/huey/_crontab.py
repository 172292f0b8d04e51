"""Crontab-style schedules: parsing, matching and next-fire computation.

This module is pure: it only uses the standard library, never reads a clock and
performs no I/O. :data:`crontab` (a :class:`CrontabFactory`) parses five cron
fields, given by keyword, into an immutable :class:`Crontab`, which is a
``Callable[[datetime], bool]`` suitable as a periodic task's ``validate_datetime``;
its methods ``hourly()``, ``daily()``, ``weekly()``, ``monthly()`` and ``yearly()``
are shortcuts. :func:`next_fire` computes the next matching minute after a given
datetime.

Field syntax (each field is a comma-separated list of items; whitespace around
items is ignored):

* ``*`` -- every value of the field;
* ``*/n`` -- every n-th value, starting with the field's first value;
* ``n`` -- a single value;
* ``m-n`` -- an inclusive range; when ``m > n`` the range wraps around the end
  of the field (``hour='22-2'`` is 22, 23, 0, 1, 2);
* ``m-n/k`` -- every k-th value of the (possibly wrapped) range ``m-n``.

Field ranges: minute 0-59, hour 0-23, day 1-31, month 1-12, day_of_week 0-7
where 0 and 7 both mean Sunday (1 is Monday, ..., 6 is Saturday). Wrapped
day-of-week ranges go round the week (``'5-1'`` is Fri, Sat, Sun, Mon).
"""

from __future__ import annotations

import calendar
import re
import warnings
from dataclasses import dataclass
from datetime import MAXYEAR, datetime, timedelta
from typing import Final, Never

from typing_extensions import override

__all__ = ("Crontab", "CrontabFactory", "crontab", "next_fire")


@dataclass(frozen=True, slots=True)
class _FieldSpec:
    """Bounds of one cron field.

    ``lo``/``hi`` are the accepted literal values; ``top`` is the last value of
    the field's cycle, used by ``*`` and by wrap-around ranges (it differs from
    ``hi`` only for day_of_week, where 7 is an alias of 0).
    """

    name: str
    lo: int
    hi: int
    top: int


_MINUTE: Final = _FieldSpec("minute", 0, 59, 59)
_HOUR: Final = _FieldSpec("hour", 0, 23, 23)
_DAY: Final = _FieldSpec("day", 1, 31, 31)
_MONTH: Final = _FieldSpec("month", 1, 12, 12)
_DAY_OF_WEEK: Final = _FieldSpec("day_of_week", 0, 7, 6)

# Longest possible length of each month (February has 29 days in leap years).
_MAX_MONTH_DAYS: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_TOKEN_RE: Final = re.compile(r"(?:(\*)|([0-9]+)(?:-([0-9]+))?)(?:/([0-9]+))?", re.ASCII)


def _bad_token(spec: _FieldSpec, token: str) -> ValueError:
    return ValueError(
        f"crontab {spec.name}: {token!r} is not a number, '*', '*/n', 'm-n' or 'm-n/k'"
    )


def _parse_token(spec: _FieldSpec, token: str) -> list[int]:
    """Expand one comma-separated item of a field into its values."""
    match = _TOKEN_RE.fullmatch(token)
    if match is None:
        raise _bad_token(spec, token)
    star: str | None = match.group(1)
    first: str | None = match.group(2)
    last: str | None = match.group(3)
    step_text: str | None = match.group(4)
    if first is not None and last is None and step_text is not None:
        # 'n/k' is not part of the supported syntax.
        raise _bad_token(spec, token)
    step = 1 if step_text is None else int(step_text)
    if step < 1:
        raise ValueError(f"crontab {spec.name}: {token!r} has a step of 0; the step must be >= 1")
    if star is not None:
        sequence = list(range(spec.lo, spec.top + 1))
    else:
        if first is None:  # pragma: no cover - the regex guarantees one alternative
            raise _bad_token(spec, token)
        start = int(first)
        end = start if last is None else int(last)
        for value in (start, end):
            if not spec.lo <= value <= spec.hi:
                raise ValueError(
                    f"crontab {spec.name}: {token!r} is out of range {spec.lo}-{spec.hi}"
                )
        if start <= end:
            sequence = list(range(start, end + 1))
        else:
            sequence = [*range(start, spec.top + 1), *range(spec.lo, end + 1)]
    return sequence[::step]


def _parse_field(spec: _FieldSpec, text: str) -> frozenset[int]:
    """Parse a whole field (comma-separated items) into its set of values."""
    values: set[int] = set()
    for raw in text.split(","):
        values.update(_parse_token(spec, raw.strip()))
    if not values:  # pragma: no cover - every valid item yields at least one value
        raise ValueError(f"crontab {spec.name}: {text!r} matches no value")
    return frozenset(values)


def _sunday_weekday(year: int, month: int, day: int) -> int:
    """Day of week with 0 = Sunday ... 6 = Saturday."""
    return (calendar.weekday(year, month, day) + 1) % 7


@dataclass(frozen=True, slots=True)
class Crontab:
    """A parsed crontab schedule; call it with a datetime to test for a match.

    Build instances with :data:`crontab`, which validates the fields. Matching
    has minute resolution (seconds and microseconds are ignored) and uses the
    datetime's wall-clock fields, whatever its tzinfo. Day of month and day of
    week combine with AND: both must match (unlike Vixie cron, which ORs them
    when both are restricted).

    Attributes:
        minute: The minute field as given.
        hour: The hour field as given.
        day: The day-of-month field as given.
        month: The month field as given.
        day_of_week: The day-of-week field as given.
        minutes: Matching minutes (0-59).
        hours: Matching hours (0-23).
        days: Matching days of the month (1-31).
        months: Matching months (1-12).
        days_of_week: Matching days of the week, normalised to 0 = Sunday ...
            6 = Saturday (an input 7 is stored as 0).
    """

    minute: str
    hour: str
    day: str
    month: str
    day_of_week: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]

    def __call__(self, dt: datetime) -> bool:
        """Tell whether ``dt`` falls in a matching minute.

        Args:
            dt: The datetime to test (naive or aware; wall-clock fields are used).

        Returns:
            True when minute, hour, day, month and day of week all match.
        """
        return (
            dt.minute in self.minutes
            and dt.hour in self.hours
            and dt.day in self.days
            and dt.month in self.months
            and (dt.weekday() + 1) % 7 in self.days_of_week
        )

    @override
    def __repr__(self) -> str:
        """Return a ``crontab(...)`` call showing the non-``*`` fields."""
        fields = (
            ("minute", self.minute),
            ("hour", self.hour),
            ("day", self.day),
            ("month", self.month),
            ("day_of_week", self.day_of_week),
        )
        args = ", ".join(f"{name}={value!r}" for name, value in fields if value.strip() != "*")
        return f"crontab({args})"


def _parse(
    *, minute: str | int, hour: str | int, day: str | int, month: str | int, day_of_week: str | int
) -> Crontab:
    """Parse the five fields into a :class:`Crontab` (see :class:`CrontabFactory`)."""
    month_text, day_text, dow_text = str(month), str(day), str(day_of_week)
    hour_text, minute_text = str(hour), str(minute)
    minutes = _parse_field(_MINUTE, minute_text)
    hours = _parse_field(_HOUR, hour_text)
    days = _parse_field(_DAY, day_text)
    months = _parse_field(_MONTH, month_text)
    days_of_week = frozenset(value % 7 for value in _parse_field(_DAY_OF_WEEK, dow_text))
    if min(days) > max(_MAX_MONTH_DAYS[m - 1] for m in months):
        raise ValueError(
            f"crontab would never fire: no month in month={month_text!r} "
            f"has a day in day={day_text!r}"
        )
    return Crontab(
        minute=minute_text,
        hour=hour_text,
        day=day_text,
        month=month_text,
        day_of_week=dow_text,
        minutes=minutes,
        hours=hours,
        days=days,
        months=months,
        days_of_week=days_of_week,
    )


def _refuse_positional(name: str, positional: tuple[object, ...]) -> None:
    """Raise the ``TypeError`` that explains why the fields are keyword-only."""
    if not positional:
        return
    shown = ", ".join(repr(value) for value in positional)
    example = f"minute={positional[0]!r}" if len(positional) == 1 else "minute='*/5', hour='2'"
    raise TypeError(
        f"{name}() takes its fields by keyword only, got positional ({shown}): huey 3.x's "
        "documentation gives the order (month, day, day_of_week, hour, minute) while its "
        "code takes (minute, hour, day, month, day_of_week), so a positional field means "
        f"different things in the two; name each field, e.g. {name}({example})"
    )


def _check_strict(strict: bool) -> None:
    """Warn that ``strict=False`` no longer relaxes parsing."""
    if not strict:
        warnings.warn(
            "crontab(strict=False) is deprecated and has no effect: fields are always parsed "
            "strictly (an item that cannot be parsed raises ValueError); drop the argument",
            DeprecationWarning,
            stacklevel=3,
        )


class CrontabFactory:
    """The type of :data:`crontab`: call it to parse a schedule; its methods are shortcuts.

    There is one instance, ``huey.crontab``; there is no need to create another.
    """

    __slots__ = ()

    def __call__(
        self,
        *positional: Never,
        minute: str | int = "*",
        hour: str | int = "*",
        day: str | int = "*",
        month: str | int = "*",
        day_of_week: str | int = "*",
        strict: bool = True,
    ) -> Crontab:
        """Parse cron fields into a :class:`Crontab`.

        The fields are keyword-only: ``crontab(minute="*/5")``. A positional field raises
        ``TypeError`` (type checkers reject it too), because huey 3.x's documentation
        (month first) and its code (minute first) disagree on the order.

        Each field accepts ``*``, ``*/n``, ``n``, ``m-n``, ``m-n/k`` (ranges with
        ``m > n`` wrap around) and comma-separated lists of these; ints are treated
        as their string form. Day of month and day of week combine with AND: a
        datetime matches only when both match. Times are matched as given: a periodic
        task sees UTC unless its ``Huey`` was created with ``utc=False``.

        Example::

            @huey.periodic_task(crontab(minute="*/15", hour="9-17", day_of_week="1-5"))
            def poll() -> None: ...

        Args:
            positional: Not accepted (see above).
            minute: Minutes, 0-59.
            hour: Hours, 0-23.
            day: Days of the month, 1-31.
            month: Months, 1-12.
            day_of_week: Days of the week, 0-7 with 0 and 7 both Sunday.
            strict: Accepted for compatibility; parsing is always strict.
                ``strict=False`` emits a ``DeprecationWarning`` and changes nothing.

        Returns:
            The parsed, immutable schedule.

        Raises:
            TypeError: A field was passed positionally.
            ValueError: A field cannot be parsed (the message names the field and
                the bad item), a value is out of range, a step is 0, or the
                day/month combination never occurs (e.g. ``month='2', day='30'``),
                so the crontab would never fire.
        """
        _refuse_positional("crontab", positional)
        _check_strict(strict)
        return _parse(minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week)

    def hourly(
        self,
        *positional: Never,
        minute: str | int = "0",
        hour: str | int = "*",
        day: str | int = "*",
        month: str | int = "*",
        day_of_week: str | int = "*",
        strict: bool = True,
    ) -> Crontab:
        """Every hour at minute 0 (cron's ``@hourly``, ``0 * * * *``).

        The keywords override the shortcut's fields, as for ``crontab()``:
        ``crontab.hourly(day_of_week="1-5")`` is every hour on weekdays.

        Raises:
            TypeError, ValueError: as ``crontab()``.
        """
        _refuse_positional("crontab.hourly", positional)
        _check_strict(strict)
        return _parse(minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week)

    def daily(
        self,
        *positional: Never,
        minute: str | int = "0",
        hour: str | int = "0",
        day: str | int = "*",
        month: str | int = "*",
        day_of_week: str | int = "*",
        strict: bool = True,
    ) -> Crontab:
        """Every day at midnight (cron's ``@daily``, ``0 0 * * *``).

        The keywords override the shortcut's fields: ``crontab.daily(hour="2")`` is every
        day at 02:00.

        Raises:
            TypeError, ValueError: as ``crontab()``.
        """
        _refuse_positional("crontab.daily", positional)
        _check_strict(strict)
        return _parse(minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week)

    def weekly(
        self,
        *positional: Never,
        minute: str | int = "0",
        hour: str | int = "0",
        day: str | int = "*",
        month: str | int = "*",
        day_of_week: str | int = "0",
        strict: bool = True,
    ) -> Crontab:
        """Every Sunday at midnight (cron's ``@weekly``, ``0 0 * * 0``).

        The keywords override the shortcut's fields: ``crontab.weekly(day_of_week="1")``
        is every Monday at midnight.

        Raises:
            TypeError, ValueError: as ``crontab()``.
        """
        _refuse_positional("crontab.weekly", positional)
        _check_strict(strict)
        return _parse(minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week)

    def monthly(
        self,
        *positional: Never,
        minute: str | int = "0",
        hour: str | int = "0",
        day: str | int = "1",
        month: str | int = "*",
        day_of_week: str | int = "*",
        strict: bool = True,
    ) -> Crontab:
        """The first day of every month at midnight (cron's ``@monthly``, ``0 0 1 * *``).

        The keywords override the shortcut's fields: ``crontab.monthly(day="15")`` is the
        15th of every month at midnight.

        Raises:
            TypeError, ValueError: as ``crontab()``.
        """
        _refuse_positional("crontab.monthly", positional)
        _check_strict(strict)
        return _parse(minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week)

    def yearly(
        self,
        *positional: Never,
        minute: str | int = "0",
        hour: str | int = "0",
        day: str | int = "1",
        month: str | int = "1",
        day_of_week: str | int = "*",
        strict: bool = True,
    ) -> Crontab:
        """January 1st at midnight (cron's ``@yearly``, ``0 0 1 1 *``).

        The keywords override the shortcut's fields: ``crontab.yearly(month="7")`` is
        July 1st at midnight.

        Raises:
            TypeError, ValueError: as ``crontab()``.
        """
        _refuse_positional("crontab.yearly", positional)
        _check_strict(strict)
        return _parse(minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week)

    @override
    def __repr__(self) -> str:
        return "huey.crontab"


crontab: Final = CrontabFactory()
"""Build crontab schedules: ``crontab(minute="0", hour="2")``, ``crontab.daily()``.

See :class:`CrontabFactory` for the fields and the shortcuts.
"""


def _first_at_least(values: list[int], floor: int) -> int | None:
    """Smallest element of sorted ``values`` that is >= ``floor``, if any."""
    for value in values:
        if value >= floor:
            return value
    return None


def _next_day(cron: Crontab, year: int, month: int, day: int) -> int | None:
    """First day >= ``day`` of the given month matching day and day of week."""
    last = calendar.monthrange(year, month)[1]
    for candidate in range(day, last + 1):
        if candidate in cron.days and _sunday_weekday(year, month, candidate) in cron.days_of_week:
            return candidate
    return None


def next_fire(cron: Crontab, after: datetime) -> datetime:
    """Compute the first matching minute strictly after ``after``.

    The search works on wall-clock fields and skips whole non-matching months,
    days and hours, so it is fast even for sparse schedules (e.g. February 29th
    on a given weekday). The result keeps ``after``'s tzinfo and has zero
    seconds and microseconds; its ``fold`` is kept from ``after`` when both are
    on the same date, else 0. Around DST transitions the result is a wall-clock
    time and may not exist (spring forward) or be ambiguous (fall back).

    Args:
        cron: The schedule.
        after: The exclusive lower bound, naive or aware; it is truncated to
            the minute first.

    Returns:
        The next matching datetime.

    Raises:
        OverflowError: There is no matching minute before ``datetime.max``.
    """
    start = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    minutes = sorted(cron.minutes)
    hours = sorted(cron.hours)
    months = sorted(cron.months)
    year, month, day, hour, minute = start.year, start.month, start.day, start.hour, start.minute
    # Every ``continue`` moves (year, month, day, hour, minute) strictly forward,
    # so the loop ends; crontab() guarantees a match within a few decades.
    while year <= MAXYEAR:
        next_month = _first_at_least(months, month)
        if next_month is None:
            year, month, day, hour, minute = year + 1, months[0], 1, 0, 0
            continue
        if next_month != month:
            month, day, hour, minute = next_month, 1, 0, 0
        next_day = _next_day(cron, year, month, day)
        if next_day is None:
            month, day, hour, minute = month + 1, 1, 0, 0
            continue
        if next_day != day:
            day, hour, minute = next_day, 0, 0
        next_hour = _first_at_least(hours, hour)
        if next_hour is None:
            day, hour, minute = day + 1, 0, 0
            continue
        if next_hour != hour:
            hour, minute = next_hour, 0
        next_minute = _first_at_least(minutes, minute)
        if next_minute is None:
            hour, minute = hour + 1, 0
            continue
        same_date = (year, month, day) == (after.year, after.month, after.day)
        return after.replace(
            year=year,
            month=month,
            day=day,
            hour=hour,
            minute=next_minute,
            second=0,
            microsecond=0,
            fold=after.fold if same_date else 0,
        )
    raise OverflowError(f"no time matching {cron!r} before datetime.max")
