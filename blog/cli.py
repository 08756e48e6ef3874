"""The `weeknote` console script: Flask's CLI bound to create_app.

Every `flask` command works (`weeknote run`, `weeknote db upgrade`); each package adds its own
in its commands.py (registered by create_app).
"""

import sys

from flask.cli import FlaskGroup
from sqlalchemy.exc import DBAPIError

from blog import create_app

NOT_SET_UP = (
    "weeknote: the database lacks a table this version needs (missing: {table}). Set it up, or bring "
    "it up to this version, with `weeknote db upgrade` (`make run` does it for you), then try again."
)


def main() -> None:
    try:
        FlaskGroup(create_app=create_app, help="Weeknote: a blog with a weekly digest.").main()
    except DBAPIError as error:
        if (table := missing_table(error)) is None:
            raise
        sys.exit(NOT_SET_UP.format(table=table))


def missing_table(error: DBAPIError) -> str | None:
    """The table a statement needed that the database does not have (not migrated), else None."""
    message = str(error.orig)
    if message.startswith("no such table: "):  # SQLite
        return message.removeprefix("no such table: ").strip()
    if getattr(error.orig, "sqlstate", None) == "42P01":  # PostgreSQL's undefined_table
        return message.split('"')[1] if message.count('"') >= 2 else "a table"
    return None
