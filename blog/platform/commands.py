"""`weeknote doctor`: check the settings an operator can get wrong."""

import sys
from contextlib import suppress

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from blog.platform.doctor import run_checks
from blog.platform.site_settings import site


def init_app(app: Flask) -> None:
    app.cli.add_command(doctor_command)


@click.command("doctor")
@with_appcontext
def doctor_command() -> None:
    """Check the settings an operator can get wrong; print what to fix; exit 1 when something must be."""
    config = dict(current_app.config)
    with suppress(SQLAlchemyError):  # the console's Settings may hold it; a new database does not
        config["MAIL_POSTAL_ADDRESS"] = site().postal_address
    findings = run_checks(config)
    marks = {"ok": click.style("ok  ", fg="green"), "warn": click.style("warn", fg="yellow"),
             "fix": click.style("FIX ", fg="red", bold=True)}  # fmt: skip
    for finding in findings:
        click.echo(f"{marks[finding.level]}  {finding.topic}: {finding.text}")
    problems = sum(finding.level == "fix" for finding in findings)
    if problems:
        click.echo(f"\n{problems} problem{'s' if problems > 1 else ''} to fix.", err=True)
        sys.exit(1)
    click.echo("\nNothing to fix.")
