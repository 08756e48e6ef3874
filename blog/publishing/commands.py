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
from blog.publishing.importer import Importer, ImportResult
from blog.publishing.runs import STATUSES, build_report, collect, import_one
from blog.publishing.sites import Site


def init_app(app: Flask) -> None:
    app.cli.add_command(import_command)
    app.cli.add_command(export_command)


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Report what would happen; save nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option(
    "--assets",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A folder where root-relative files (/img/a.png) live; repeatable.",
)
@click.option("--old-url", help="The old address pattern, e.g. /:year/:month/:day/:title.html.")
@with_appcontext
def import_command(
    paths: tuple[Path, ...], dry_run: bool, as_json: bool, assets: tuple[Path, ...], old_url: str | None
) -> None:
    """Import a site's root folder, folders of posts or files (.md .markdown .mdx .txt)."""
    sites, files, results = collect(list(paths), list(assets), old_url)
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
        item_show_func=lambda item: item[0].name if item else "",
    ) as bar:
        for path, site in bar:
            results.append(import_one(db.session, importer, path, site, dry_run))
    relinked = 0 if dry_run else importer.finish()
    db.session.commit()
    report = build_report(sites, results, relinked, dry_run)
    counts = report["counts"]
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print_sites(sites)
        _print_summary(results, counts, dry_run)
        _print_totals(report["totals"], report["not_posts"])
    if counts["failed"]:
        sys.exit(1)


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
        if r.files_copied or r.files_missing:
            click.echo(f"{'':<10} files: {len(r.files_copied)} copied, {len(r.files_missing)} missing")
        if r.old_addresses:
            click.echo(f"{'':<10} old addresses: {', '.join(r.old_addresses)}")
        for warning in r.warnings:
            click.secho(f"{'':<10} warning: {warning}", fg="yellow")
    summary = ", ".join(f"{counts[status]} {status}" for status in STATUSES)
    click.echo(f"\n{len(results)} files: {summary}" + (" (dry run: nothing saved)" if dry_run else ""))


def _print_sites(sites: list[Site]) -> None:
    for site in sites:
        about = site.describe()
        click.echo(f"Recognised {site.name} at {site.root}: {about['posts']} posts")
        if about["static"]:
            click.echo(f"  static files from: {', '.join(about['static'])}")
        if about["old_url"]:
            click.echo(f"  old addresses: {about['old_url']}")
    if sites:
        click.echo("")


def _print_totals(totals: dict[str, int], not_posts: list[dict]) -> None:
    click.echo(
        f"{totals['files_copied']} files copied, {totals['files_missing']} missing; "
        f"{totals['old_addresses']} old addresses registered; "
        f"{totals['links_rewritten']} links between posts re-pointed"
    )
    for entry in not_posts:
        click.echo(f"not imported: {entry['path']}: {entry['reason']}")


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
