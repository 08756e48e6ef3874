"""next_run_at is a real instant every week, through both DST changes, in two zones."""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from blog.newsletter.schedule import next_run_after, parse_local_time, parse_weekday

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
MON, SUN = 0, 6


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_weekly_local_time_holds_across_dst():
    # Monday 08:00 in Berlin is 07:00 UTC in winter and 06:00 UTC in summer.
    first = next_run_after(MON, time(8), BERLIN, utc(2026, 3, 20))
    second = next_run_after(MON, time(8), BERLIN, first)
    assert (first, second) == (utc(2026, 3, 23, 7), utc(2026, 3, 30, 6))


@pytest.mark.parametrize(
    ("zone", "after", "at", "expected"),
    [
        # 02:30 does not exist on 29 March 2026 in Berlin: it runs at 03:30 CEST.
        (BERLIN, utc(2026, 3, 28), time(2, 30), utc(2026, 3, 29, 1, 30)),
        # ... nor on 8 March 2026 in New York: 03:30 EDT.
        (NEW_YORK, utc(2026, 3, 7), time(2, 30), utc(2026, 3, 8, 7, 30)),
    ],
)
def test_spring_forward_gap_runs_once_just_after_the_gap(zone, after, at, expected):
    run = next_run_after(SUN, at, zone, after)
    assert run == expected
    assert run.astimezone(zone).hour == 3


@pytest.mark.parametrize(
    ("zone", "after", "at", "first", "following"),
    [
        # 02:30 happens twice on 25 October 2026 in Berlin: once, at the first (CEST).
        (BERLIN, utc(2026, 10, 24), time(2, 30), utc(2026, 10, 25, 0, 30), utc(2026, 11, 1, 1, 30)),
        # 01:30 happens twice on 1 November 2026 in New York: once, at the first (EDT).
        (NEW_YORK, utc(2026, 10, 31), time(1, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 8, 6, 30)),
    ],
)
def test_autumn_repeat_runs_once(zone, after, at, first, following):
    run = next_run_after(SUN, at, zone, after)
    assert run == first
    # Asked again just after the first run (even during the repeated hour): next week.
    assert next_run_after(SUN, at, zone, run) == following
    assert next_run_after(SUN, at, zone, run.replace(minute=45)) == following


def test_next_run_is_strictly_after():
    at_run = utc(2026, 1, 5, 7)  # Monday 08:00 Berlin
    assert next_run_after(MON, time(8), BERLIN, at_run) == utc(2026, 1, 12, 7)
    assert next_run_after(MON, time(8), BERLIN, utc(2026, 1, 5, 6, 59)) == at_run


@pytest.mark.parametrize(("text", "day"), [("mon", 0), ("Monday", 0), ("sun", 6), (" FRI ", 4)])
def test_parse_weekday(text, day):
    assert parse_weekday(text) == day


def test_bad_input_says_what_to_write():
    with pytest.raises(ValueError, match="use one of mon, tue"):
        parse_weekday("someday")
    with pytest.raises(ValueError, match="HH:MM"):
        parse_local_time("8am")
    assert parse_local_time("08:05") == time(8, 5)
