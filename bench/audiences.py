"""A run's digests per audience: 100,000 subscribers in 24 zones and 3 frequencies.

Seeds a scratch database (SQLite by default, or --database-url, which must be empty) with
--subscribers readers (100,000 by default) who chose every post, weekly or monthly, one of three
topic choices (all posts, ML, Rust) and 08:00 in one of 24 zones; the dispatcher places them,
then one dispatcher tick, late on purpose, finds all their 08:00s of the day due at once: the
weekly (a Tuesday) and the monthly (the 1st) in every zone, and the every-post mail. It prints
how long placing and creating the run's digests took, how many audiences there were and how
many compositions (each audience must be composed once; goal: the run in under 10 seconds).

    python bench/audiences.py [--subscribers N] [--database-url URL]
"""

import argparse
import os
import tempfile
import time as clock
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import func, insert, select

from blog import create_app
from blog.extensions import db
from blog.models import CarriedPost, Delivery, Digest, DigestStatus, Post, Subscriber, Tag
from blog.newsletter import audiences
from blog.newsletter.digests import save_schedule
from blog.newsletter.sending import composer_from_app, settings_from_app

ZONES = [
    "Pacific/Kiritimati", "Pacific/Auckland", "Australia/Sydney", "Asia/Tokyo", "Asia/Shanghai",
    "Asia/Bangkok", "Asia/Dhaka", "Asia/Kolkata", "Asia/Karachi", "Asia/Dubai", "Europe/Moscow",
    "Europe/Helsinki", "Europe/Berlin", "Europe/London", "Atlantic/Azores", "Atlantic/South_Georgia",
    "America/Sao_Paulo", "America/Halifax", "America/New_York", "America/Chicago", "America/Denver",
    "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu",
]  # fmt: skip
FREQUENCIES = ("post", "weekly", "monthly")
PLACED_AT = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # a Monday, before anyone's Tuesday 1 December
TICK = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)  # after every zone's 08:00 on 1 December


def seed(count: int) -> None:
    for index, (name, tags) in enumerate((("Gradients", ["ml"]), ("Borrowing", ["rust"]), ("Trains", []))):
        for day in range(3):
            published = PLACED_AT - timedelta(days=day * 9 + index)
            post = Post(slug=f"{name.lower()}-{day}", title=f"{name} {day}", body="x", html="<p>x</p>",
                        excerpt="An excerpt of a reasonable length for a digest. " * 3,
                        published_at=published, created_at=published)  # fmt: skip
            post.tags = [
                db.session.scalar(select(Tag).where(Tag.slug == tag))
                or Tag(slug=tag, name=tag.upper(), topic=True)
                for tag in tags
            ]
            db.session.add(post)
            db.session.flush()
    ml, rust = (db.session.scalar(select(Tag.id).where(Tag.slug == slug)) for slug in ("ml", "rust"))
    topics = ([], [ml], [rust])
    rows = [
        {"email": f"reader{i}@bench.test", "email_key": f"reader{i}@bench.test", "status": "active",
         "token_secret": f"secret{i}", "frequency": FREQUENCIES[i % 3], "timezone": ZONES[(i // 3) % 24],
         "topics": topics[(i // 72) % 3], "delivery_hour": 8, "preferences_at": PLACED_AT,
         "covered_until": PLACED_AT - timedelta(days=7), "confirmed_at": PLACED_AT - timedelta(days=30)}
        for i in range(count)
    ]  # fmt: skip
    for start in range(0, count, 5000):
        db.session.execute(insert(Subscriber), rows[start : start + 5000])
    save_schedule(db.session, weekday=1, local_time=time(9), timezone="Europe/Berlin", min_posts=1,
                  hold_for_review=False, enabled=True, now=PLACED_AT)  # fmt: skip
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--database-url", help="an empty database; default: a scratch SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update({
            "DATABASE_URL": args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}", "SECRET_KEY": "bench",
            "SITE_URL": "https://blog.bench.test", "MAIL_FROM": "Weeknote <digest@bench.test>",
        })  # fmt: skip
        os.environ.pop("REDIS_URL", None)
        app = create_app({"INSTANCE_PATH": str(Path(tmp) / "instance")})
        with app.app_context():
            upgrade()
            if db.session.scalar(select(Subscriber.id).limit(1)) is not None:
                raise SystemExit("the database is not empty: give an empty one")
            started = clock.perf_counter()
            seed(args.subscribers)
            print(f"seeded {args.subscribers:,} subscribers in {clock.perf_counter() - started:.1f} s")
            composer, settings = composer_from_app(), settings_from_app()
            started = clock.perf_counter()
            placed = audiences.place(db.session, composer.site.zone, PLACED_AT)
            db.session.commit()
            print(f"placed {placed:,} subscribers in {clock.perf_counter() - started:.2f} s")
            due = audiences.due_audiences(db.session, TICK)
            compositions: Counter = Counter()
            compose = audiences.compose_posts

            def counted(*arguments):
                compositions[arguments[4]] += 1  # the web copy's address: one per digest, so per audience
                return compose(*arguments)

            audiences.compose_posts = counted
            run = audiences.Run()
            started = clock.perf_counter()
            audiences.dispatch_audiences(db.session, composer, settings, TICK, run)
            elapsed = clock.perf_counter() - started
            digests = db.session.scalars(select(Digest).where(Digest.audience.is_not(None))).all()
            keys = Counter(digest.audience for digest in digests)
            rows = db.session.scalar(select(func.count(Delivery.id)))
            carried = db.session.scalar(select(func.count(CarriedPost.id)))
            sending = sum(digest.status == DigestStatus.SENDING for digest in digests)
            print(f"due audiences: {len(due)} ({sum(a.count for a in due):,} subscribers)")
            print(f"run: {elapsed:.2f} s for {len(digests)} digests ({sending} sending, "
                  f"{run.skipped} skipped), {rows:,} delivery rows, {carried:,} ledger rows")  # fmt: skip
            print(f"compositions: {run.composed} (calls to compose: {sum(compositions.values())}; "
                  f"most for one audience: {max(compositions.values(), default=0)}; "
                  f"digests per audience key: at most {max(keys.values(), default=0)})")  # fmt: skip
            verdict = (
                "OK"
                if elapsed < 10 and run.composed == sending and max(keys.values(), default=1) == 1
                else "MISSED"
            )
            print(f"goal (< 10 s, each audience composed once): {verdict}")


if __name__ == "__main__":
    main()
