"""`weeknote digest ...`: schedule, preview, test, send, watch and retry the weekly digest."""

import sys
import time
import webbrowser
from datetime import UTC, datetime
from pathlib import Path

import click
from dateutil import parser as date_parser
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from blog.extensions import db
from blog.mail.transport import SendError
from blog.models import DeliveryStatus, Digest, DigestStatus, Schedule
from blog.newsletter import delivery, digests, drafts, preview, progress
from blog.newsletter.schedule import WEEKDAYS, parse_local_time, parse_weekday, parse_zone
from blog.newsletter.sending import composer_from_app, send_or_queue
from blog.platform.site_settings import site
from blog.platform.zones import local_moment, site_zone
from blog.subscriptions.queries import on_authors_digest

digest_cli = AppGroup("digest", help="Schedule, preview and send the weekly digest.")


def init_app(app: Flask) -> None:
    app.cli.add_command(digest_cli)


@digest_cli.command("schedule")
@click.option("--weekday", help="mon, tue, wed, thu, fri, sat or sun.")
@click.option("--time", "local_time", help="Local time, HH:MM.")
@click.option("--tz", "timezone", help="IANA time zone (default: TIMEZONE).")
@click.option("--min-posts", type=click.IntRange(min=0), help="Skip weeks with fewer posts (default 1).")
@click.option("--hold/--auto", default=None, help="Hold each digest for review, or send it (default).")
@click.option("--disable", is_flag=True, help="Stop sending digests.")
def schedule_command(weekday, local_time, timezone, min_posts, hold, disable) -> None:
    """Show the schedule, or set it: --weekday mon --time 08:00 --tz Europe/Berlin."""
    current = digests.current_schedule(db.session)
    if (
        not any(value is not None for value in (weekday, local_time, timezone, min_posts, hold))
        and not disable
    ):
        if current is None:
            click.echo("No schedule yet. Set one: weeknote digest schedule --weekday mon --time 08:00")
        else:
            _print_schedule(current)
        return
    if current is None and (weekday is None or local_time is None):
        raise click.UsageError("the first schedule needs --weekday and --time")
    try:
        day = parse_weekday(weekday) if weekday is not None else current.weekday
        at = parse_local_time(local_time) if local_time is not None else current.local_time
        zone_name = parse_zone(timezone or (current.timezone if current else site().zone_name))
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    schedule = digests.save_schedule(
        db.session,
        weekday=day,
        local_time=at,
        timezone=zone_name,
        min_posts=min_posts if min_posts is not None else (current.min_posts if current else 1),
        hold_for_review=hold if hold is not None else (current.hold_for_review if current else False),
        enabled=not disable,
        now=datetime.now(UTC),
    )
    db.session.commit()
    _print_schedule(schedule)


def _print_schedule(schedule: Schedule) -> None:
    mode = "held for review" if schedule.hold_for_review else "sent automatically"
    click.echo(
        f"Every {WEEKDAYS[schedule.weekday]} at {schedule.local_time:%H:%M} {schedule.timezone}, {mode}; "
        f"weeks with fewer than {schedule.min_posts} posts are skipped."
    )
    state = (
        local_moment(schedule.next_run_at, schedule.timezone, utc=True) if schedule.enabled else "disabled"
    )
    click.echo(f"Next digest: {state}")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _parse_at(value: str | None) -> datetime:
    """--at in the site's zone (naive) or as written; default: the next scheduled run, else now."""
    if value:
        try:
            moment = date_parser.parse(value)
        except (ValueError, OverflowError):
            raise click.BadParameter(f"{value!r} is not a date and time, e.g. '2026-11-23 08:00'") from None
        return (moment if moment.tzinfo else moment.replace(tzinfo=site_zone())).astimezone(UTC)
    return preview.next_digest_moment(db.session, datetime.now(UTC))


@digest_cli.command("preview")
@click.option("--at", help="Preview the digest of this moment (default: the next scheduled run).")
@click.option("--now", "now_flag", is_flag=True, help="Preview exactly what `digest send --now` would send.")
@click.option("--html", "part", flag_value="html", help="Show the HTML part.")
@click.option("--text", "part", flag_value="text", default=True, help="Show the text part (default).")
@click.option("--open", "open_file", is_flag=True, help="Write the HTML to a file and open it in a browser.")
def preview_command(at: str | None, now_flag: bool, part: str, open_file: bool) -> None:
    """Show exactly what the next digest would send (only the unsubscribe link differs)."""
    if now_flag and at:
        raise click.UsageError("use --now or --at, not both")
    if now_flag:
        draft = _draft()
        composed, when, posts = draft, draft.scheduled_for, len(draft.post_ids)
        active = on_authors_digest(db.session)
    else:
        when = _parse_at(at)
        upcoming = preview.build_preview(db.session, when)
        composed, posts, active = upcoming.composed, len(upcoming.posts), upcoming.active_subscribers
    click.echo(f"Subject: {composed.subject}", err=True)
    click.echo(
        f"For: {local_moment(when, utc=True)}; {_count(posts, 'post')}; "
        f"{_count(active, 'active subscriber')}",
        err=True,
    )
    if open_file:
        path = Path(current_app.instance_path) / "digest-preview.html"
        path.write_text(composed.html, encoding="utf-8")
        click.echo(f"Wrote {path}", err=True)
        webbrowser.open(path.as_uri())
        return
    click.echo(composed.html if part == "html" else composed.text)


def _draft() -> Digest:
    """What Send now would send, frozen as the draft that `send --now` then sends (committed)."""
    try:
        draft = drafts.prepare_draft(db.session, composer_from_app(), datetime.now(UTC))
    except (drafts.NothingToSend, digests.DigestBusy) as error:
        db.session.commit()
        raise click.ClickException(f"nothing was sent: {error}") from None
    db.session.commit()
    return draft


@digest_cli.command("test")
@click.option("--to", "address", required=True, help="Where to send the test message.")
@click.option("--at", help="Compose the digest of this moment (default: the next scheduled run).")
def test_command(address: str, at: str | None) -> None:
    """Send the preview to one address, without recording a delivery."""
    upcoming = preview.build_preview(db.session, _parse_at(at))
    try:
        preview.send_test(upcoming.composed, address)
    except (SendError, ValueError) as error:
        raise click.ClickException(f"the test message was not sent: {error}") from error
    click.echo(f"Sent a test of '{upcoming.composed.subject}' ({len(upcoming.posts)} posts) to {address}")


@digest_cli.command("send")
@click.option("--now", "now_flag", is_flag=True, required=True, help="Send the current period's digest now.")
@click.option("--yes", is_flag=True, help="Do not ask before sending.")
def send_command(now_flag: bool, yes: bool) -> None:
    """Send the posts since the last digest to every active subscriber, as `preview --now` shows them.

    When a preview was made (here or on the console's confirmation page) and the digest has
    changed since, nothing is sent: look at it again first."""
    previewed = drafts.current_draft(db.session)
    seen = drafts.fingerprint(previewed) if previewed is not None else None
    draft = _draft()
    if seen is not None and drafts.fingerprint(draft) != seen:
        raise click.ClickException(
            "nothing was sent: the digest changed since it was previewed (a post was published or "
            "changed, or the note was edited); see it with `weeknote digest preview --now`, then send"
        )
    recipients = on_authors_digest(db.session)
    click.echo(f"'{draft.subject}' ({_count(len(draft.post_ids), 'post')})")
    if not yes:
        plural = "" if recipients == 1 else "s"
        click.confirm(f"Send it to {recipients:,} subscriber{plural} now?", abort=True)
    try:
        digest = drafts.send_draft(
            db.session, composer_from_app(), draft.id, drafts.fingerprint(draft), datetime.now(UTC)
        )
    except (drafts.DraftChanged, drafts.NothingToSend, digests.DigestBusy) as error:
        db.session.commit()
        raise click.ClickException(f"nothing was sent: {error}") from None
    _start_sending(digest)


def _start_sending(digest: Digest) -> None:
    """Fan out to every active subscriber, then hand the digest to the worker (or send it here)."""
    queued = delivery.fan_out(db.session, digest)
    db.session.commit()
    click.echo(f"Digest {digest.id}: '{digest.subject}' to {queued} subscribers")
    _send_or_queue(digest.id)


def _send_or_queue(digest_id: int) -> None:
    try:
        queued = send_or_queue(digest_id)
    except SendError:
        # Each waiting row says why; one line for the author, not a traceback.
        problem = progress.waiting(db.session, digest_id)
        reason = problem.describe() if problem else "the mail server refused the session"
        raise click.ClickException(
            f"sending stopped: {reason}. Follow it with: weeknote digest status {digest_id}"
        ) from None
    if queued:
        click.echo(f"Queued for the worker; follow it with: weeknote digest status {digest_id}")
        return
    _print_counts(db.session.get(Digest, digest_id))


def _print_counts(digest: Digest) -> None:
    """The progress page's sentence and pace, then who failed or waits, and why."""
    state = progress.progress(db.session, digest)
    click.echo(f"Digest {digest.id}: {state['summary']}")
    if state["pace"] is not None:
        click.echo(state["pace"])
    if state["counts"][DeliveryStatus.SENT]:
        click.echo(state["came_back_words"])
    for line in state["troubles"]:
        click.echo(f"  {line}")
    if state["problem"] and not state["troubles"]:
        click.echo(state["problem"])


@digest_cli.command("status")
@click.argument("digest_id", type=int, required=False)
def status_command(digest_id: int | None) -> None:
    """Show a digest's deliveries by status (the latest digest by default); live while it sends."""
    query = select(Digest).where(Digest.status != DigestStatus.DRAFT).order_by(Digest.id.desc())
    digest = db.session.get(Digest, digest_id) if digest_id else db.session.scalar(query.limit(1))
    if digest is None:
        raise click.ClickException(
            f"no digest {digest_id}" if digest_id else "no digest has been created yet"
        )
    click.echo(f"Digest {digest.id}: {digest.subject or '(no subject)'}")
    if digest.status == DigestStatus.SENDING and sys.stdout.isatty():
        _watch(digest)
    _print_counts(digest)


def _watch(digest: Digest) -> None:
    """A progress bar over the digest's rows until none is pending or claimed (Ctrl-C stops)."""
    total = sum(progress.digest_counts(db.session, digest.id).values())
    with click.progressbar(length=total, label="Sending", show_pos=True) as bar:
        done = 0
        while True:
            finished = progress.done(progress.digest_counts(db.session, digest.id))
            bar.update(finished - done)
            done = finished
            db.session.rollback()  # see the worker's commits on the next read
            if finished >= total or db.session.get(Digest, digest.id).status != DigestStatus.SENDING:
                break
            time.sleep(0.5)


@digest_cli.command("retry-failed")
@click.argument("digest_id", type=int)
def retry_failed_command(digest_id: int) -> None:
    """Send a digest again to the subscribers whose delivery failed (and are still active)."""
    if db.session.get(Digest, digest_id) is None:
        raise click.ClickException(f"no digest {digest_id}")
    count = delivery.retry_failed(db.session, digest_id)
    click.echo(f"{count} failed deliveries queued again")
    if count:
        _send_or_queue(digest_id)


def _held(digest_id: int) -> Digest:
    digest = db.session.get(Digest, digest_id)
    if digest is None:
        raise click.ClickException(f"no digest {digest_id}")
    return digest


@digest_cli.command("approve")
@click.argument("digest_id", type=int)
def approve_command(digest_id: int) -> None:
    """Send a digest that was held for review, exactly as previewed."""
    digest = _held(digest_id)
    try:
        digests.approve(db.session, digest, datetime.now(UTC))
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    _start_sending(digest)


@digest_cli.command("cancel")
@click.argument("digest_id", type=int)
def cancel_command(digest_id: int) -> None:
    """Drop a digest held for review, or stop one that is sending."""
    digest = _held(digest_id)
    try:
        dropped = digests.cancel(db.session, digest)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(progress.describe_cancel(digest_id, dropped, progress.digest_counts(db.session, digest_id)))


@digest_cli.command("list")
def list_command() -> None:
    """The latest digests with their status and deliveries."""
    rows = progress.recent_digests(db.session, 20)
    if not rows:
        click.echo("No digest has been created yet.")
    for digest in rows:
        when = local_moment(digest.scheduled_for, utc=True)
        click.echo(f"{digest.id:>4}  {digest.status:<9} {when}  {digest.subject or '(no posts)'}  "
                   f"[{digest.sent} sent, {digest.failed} failed]")  # fmt: skip
