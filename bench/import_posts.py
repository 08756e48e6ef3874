"""Import speed: posts/second into SQLite beside parsing and rendering alone.

Generates a corpus of varied posts (YAML, TOML, JSON, Pelican and bare files; code,
lists, tables, links, kramdown attributes, images beside the posts and under /img/),
then times, in the same run:
  1. the content pipeline alone (read, split, normalise, render, sanitise), no database;
  2. `weeknote import`'s path: the same pipeline, the referenced images copied into the
     media store, plus one transaction per file into SQLite.
The two are timed in alternating rounds of 10 files, so that a busy machine slows both
alike. Goal: (2) reaches at least 80% of (1).

    python bench/import_posts.py [--posts 1000] [--keep DIR]
"""

import argparse
import random
import struct
import tempfile
import time
import zlib
from pathlib import Path
from zoneinfo import ZoneInfo

from flask_migrate import upgrade

from blog import create_app
from blog.content import parse_file
from blog.extensions import db
from blog.publishing.importer import Importer
from blog.publishing.sites import recognise

WORDS = [
    "learning", "rust", "python", "model", "data", "week", "notes", "borrow", "checker",
    "gradient", "descent", "kaggle", "tensor", "compile", "error", "lifetime", "trait",
    "async", "network", "layer", "feature", "test", "deploy",
]  # fmt: skip


def sentence(rng: random.Random, n: int = 14) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def body(rng: random.Random) -> str:
    parts = []
    for section in range(rng.randint(2, 5)):
        parts.append(f"## Section {section + 1}")
        parts.append(" ".join(sentence(rng) for _ in range(rng.randint(3, 8))))
        kind = rng.randrange(5)
        if kind == 0:
            parts.append("```python\n" + "\n".join(f"x{i} = compute({i}, 'a')" for i in range(8)) + "\n```")
        elif kind == 1:
            parts.append("\n".join(f"* **Item {i}** - {sentence(rng, 8)}" for i in range(5)))
        elif kind == 2:
            parts.append("| a | b |\n|---|---|\n" + "\n".join(f"| {i} | {i * i} |" for i in range(5)))
        elif kind == 3:
            parts.append(
                f'See [the docs][ref{section}]{{:target="_blank"}} and [more](https://example.com/{section}).'
            )
            parts.append(f"[ref{section}]: https://docs.example.com/{section}")
        else:
            parts.append(f'> {sentence(rng)}\n\n<span style="color:#e11d48">{sentence(rng, 5)}</span>')
        if rng.random() < 0.5:  # an image: root-relative from the static folder, or beside the post
            picture = rng.randrange(IMAGES)
            src = f"/img/figure-{picture}.png" if picture % 2 else f"img/figure-{picture}.png"
            parts.append(f"![Figure {picture}]({src})")
    return "\n\n".join(parts) + "\n"


IMAGES = 40
CHUNK = 10  # files a round times for each of the two


def png(seed: int) -> bytes:
    """A small valid PNG, different for each seed."""
    raw = b"".join(b"\x00" + bytes([seed % 256, 80, 160]) * 8 for _ in range(8))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def write_corpus(folder: Path, count: int) -> None:
    rng = random.Random(42)
    (folder / "img").mkdir()
    for picture in range(IMAGES):
        (folder / "img" / f"figure-{picture}.png").write_bytes(png(picture))
    for i in range(count):
        title = f"Post {i}: {sentence(rng, 5)[:-1]}"
        tags = rng.sample(WORDS, 3)
        day = f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}"
        style = i % 5
        if style == 0:
            text = f'---\ntitle: "{title}"\ndate: {day}\ntags: [{", ".join(tags)}]\n---\n\n{body(rng)}'
            name = f"post-{i}.md"
        elif style == 1:
            text = f'+++\ntitle = "{title}"\ndate = {day}T08:00:00Z\ntags = {tags!r}\n+++\n\n{body(rng)}'
            name = f"post-{i}.md".replace("'", '"')
            text = text.replace("'", '"')
        elif style == 2:
            text = f'{{"title": "{title}", "date": "{day}", "categories": "{" ".join(tags)}"}}\n\n{body(rng)}'
            name = f"post-{i}.markdown"
        elif style == 3:
            text = f"Title: {title}\nDate: {day} 10:00\nTags: {', '.join(tags)}\n\n{body(rng)}"
            name = f"post-{i}.txt"
        else:
            text = f"# {title}\n\n{body(rng)}"
            name = f"{day}-post-{i}.md"
        (folder / name).write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "corpus"
        folder.mkdir()
        write_corpus(folder, args.posts)
        site = recognise(folder)
        files = site.posts
        zone = ZoneInfo("UTC")
        for path in files[:20]:  # warm caches (Markdown instances, Pygments lexers)
            parse_file(path, zone)

        app = create_app({"INSTANCE_PATH": str(Path(tmp) / "instance")})
        parse_seconds = import_seconds = 0.0
        failed = 0
        with app.app_context():
            upgrade()
            importer = Importer(db.session, zone, Path(tmp) / "media")
            # Side by side: the two are timed in alternating rounds of CHUNK files, each round's
            # order swapped, so that what the rest of the machine does falls on both alike.
            for number, first in enumerate(range(0, len(files), CHUNK)):
                chunk = files[first : first + CHUNK]
                for step in ("parse", "import") if number % 2 == 0 else ("import", "parse"):
                    start = time.perf_counter()
                    if step == "parse":
                        for path in chunk:
                            parse_file(path, zone)
                        parse_seconds += time.perf_counter() - start
                        continue
                    for path in chunk:
                        result = importer.import_file(path, site)
                        if result.status == "failed":
                            failed += 1
                            db.session.rollback()
                        else:
                            db.session.commit()
                    import_seconds += time.perf_counter() - start
            start = time.perf_counter()
            importer.finish()
            db.session.commit()
            import_seconds += time.perf_counter() - start
            copied = len(list((Path(tmp) / "media").iterdir()))
            db.engine.dispose()
        parse_rate, import_rate = len(files) / parse_seconds, len(files) / import_seconds

    print(f"posts:                 {len(files)} ({failed} failed), {copied} images in the media store")
    print(f"parse + render only:   {parse_rate:8.1f} posts/s")
    print(f"import into SQLite:    {import_rate:8.1f} posts/s")
    print(f"import / parse ratio:  {import_rate / parse_rate:8.2f}  (goal: at least 0.80)")


if __name__ == "__main__":
    main()
