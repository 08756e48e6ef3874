"""When a weekly digest runs next: a weekday and local time in an IANA zone, as UTC.

Daylight saving time: a local time that does not exist (the spring-forward gap)
runs at the same distance after the gap opens (02:30 -> 03:30 in Europe/Berlin);
a local time that happens twice (the autumn repeat) runs once, at the first.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_weekday(value: str) -> int:
    """'mon' or 'Monday' -> 0 ... 'sun' -> 6, with an error that lists the choices."""
    text = value.strip().lower()
    for names in (WEEKDAYS, DAY_NAMES):
        if text in names:
            return names.index(text)
    raise ValueError(f"weekday {value!r}: use one of {', '.join(WEEKDAYS)}")


def parse_local_time(value: str) -> time:
    """'08:00' -> time(8, 0)."""
    try:
        hours, minutes = value.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"time {value!r}: write it as HH:MM, for example 08:00") from None


def parse_zone(value: str) -> str:
    """An IANA zone name as given, checked: 'Mars/Olympus' is refused with an example."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}: use an IANA name like Europe/Berlin") from None
    return value


def local_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time; fold=0 picks the first of a repeat, shifts a gap."""
    return datetime.combine(day, at).replace(tzinfo=zone, fold=0).astimezone(UTC)


def next_run_after(weekday: int, at: time, zone: ZoneInfo, after: datetime) -> datetime:
    """The first run strictly after `after`: the next `weekday` at local time `at`, in UTC."""
    start = after.astimezone(zone).date()
    for offset in range(8):
        day = start + timedelta(days=offset)
        if day.weekday() == weekday and (candidate := local_to_utc(day, at, zone)) > after:
            return candidate
    raise AssertionError("a weekday recurs within eight days")  # pragma: no cover
