"""Turn the many ways blogs write dates into aware UTC datetimes."""

import re
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import PurePath

from dateutil import parser as dateutil_parser

from blog.content.errors import ContentError

FILE_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[-_](.+)$")
FILE_SHORT_DATE = re.compile(r"^(\d{2})(\d{2})(\d{2})[-_](.+)$")
PATH_DATE = re.compile(r"(?:^|/)(\d{4})/(\d{1,2})/(\d{1,2})(?:/|$)")
TITLE_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
TITLE_SLASH_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")


def parse_date(value: object, zone: tzinfo, field: str = "date") -> datetime:
    """Parse a front matter date (YAML date, TOML datetime or string); naive times are in zone."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, str) and value.strip():
        try:
            moment = dateutil_parser.parse(value.strip())
        except (ValueError, OverflowError):
            raise ContentError(
                f"{field}: {value!r} is not a date; write it as YYYY-MM-DD or YYYY-MM-DD HH:MM:SS +0000"
            ) from None
    else:
        raise ContentError(f"{field}: {value!r} is not a date")
    return to_utc(moment, zone)


def to_utc(moment: datetime, zone: tzinfo) -> datetime:
    """Attach zone to a naive datetime and convert it to UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _make(year: int, month: int, day: int, zone: tzinfo) -> datetime | None:
    try:
        return datetime(year, month, day, tzinfo=zone).astimezone(UTC)
    except ValueError:
        return None


def date_from_filename(path: PurePath, zone: tzinfo) -> datetime | None:
    """Read YYYY-MM-DD-slug or YYMMDD-slug from the file name."""
    if match := FILE_DATE.match(path.stem):
        return _make(int(match[1]), int(match[2]), int(match[3]), zone)
    if match := FILE_SHORT_DATE.match(path.stem):
        return _make(2000 + int(match[1]), int(match[2]), int(match[3]), zone)
    return None


def date_from_folder(path: PurePath, zone: tzinfo) -> datetime | None:
    """Read YYYY/MM/DD/slug folders or a YYYY-MM-DD-slug/index.md bundle."""
    if path.stem == "index" and (match := FILE_DATE.match(path.parent.name)):
        return _make(int(match[1]), int(match[2]), int(match[3]), zone)
    return date_from_url_path(path.parent.as_posix(), zone)


def date_from_url_path(value: str, zone: tzinfo) -> datetime | None:
    """Read a /YYYY/MM/DD/ date from a URL path such as Zola's `path`."""
    if match := PATH_DATE.search(value):
        return _make(int(match[1]), int(match[2]), int(match[3]), zone)
    return None


def date_from_title(title: str, zone: tzinfo) -> datetime | None:
    """Read a date written in a title: 2022-01-22, or 1/22/2022 (US order unless the day says)."""
    if match := TITLE_ISO_DATE.search(title):
        return _make(int(match[1]), int(match[2]), int(match[3]), zone)
    if match := TITLE_SLASH_DATE.search(title):
        first, second, year = int(match[1]), int(match[2]), int(match[3])
        month, day = (second, first) if first > 12 else (first, second)
        return _make(year, month, day, zone)
    return None
