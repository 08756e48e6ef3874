"""`weeknote import` and `weeknote export`: bring posts in from any blog, write them back out."""

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from blog.extensions import db
from blog.models import Post
from blog.platform.zones import site_zone
from blog.publishing.exporter import export_post
from blog.publishing.importer import Importer, ImportResult, collect_paths

STATUSES = ("imported", "updated", "unchanged", "failed")


def init_app(app: Flask) -> None:
    app.cli.add_command(import_command)
    app.cli.add_command(export_command)


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Report what would happen; save nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@with_appcontext
def import_command(paths: tuple[Path, ...], dry_run: bool, as_json: bool) -> None:
    """Import Markdown posts from files or folders (.md .markdown .mdx .txt)."""
    files, results = collect_paths(list(paths))
    importer = Importer(
        db.session,
        site_zone(),
        Path(current_app.config["MEDIA_FOLDER"]),
        dry_run=dry_run,
    )
    with click.progressbar(
        files,
        label="Importing",
        file=sys.stderr,
        show_pos=True,
        item_show_func=lambda path: path.name if path else "",
    ) as bar:
        for path in bar:
            results.append(_import_one(importer, path, dry_run))
    counts = {status: sum(r.status == status for r in results) for status in STATUSES}
    if as_json:
        report = {"posts": [r.as_json() for r in results], "counts": counts, "dry_run": dry_run}
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print_summary(results, counts, dry_run)
    if counts["failed"]:
        sys.exit(1)


def _import_one(importer: Importer, path: Path, dry_run: bool) -> ImportResult:
    """Import one file in its own transaction, so a bad file never blocks the others."""
    try:
        result = importer.import_file(path)
    except Exception as error:  # noqa: BLE001 - reported per file, the run goes on
        db.session.rollback()
        first_line = str(error).splitlines()[0] if str(error) else ""
        return ImportResult(str(path), error=f"{type(error).__name__}: {first_line}")
    if dry_run or result.status == "failed":
        db.session.rollback()
    else:
        db.session.commit()
    return result


def _print_summary(results: list[ImportResult], counts: dict[str, int], dry_run: bool) -> None:
    width = max((len(r.slug or "") for r in results), default=4)
    click.echo(f"{'status':<10} {'slug':<{width}}  {'date':<10}  title")
    for r in results:
        if r.status == "failed":
            click.secho(f"{'failed':<10} {r.path}: {r.error}", fg="red")
            continue
        date = r.published_at.date().isoformat() if r.published_at else ""
        draft = " (draft)" if r.draft else ""
        click.echo(f"{r.status:<10} {r.slug:<{width}}  {date:<10}  {r.title}{draft}")
        if r.inferred:
            sources = ", ".join(f"{name} from {source}" for name, source in r.inferred.items())
            click.echo(f"{'':<10} inferred: {sources}")
        for warning in r.warnings:
            click.secho(f"{'':<10} warning: {warning}", fg="yellow")
    summary = ", ".join(f"{counts[status]} {status}" for status in STATUSES)
    click.echo(f"\n{len(results)} files: {summary}" + (" (dry run: nothing saved)" if dry_run else ""))


@click.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def export_command(folder: Path) -> None:
    """Write every post to FOLDER as Markdown with normalised YAML front matter."""
    folder.mkdir(parents=True, exist_ok=True)
    media = Path(current_app.config["MEDIA_FOLDER"])
    count = 0
    for post in db.session.scalars(select(Post).order_by(Post.published_at)):
        export_post(post, folder, media)
        count += 1
    click.echo(f"Exported {count} posts to {folder}")
