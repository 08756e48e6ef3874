"""The site's time zone, and each way a moment is written for people, in one place.

Times are aware UTC everywhere else; they become local only here, on their way to a page,
a message or a terminal.
"""

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from blog.platform.site_settings import site


def site_zone() -> ZoneInfo:
    """The author's zone (the console's setting, TIMEZONE by default): where the site's dates and
    the console's times are read."""
    return ZoneInfo(site().zone_name)


def in_zone(moment: datetime, zone: tzinfo | str | None = None) -> datetime:
    """The moment on the wall clock of `zone` (a ZoneInfo or an IANA name; the site's by default)."""
    if isinstance(zone, str):
        zone = ZoneInfo(zone)
    return moment.astimezone(zone or site_zone())


def local_moment(
    moment: datetime | None,
    zone: tzinfo | str | None = None,
    *,
    now: datetime | None = None,
    utc: bool = False,
) -> str:
    """'Monday 24 November 2026, 08:00 CET': a moment as the author reads it in a zone.

    With `now`, how far off it is is added: '(in 2 days)'; with `utc`, its UTC time: '(07:00 UTC)'.
    """
    if moment is None:
        return "not scheduled"
    local = in_zone(moment, zone)
    text = f"{local:%A} {local.day} {local:%B %Y, %H:%M} {local.tzname()}"
    if now is not None:
        text += f" ({distance(local, now)})"
    if utc:
        text += f" ({moment.astimezone(UTC):%H:%M} UTC)"
    return text


def distance(moment: datetime, now: datetime) -> str:
    """How far off a moment is, in words: 'in 5 minutes', 'in 3 hours', 'tomorrow', 'in 2 days'."""
    seconds = (moment - now).total_seconds()
    if seconds <= 0:
        return "due now"
    if seconds < 3600:
        minutes = max(1, round(seconds / 60))
        return f"in {minutes} minute{'s' if minutes != 1 else ''}"
    days = (moment.date() - now.astimezone(moment.tzinfo).date()).days
    if days == 0:
        hours = round(seconds / 3600)
        return f"in {hours} hour{'s' if hours != 1 else ''}"
    return "tomorrow" if days == 1 else f"in {days} days"


def local_date(moment: datetime | None, zone: tzinfo | str | None = None) -> str:
    """'24 Nov 2026': a day in a zone, for tables; '' for no moment."""
    if moment is None:
        return ""
    local = in_zone(moment, zone)
    return f"{local.day} {local:%b %Y}"


def day_and_time(moment: datetime, zone: tzinfo | str | None = None) -> str:
    """'Monday 7 December at 08:00 CET': a moment in the coming days, as a reader is told it."""
    local = in_zone(moment, zone)
    return f"{local:%A} {local.day} {local:%B} at {local:%H:%M} {local.tzname()}"


def long_date(moment: datetime) -> str:
    """'29 July 2023': a date in the site's zone, written out (the `localdate` filter)."""
    local = in_zone(moment)
    return f"{local.day} {local:%B %Y}"


def short_moment(moment: datetime) -> str:
    """'29 Jul 2023, 14:05 CEST': to the minute, with the zone (the `localtime` filter)."""
    local = in_zone(moment)
    return f"{local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def editor_moment(moment: datetime) -> str:
    """'3 May 2026, 09:30': to the minute in the site's zone, which the editor names beside it."""
    local = in_zone(moment)
    return f"{local.day} {local:%B %Y, %H:%M}"


def machine_time(moment: datetime | None) -> str:
    """'2026-11-30T14:10:07+00:00': a moment for machines (datetime attributes, JSON-LD, sitemaps),
    in UTC to the second; HTML allows at most three fraction digits, and no reader needs them."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def day_and_month(moment: datetime) -> str:
    """'29 July': a date in the site's zone under a heading that already names the year."""
    local = in_zone(moment)
    return f"{local.day} {local:%B}"
