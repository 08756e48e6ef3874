"""The `weeknote` console script: Flask's CLI bound to create_app.

Every `flask` command works (`weeknote run`, `weeknote db upgrade`); each package adds its own
in its commands.py (registered by create_app).
"""

from flask.cli import FlaskGroup

from blog import create_app


def main() -> None:
    FlaskGroup(create_app=create_app, help="Weeknote: a blog with a weekly digest.").main()
