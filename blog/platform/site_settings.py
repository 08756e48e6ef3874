"""Settings the author changes in the console, stored by key; the environment gives each default.

Secrets (SMTP, DKIM, SECRET_KEY) stay in the environment: only what an author edits lives here.
"""

from collections.abc import Mapping

from sqlalchemy import update
from sqlalchemy.orm import Session

from blog.models import Setting

DIGEST_NOTE = "digest_note"  # Markdown for the next digest, frozen into it when it is created
DIGEST_CONTENT = "digest_content"  # "excerpt" or "full"
WELCOME_EMAIL = "welcome_email"  # "on" or "off"
WELCOME_TEXT = "welcome_text"  # Markdown
SITE_LOGO = "site_logo"  # an image URL or a path on the site, shown atop the digest; "" for none

DIGEST_CONTENT_MODES = ("excerpt", "full")
SWITCH = ("on", "off")
DEFAULT_WELCOME_TEXT = """\
Thank you for subscribing. Once a week you will get one email with everything new here.

If you would rather not, every email has a link to leave with one click."""


def defaults(config: Mapping) -> dict[str, str]:
    """Each setting's value when the author has not changed it: the environment's, or the built-in."""
    return {
        DIGEST_NOTE: "",
        DIGEST_CONTENT: config.get("DIGEST_CONTENT") or "excerpt",
        WELCOME_EMAIL: config.get("WELCOME_EMAIL") or "on",
        WELCOME_TEXT: DEFAULT_WELCOME_TEXT,
        SITE_LOGO: config.get("SITE_LOGO") or "",
    }


def get(session: Session, config: Mapping, key: str) -> str:
    """The author's value of a setting, else its default."""
    row = session.get(Setting, key)
    return row.value if row is not None else defaults(config)[key]


def clear_if(session: Session, key: str, value: str) -> None:
    """Empty a setting only if it still holds `value` (one UPDATE: a newer value stays)."""
    session.execute(
        update(Setting)
        .where(Setting.key == key, Setting.value == value)
        .values(value="")
        .execution_options(synchronize_session=False)
    )


def put(session: Session, key: str, value: str) -> None:
    """Store the author's value (the caller commits)."""
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value
