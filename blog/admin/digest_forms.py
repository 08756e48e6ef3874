"""The digest schedule form: day, time, zone, minimum posts, and automatic or held sending."""

from functools import cache
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, NumberRange, ValidationError

from blog.models import Schedule
from blog.newsletter.schedule import DAY_NAMES, parse_local_time, parse_zone

AUTO, HOLD = "auto", "hold"
# Names zoneinfo lists that are not places an author lives in.
NOT_ZONES = {"Factory", "localtime", "posixrules"}


@cache
def zone_names() -> list[str]:
    """Every IANA zone this system knows, sorted, for the time zone lists."""
    return sorted(available_timezones() - NOT_ZONES)


def likely_zones(*first: str) -> list[str]:
    """Every zone, the likely ones first (the site's, the browser's...), each once."""
    named = [name for name in dict.fromkeys(first) if name]
    return named + [name for name in zone_names() if name not in named]


class ScheduleForm(FlaskForm):
    weekday = SelectField(
        "Day",
        coerce=int,
        choices=[SelectChoice(day, name.capitalize()) for day, name in enumerate(DAY_NAMES)],
    )
    local_time = StringField("Time", validators=[DataRequired("Enter a time, for example 08:00.")])
    timezone = StringField(
        "Time zone", validators=[DataRequired("Enter a time zone, for example Europe/Berlin.")]
    )
    min_posts = IntegerField(
        "Minimum posts",
        validators=[
            InputRequired("Enter how many posts a week needs, for example 1."),
            NumberRange(min=0, message="The minimum cannot be negative: use 0 or more."),
        ],
    )
    mode = RadioField(
        "When a digest is ready",
        choices=[
            SelectChoice(AUTO, "Send it automatically"),
            SelectChoice(HOLD, "Hold it for my review, then I approve or cancel it"),
        ],
        default=AUTO,
    )
    enabled = BooleanField("Send a weekly digest")

    def validate_local_time(self, field: StringField) -> None:
        try:
            field.parsed = parse_local_time(field.data or "")
        except ValueError as error:
            raise ValidationError(f"The {error}.") from None

    def validate_timezone(self, field: StringField) -> None:
        try:
            field.data = parse_zone((field.data or "").strip())
        except ValueError as error:
            raise ValidationError(f"The {error}.") from None


def schedule_defaults(schedule: Schedule | None, zone: str) -> dict:
    """The form's values: the saved schedule, or Monday 08:00 in the author's zone."""
    if schedule is None:
        return {"weekday": 0, "local_time": "08:00", "timezone": zone, "min_posts": 1, "mode": AUTO,
                "enabled": True}  # fmt: skip
    return {
        "weekday": schedule.weekday,
        "local_time": f"{schedule.local_time:%H:%M}",
        "timezone": schedule.timezone,
        "min_posts": schedule.min_posts,
        "mode": HOLD if schedule.hold_for_review else AUTO,
        "enabled": schedule.enabled,
    }
