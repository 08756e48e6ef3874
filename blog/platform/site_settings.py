"""Settings the author changes in the console, stored by key; the environment gives each default.

Secrets (SMTP, DKIM, SECRET_KEY) stay in the environment: only what an author edits lives here.
Everything that shows the site's name, description, author, zone, postal address, page size or
feed length reads `site()`, so a change in the console shows everywhere at the next request.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from flask import current_app, g, has_app_context
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from blog.extensions import db
from blog.models import Setting

DIGEST_NOTE = "digest_note"  # Markdown for the next digest, frozen into it when it is created
DIGEST_CONTENT = "digest_content"  # "excerpt" or "full"
WELCOME_EMAIL = "welcome_email"  # "on" or "off"
WELCOME_TEXT = "welcome_text"  # Markdown
SITE_LOGO = "site_logo"  # an image URL or a path on the site, shown atop the digest; "" for none
SITE_TITLE = "site_title"
SITE_DESCRIPTION = "site_description"
AUTHOR_NAME = "author_name"  # "" for none: the site's title stands for its author
AUTHOR_BIO = "author_bio"  # a line or two under "Written by" in the footer; "" for none
TIMEZONE = "timezone"  # an IANA name: the site's dates and every time entered in the console
POSTAL_ADDRESS = "postal_address"  # in every email's footer
POSTS_PER_PAGE = "posts_per_page"  # a whole number, on the home, tag and search pages
FEED_ITEMS = "feed_items"  # a whole number: the newest posts each feed carries

DIGEST_CONTENT_MODES = ("excerpt", "full")
SWITCH = ("on", "off")
DEFAULT_WELCOME_TEXT = """\
Thank you for subscribing. Once a week you will get one email with everything new here.

If you would rather not, every email has a link to leave with one click."""
CACHED = "site_settings"  # the name of this request's settings on flask.g


@dataclass(frozen=True)
class Site:
    """The site as the author set it up: what pages, feeds and emails show."""

    title: str
    description: str
    author: str
    bio: str
    zone_name: str
    postal_address: str
    posts_per_page: int
    feed_items: int
    logo: str

    @property
    def byline(self) -> str:
        """Who the site is by: the author's name, else the site's title."""
        return self.author or self.title


def defaults(config: Mapping) -> dict[str, str]:
    """Each setting's value when the author has not changed it: the environment's, or the built-in."""
    return {
        DIGEST_NOTE: "",
        DIGEST_CONTENT: config.get("DIGEST_CONTENT") or "excerpt",
        WELCOME_EMAIL: config.get("WELCOME_EMAIL") or "on",
        WELCOME_TEXT: DEFAULT_WELCOME_TEXT,
        SITE_LOGO: config.get("SITE_LOGO") or "",
        SITE_TITLE: config.get("SITE_TITLE") or "Weeknote",
        SITE_DESCRIPTION: config.get("SITE_DESCRIPTION") or "",
        AUTHOR_NAME: config.get("AUTHOR_NAME") or "",
        AUTHOR_BIO: config.get("AUTHOR_BIO") or "",
        TIMEZONE: config.get("TIMEZONE") or "UTC",
        POSTAL_ADDRESS: config.get("MAIL_POSTAL_ADDRESS") or "",
        POSTS_PER_PAGE: str(config.get("POSTS_PER_PAGE") or 10),
        FEED_ITEMS: str(config.get("FEED_ITEMS") or 20),
    }


def get(session: Session, config: Mapping, key: str) -> str:
    """The author's value of a setting, else its default."""
    row = session.get(Setting, key)
    return row.value if row is not None else defaults(config)[key]


def read_all(session: Session, config: Mapping) -> dict[str, str]:
    """Every setting's value in one query: the author's where stored, else the default."""
    values = defaults(config)
    values.update(
        {key: value for key, value in session.execute(select(Setting.key, Setting.value)) if key in values}
    )
    return values


def site() -> Site:
    """This request's (or task's) site settings, read once per application context."""
    cached = g.get(CACHED)
    if cached is None:
        cached = from_values(read_all(db.session, current_app.config), current_app.config)
        setattr(g, CACHED, cached)
    return cached


def from_values(values: Mapping[str, str], config: Mapping) -> Site:
    """The site described by settings' values (stored or default)."""
    return Site(
        title=values[SITE_TITLE],
        description=values[SITE_DESCRIPTION],
        author=values[AUTHOR_NAME],
        bio=values[AUTHOR_BIO],
        zone_name=values[TIMEZONE],
        postal_address=values[POSTAL_ADDRESS],
        posts_per_page=whole(values[POSTS_PER_PAGE], config.get("POSTS_PER_PAGE") or 10),
        feed_items=whole(values[FEED_ITEMS], config.get("FEED_ITEMS") or 20),
        logo=values[SITE_LOGO],
    )


def whole(text: str, fallback: int) -> int:
    """A stored whole number; the environment's when the stored one is not one (never an error page)."""
    return int(text) if text.strip().isdigit() and int(text) > 0 else int(fallback)


def forget() -> None:
    """Drop this context's remembered settings, so the next `site()` reads the stored ones."""
    if has_app_context():
        g.pop(CACHED, None)


def clear_if(session: Session, key: str, value: str) -> None:
    """Empty a setting only if it still holds `value` (one UPDATE: a newer value stays)."""
    session.execute(
        update(Setting)
        .where(Setting.key == key, Setting.value == value)
        .values(value="")
        .execution_options(synchronize_session=False)
    )
    forget()


def put(session: Session, key: str, value: str) -> None:
    """Store the author's value (the caller commits)."""
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value
    forget()
