"""Send now shows exactly what it sends: the frozen draft, its recipients, then one Send.

The console and the CLI share the draft: `digest preview --now` prints what `digest send --now`
then delivers, and the confirmation page frames what each subscriber receives, with only their
own unsubscribe link put in. The author's note, full text and a held digest's edits go through
the same freeze.
"""

import io
import re
from datetime import UTC, datetime, time, timedelta

import pytest
from helpers import (
    add_post,
    admin_post,
    csrf_token,
    flashes,
    parts,
    png,
    preferences_link,
    send_now,
    signed_in,
)
from sqlalchemy import func, select

from blog.extensions import db
from blog.models import Digest, Post
from blog.newsletter.compose import PREFERENCES_URL, UNSUBSCRIBE_URL
from blog.newsletter.digests import create_digest, save_schedule
from blog.newsletter.sending import composer_from_app
from blog.platform import site_settings

NOW = datetime.now(UTC)


@pytest.fixture
def mail_site_config() -> dict:
    return {"AUTHOR_NAME": "Ada Example", "TIMEZONE": "Europe/Berlin"}


@pytest.fixture
def console(mail_site, author):
    return signed_in(mail_site)


@pytest.fixture
def cli(mail_site):
    runner = mail_site.test_cli_runner()
    return lambda *args, **kwargs: runner.invoke(args=list(args), **kwargs)


def digest_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Digest))


def own_copy(smtp_server, address: str) -> tuple[str, str, str]:
    """A subscriber's text and HTML parts (with the line ends of a page: mail has CRLF and a final
    one), and their own unsubscribe link."""
    [message] = [m for m in smtp_server.messages if str(m["To"]) == address]
    text, html = (part.replace("\r\n", "\n").removesuffix("\n") for part in parts(message))
    return text, html, str(message["List-Unsubscribe"]).strip("<>")


def set_note(console, note: str, content: str = "excerpt") -> None:
    page = console.get("/admin/emails/").text
    response = console.post(
        "/admin/emails/",
        data={
            "csrf_token": csrf_token(page),
            "note": note,
            "content": content,
            "welcome": "y",
            "welcome_text": "Welcome!",
        },  # fmt: skip
    )
    assert response.status_code == 302, response.text


def test_the_confirmation_page_is_what_every_subscriber_gets(mail_site, console, week, smtp_server):
    with mail_site.app_context():
        db.session.get(Post, 1).cover_image = "/media/cover-1.png"
        db.session.commit()
    set_note(console, "Hello **readers**: three posts on Rust this week.")
    page, sent = send_now(console)
    assert "<h1>Send to 4 subscribers?</h1>" in page.text
    assert 'id="no-postal-address"' not in page.text  # mail_site has one
    assert 'id="confirm-send">Send to 4 subscribers</button>' in page.text
    assert sent.status_code == 302 and sent.location == "/admin/digest/1/"
    frozen = console.get("/admin/digest/1/body.html").text
    assert len(smtp_server.messages) == 4  # no Redis here: sent inline, one each
    for address in ("reader0@example.com", "reader3@example.com"):
        text, html, unsubscribe = own_copy(smtp_server, address)
        assert html == frozen.replace(UNSUBSCRIBE_URL, unsubscribe).replace(
            PREFERENCES_URL, preferences_link(html)
        )
    assert "Hello <strong>readers</strong>: three posts on Rust this week." in frozen
    assert "Weeknote" in frozen and "by Ada Example" in frozen
    assert re.search(r'<img [^>]*src="https://blog.example.com/media/cover-1.png"', frozen)
    assert all(title in frozen for title in ("Newest", "Middle", "Oldest"))
    # The note went out: the next digest starts without it.
    assert 'name="note"' in console.get("/admin/emails/").text
    with mail_site.app_context():
        assert site_settings.get(db.session, mail_site.config, site_settings.DIGEST_NOTE) == ""


def test_cli_preview_now_prints_what_send_now_delivers(mail_site, cli, week, smtp_server):
    with mail_site.app_context():
        site_settings.put(db.session, site_settings.DIGEST_NOTE, "A note from the *terminal*.")
        db.session.commit()
    printed = cli("digest", "preview", "--now", "--html")
    assert printed.exit_code == 0, printed.output
    text = cli("digest", "preview", "--now", "--text").stdout
    assert "3 posts; 4 active subscribers" in printed.stderr
    asked = cli("digest", "send", "--now", input="n\n")  # the CLI asks first; no sends nothing
    assert asked.exit_code == 1 and "Send it to 4 subscribers now? [y/N]" in asked.output
    assert smtp_server.messages == []
    sent = cli("digest", "send", "--now", "--yes")
    assert sent.exit_code == 0, sent.output
    assert len(smtp_server.messages) == 4
    own_text, html, unsubscribe = own_copy(smtp_server, "reader2@example.com")
    assert html == printed.stdout.replace(UNSUBSCRIBE_URL, unsubscribe).replace(
        PREFERENCES_URL, preferences_link(html)
    ).removesuffix("\n")
    assert own_text.rstrip("\n") == text.replace(UNSUBSCRIBE_URL, unsubscribe).replace(
        PREFERENCES_URL, preferences_link(own_text)
    ).rstrip("\n")
    assert "A note from the <em>terminal</em>." in html and "A note from the *terminal*." in own_text
    assert digest_count(mail_site) == 1


def test_nothing_to_send_offers_no_button_and_creates_no_row(mail_site, console, cli, smtp_server):
    index = console.get("/admin/digest/").text
    assert 'id="send-now"' not in index and "Nothing to send now" in index
    refused = cli("digest", "send", "--now", "--yes")
    assert refused.exit_code == 1
    assert "nothing was sent: there are no new posts since the last digest" in refused.output
    assert cli("digest", "preview", "--now").exit_code == 1
    response = admin_post(console, "/admin/digest/send", page="/admin/digest/", follow_redirects=True)
    assert flashes(response.text, "error")[0].startswith("Nothing was sent: there are no new posts")
    assert digest_count(mail_site) == 0 and smtp_server.messages == []


def test_a_post_published_after_the_preview_stops_the_send(mail_site, console, week, smtp_server):
    opened = admin_post(console, "/admin/digest/send", page="/admin/digest/")
    page = console.get(opened.location).text
    fingerprint = re.search(r'name="fingerprint" type="hidden" value="([0-9a-f]+)"', page)[1]
    with mail_site.app_context():
        add_post("Just now", datetime.now(UTC) - timedelta(seconds=1))
        db.session.commit()
    refused = console.post(opened.location, data={"csrf_token": csrf_token(page), "fingerprint": fingerprint})
    assert refused.status_code == 302 and refused.location == opened.location  # the new version
    again = console.get(refused.location).text
    assert (
        "the digest changed since you looked at it" in again
        and "Just now" in console.get(opened.location.replace("confirm", "body.html")).text
    )
    assert smtp_server.messages == []


def test_a_held_digest_is_edited_then_sent_as_edited(mail_site, console, week, smtp_server):
    with mail_site.app_context():
        schedule = save_schedule(db.session, weekday=0, local_time=time(8), timezone="UTC", min_posts=1,
                                 hold_for_review=True, enabled=True, now=NOW)  # fmt: skip
        held = create_digest(db.session, composer_from_app(), NOW, schedule)
        db.session.commit()
        held_id, post_ids = held.id, list(held.post_ids)
    review = console.get(f"/admin/digest/{held_id}/").text
    assert review.count('name="post" value="') == 3
    keep = post_ids[:2]  # drop the oldest
    response = console.post(
        f"/admin/digest/{held_id}/revise",
        data={
            "csrf_token": csrf_token(review),
            "note": "Two picks this week.",
            "post": [str(i) for i in keep],
        },
        follow_redirects=True,
    )
    assert "Saved." in flashes(response.text, "success")[0]
    edited = console.get(f"/admin/digest/{held_id}/body.html").text
    assert "Two picks this week." in edited and "Oldest" not in edited and "Newest" in edited
    assert "2 new posts" in edited
    admin_post(console, f"/admin/digest/{held_id}/approve", page=f"/admin/digest/{held_id}/")
    assert len(smtp_server.messages) == 4
    _, html, unsubscribe = own_copy(smtp_server, "reader1@example.com")
    assert html == edited.replace(UNSUBSCRIBE_URL, unsubscribe).replace(
        PREFERENCES_URL, preferences_link(html)
    )
    assert smtp_server.messages[0]["Subject"].startswith("Weeknote — 2 new posts")


def test_full_text_carries_each_post_with_absolute_sized_images(mail_site, console, week, smtp_server):
    with mail_site.app_context():
        post = db.session.get(Post, 1)
        post.html = (
            '<p>Look:</p><p><img src="/media/diagram.png"></p><p><a href="/posts/middle/">Middle</a></p>'
        )
        post.plain_text = "Look: Middle"
        db.session.commit()
    set_note(console, "", content="full")
    send_now(console)
    text, html, _ = own_copy(smtp_server, "reader0@example.com")
    tag = re.search(r'<img [^>]*src="https://blog.example.com/media/diagram.png"[^>]*>', html)[0]
    assert 'width="552"' in tag and 'alt="Image from Newest"' in tag and "max-width: 100%" in tag
    assert 'href="https://blog.example.com/posts/middle/"' in html
    assert "Look: Middle" in text


def test_a_logo_uploaded_in_the_console_heads_the_digest(mail_site, console, week):
    page = console.get("/admin/emails/").text
    fields = {"csrf_token": csrf_token(page), "note": "", "content": "excerpt", "welcome": "y",
              "welcome_text": "Welcome!"}  # fmt: skip
    refused = console.post("/admin/emails/", data=fields | {"logo": (io.BytesIO(b"GIF? no"), "logo.txt")})
    assert refused.status_code == 400 and "logo.txt is not a PNG, JPEG, GIF or WebP image" in refused.text
    saved = console.post("/admin/emails/", data=fields | {"logo": (io.BytesIO(png()), "Logo.png")})
    assert saved.status_code == 302
    html = mail_site.test_cli_runner().invoke(args=["digest", "preview", "--now", "--html"]).stdout
    logo = re.search(r'<img [^>]*class="logo"[^>]*>', html)[0]
    assert re.search(r'src="https://blog.example.com/media/[0-9a-f]{16}-logo\.png"', logo)
    assert 'alt="Weeknote"' in logo and 'width="64"' in logo
    with console.get(re.search(r'src="https://blog.example.com(/media/[^"]+)"', logo)[1]) as served:
        assert served.status_code == 200
    console.post("/admin/emails/", data=fields | {"remove_logo": "y"})
    html = mail_site.test_cli_runner().invoke(args=["digest", "preview", "--now", "--html"]).stdout
    assert 'class="logo"' not in html


def test_send_now_refuses_what_changed_since_the_cli_preview(mail_site, cli, week, smtp_server):
    assert cli("digest", "preview", "--now").exit_code == 0
    with mail_site.app_context():
        add_post("Published meanwhile", datetime.now(UTC) - timedelta(seconds=1))
        db.session.commit()
    refused = cli("digest", "send", "--now", "--yes")
    assert refused.exit_code == 1 and "the digest changed since it was previewed" in refused.output
    assert smtp_server.messages == []
    printed = cli("digest", "preview", "--now", "--html").stdout
    assert "Published meanwhile" in printed
    assert cli("digest", "send", "--now", "--yes").exit_code == 0
    assert len(smtp_server.messages) == 4


def test_a_cancelled_held_digest_leaves_the_note_for_the_next(mail_site, console, week, smtp_server):
    set_note(console, "Hold this thought.")
    with mail_site.app_context():
        schedule = save_schedule(db.session, weekday=0, local_time=time(8), timezone="UTC", min_posts=1,
                                 hold_for_review=True, enabled=True, now=NOW)  # fmt: skip
        held = create_digest(db.session, composer_from_app(), NOW, schedule)
        db.session.commit()
        held_id = held.id
        assert held.note == "Hold this thought."
    admin_post(console, f"/admin/digest/{held_id}/cancel", page=f"/admin/digest/{held_id}/")
    assert "Hold this thought." in console.get("/admin/emails/").text  # still the next digest's
    send_now(console)
    _, html, _ = own_copy(smtp_server, "reader0@example.com")
    assert "Hold this thought." in html
    with mail_site.app_context():
        assert site_settings.get(db.session, mail_site.config, site_settings.DIGEST_NOTE) == ""


def test_saving_other_emails_settings_does_not_bring_a_sent_note_back(mail_site, console, week, smtp_server):
    set_note(console, "Only once, please.")
    stale_page = console.get("/admin/emails/").text  # a tab left open with the note in it
    send_now(console)  # the note goes out and is cleared
    fields = dict(re.findall(r'<input[^>]*name="(note_seen|csrf_token)"[^>]*value="([^"]*)"', stale_page))
    fields |= {"note": "Only once, please.", "content": "full", "welcome": "y", "welcome_text": "Hi."}
    assert console.post("/admin/emails/", data=fields).status_code == 302
    with mail_site.app_context():
        assert site_settings.get(db.session, mail_site.config, site_settings.DIGEST_NOTE) == ""
        assert site_settings.get(db.session, mail_site.config, site_settings.DIGEST_CONTENT) == "full"


def test_editing_a_held_digest_leaves_out_a_post_unpublished_since(mail_site, console, week):
    with mail_site.app_context():
        schedule = save_schedule(db.session, weekday=0, local_time=time(8), timezone="UTC", min_posts=1,
                                 hold_for_review=True, enabled=True, now=NOW)  # fmt: skip
        held = create_digest(db.session, composer_from_app(), NOW, schedule)
        unpublished = db.session.get(Post, held.post_ids[0])
        unpublished.draft = True
        db.session.commit()
        held_id, post_ids, title = held.id, list(held.post_ids), unpublished.title
    review = console.get(f"/admin/digest/{held_id}/").text
    assert review.count('name="post" value="') == 2  # the unpublished one is not offered
    console.post(
        f"/admin/digest/{held_id}/revise",
        data={"csrf_token": csrf_token(review), "note": "", "post": [str(i) for i in post_ids]},
    )
    edited = console.get(f"/admin/digest/{held_id}/body.html").text
    assert title not in edited and "2 new posts" in edited
