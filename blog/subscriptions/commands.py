"""`weeknote subscribers export | import | delete`: the owner's and the subscribers' privacy tools."""

import io
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from blog.extensions import db
from blog.models import SubscriberStatus
from blog.subscriptions import lifecycle
from blog.subscriptions.confirmation import queue_confirmation
from blog.subscriptions.csv_files import (
    ImportOptions,
    ImportOptionsError,
    claim_confirmations,
    decode_csv,
    export_rows,
    import_subscribers,
    write_csv,
)

group = AppGroup("subscribers", help="Export, import and erase subscribers.")


def init_app(app: Flask) -> None:
    app.cli.add_command(group)


@group.command("export")
def export_command() -> None:
    """Write every subscriber and their consent record to standard output as CSV."""
    count = write_csv(export_rows(db.session), sys.stdout)
    click.echo(f"Exported {count} subscriber{'' if count == 1 else 's'}.", err=True)


@group.command("delete")
@click.argument("email")
def delete_command(email: str) -> None:
    """Erase EMAIL completely, keeping only a hash so that no import can add it again."""
    found = lifecycle.erase(db.session, email)
    db.session.commit()
    if found:
        click.echo(f"Erased {email}. Its hash stays on the suppression list: imports will skip it.")
    else:
        click.echo(f"No subscriber had the address {email}; it is now on the suppression list anyway.")


# The shared rule in ImportOptions.check, worded with this command's flags.
OPTION_ERRORS = {
    "consent_note": "--confirmed needs --consent-note saying where and when these people agreed, "
    "e.g. --consent-note 'Subscribed on Buttondown, exported 2026-11-01'",
    "send_confirmations": "--send-confirmations is for pending subscribers; drop it or --confirmed",
}


@group.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--confirmed", is_flag=True, help="Add people as active: they agreed elsewhere (needs --consent-note)."
)
@click.option("--consent-note", help="Where and when these people agreed, kept with each consent record.")
@click.option(
    "--send-confirmations", is_flag=True, help="Email each new pending subscriber a confirmation link."
)
def import_command(
    csv_file: Path, confirmed: bool, consent_note: str | None, send_confirmations: bool
) -> None:
    """Add the addresses in CSV_FILE (a column named 'email') as pending subscribers."""
    options = ImportOptions(confirmed, consent_note, send_confirmations)
    try:
        options.check()
    except ImportOptionsError as error:
        raise click.UsageError(OPTION_ERRORS[error.option]) from error
    now = datetime.now(UTC)
    try:
        text = decode_csv(csv_file.read_bytes())
        report = import_subscribers(db.session, io.StringIO(text, newline=""), options, now)
    except ValueError as error:
        db.session.rollback()
        raise click.ClickException(f"{csv_file}: {error}") from error
    db.session.commit()
    for line, email, why in report.skipped:
        click.echo(f"{csv_file}:{line}: skipped {email}: {why}")
    for line, raw, why in report.failed:
        click.secho(f"{csv_file}:{line}: not an address {raw!r}: {why}", fg="red", err=True)
    status = SubscriberStatus.ACTIVE if confirmed else SubscriberStatus.PENDING
    click.echo(
        f"Added {len(report.added)} {status}, skipped {len(report.skipped)}, failed {len(report.failed)}."
    )
    if send_confirmations:
        claimed = claim_confirmations(db.session, report.added, now)
        db.session.commit()
        for subscriber_id in claimed:
            queue_confirmation(subscriber_id)
        click.echo(f"Queued {len(claimed)} confirmation emails.")
    if report.failed:
        sys.exit(1)
