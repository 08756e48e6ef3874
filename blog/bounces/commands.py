"""`weeknote bounces ingest | poll | lift`: bounces and complaints from files, the mailbox, the author."""

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from blog.bounces import actions, mailbox, returned
from blog.extensions import db
from blog.subscriptions import lifecycle

group = AppGroup("bounces", help="Read bounces and complaints; lift a suppression.")


def init_app(app: Flask) -> None:
    app.cli.add_command(group)


@group.command("ingest")
@click.argument("files", nargs=-1, required=True)
def ingest_command(files: tuple[str, ...]) -> None:
    """Read each FILE (one message each; - for standard input, as an MTA's pipe gives it) and act on
    the bounces and complaints among them, as the mailbox poller does."""
    failed = False
    for name in files:
        try:
            data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as error:
            click.echo(f"{name}: cannot read it: {error.strerror}", err=True)
            failed = True
            continue
        handled = returned.handle(db.session, data, current_app.config, datetime.now(UTC))
        db.session.commit()
        click.echo(f"{'standard input' if name == '-' else name}: {handled.describe()}")
    if failed:
        sys.exit(1)


@group.command("poll")
def poll_command() -> None:
    """Read BOUNCE_MAILBOX once now, as the beat does every BOUNCE_POLL_INTERVAL seconds."""
    if not current_app.config.get("BOUNCE_MAILBOX"):
        raise click.ClickException("BOUNCE_MAILBOX is not set: there is no mailbox to read")
    try:
        result = mailbox.poll(db.session, current_app.config)
    except mailbox.MailboxError as error:
        raise click.ClickException(str(error)) from None
    for line in result.outcomes:
        click.echo(f"  {line}")
    click.echo(result.describe())


@group.command("lift")
@click.argument("email")
def lift_command(email: str) -> None:
    """Let mail go to EMAIL again after a bounce or a complaint suppressed it."""
    subscriber = lifecycle.find_subscriber(db.session, email)
    if subscriber is None:
        raise click.ClickException(f"no subscriber has the address {email}")
    reason = subscriber.suppressed_reason or subscriber.status
    if not actions.lift(db.session, subscriber, datetime.now(UTC)):
        raise click.ClickException(f"{email} is not suppressed (it is {subscriber.status})")
    db.session.commit()
    click.echo(f"Lifted the suppression of {email} ({reason}): it is {subscriber.status} now.")
