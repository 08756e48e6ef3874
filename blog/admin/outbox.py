"""The development outbox: the messages OutboxTransport wrote, shown as a recipient would see them."""

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template, send_file

from blog.mail import outbox
from blog.mail.outbox import OutboxTransport
from blog.mail.transport import transport_from_config

bp = Blueprint("outbox", __name__, url_prefix="/outbox")
LIST_LIMIT = 200
# The message's own HTML, framed by the message page: its inline styles and remote images load,
# nothing else does (no scripts, no forms, no fonts), and only this site may frame it.
HTML_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; frame-ancestors 'self'"
)


def folder() -> Path:
    return Path(current_app.config["OUTBOX_FOLDER"])


def message_or_404(name: str) -> Path:
    path = outbox.message_path(folder(), name)
    if path is None:
        abort(404)
    return path


@bp.get("/")
def index():
    """The newest messages in the outbox, and whether mail goes there at all."""
    config = current_app.config
    return render_template(
        "admin/outbox/index.html",
        outbox_on=isinstance(transport_from_config(config), OutboxTransport),
        smtp=f"{config['SMTP_HOST']}:{config['SMTP_PORT']}",
        folder=folder(),
        total=len(outbox.message_files(folder())),
        messages=outbox.list_messages(folder(), LIST_LIMIT),
    )


@bp.get("/<name>/")
def show(name: str):
    """One message: its headers, its HTML part framed in a sandbox, its text part."""
    path = message_or_404(name)
    message = outbox.read_message(path)
    text, html = outbox.body_parts(message)
    return render_template(
        "admin/outbox/show.html",
        name=name,
        message=message,
        date=outbox.message_date(message, path),
        text=text,
        has_html=html is not None,
    )


@bp.get("/<name>/html")
def html(name: str):
    """The HTML part alone, for the sandboxed frame on the message page."""
    _, html = outbox.body_parts(outbox.read_message(message_or_404(name)))
    if html is None:
        abort(404)
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = HTML_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/<name>/raw")
def raw(name: str):
    """The message file as it was written, to open in a mail program."""
    return send_file(message_or_404(name), mimetype="message/rfc822", as_attachment=True, download_name=name)
