"""One import of files and folders, shared by `weeknote import` and the console's Import (in the
worker): find the posts, import each in its own transaction, then write the report the CLI prints
with --json. A console run records its progress and report on its ImportRun row."""

import logging
from collections.abc import Callable
from pathlib import Path

from flask import current_app
from sqlalchemy import update
from sqlalchemy.orm import Session

from blog.extensions import db
from blog.models import ImportRun, ImportStatus
from blog.platform.zones import site_zone
from blog.publishing import uploads
from blog.publishing.importer import Importer, ImportResult
from blog.publishing.sites import UNREAD, Site, recognise, unread_reason

STATUSES = ("imported", "updated", "unchanged", "failed")
log = logging.getLogger(__name__)


def collect(
    paths: list[Path], assets: list[Path], old_url: str | None
) -> tuple[list[Site], list[tuple[Path, Site]], list[ImportResult]]:
    """The sites recognised, every post file with its site, and a failed result per path that is
    missing or named explicitly in a format Weeknote does not read."""
    sites: list[Site] = []
    files: dict[Path, Site] = {}
    missing: list[ImportResult] = []
    for path in paths:
        if path.is_dir():
            site = recognise(path, assets, old_url)
            sites.append(site)
            files.update((post, site) for post in site.posts if post not in files)
        elif (unread := UNREAD.get(path.suffix.lower())) is not None and path.is_file():
            missing.append(ImportResult(str(path), error=unread_reason(path.suffix, *unread)))
        elif path.is_file():
            site = recognise(path.parent, assets, old_url) if assets or old_url else None
            files.setdefault(path, site or Site("folder", path.parent.resolve()))
        else:
            missing.append(ImportResult(str(path), error="no such file or folder"))
    return sites, list(files.items()), missing


def import_one(session: Session, importer: Importer, path: Path, site: Site, dry_run: bool) -> ImportResult:
    """Import one file in its own transaction, so a bad file never blocks the others."""
    try:
        result = importer.import_file(path, site)
    except Exception as error:  # noqa: BLE001 - reported per file, the run goes on
        session.rollback()
        first_line = str(error).splitlines()[0] if str(error) else ""
        return ImportResult(str(path), error=f"{type(error).__name__}: {first_line}")
    if dry_run or result.status == "failed":
        session.rollback()
    else:
        session.commit()
    return result


def build_report(sites: list[Site], results: list[ImportResult], relinked: int, dry_run: bool) -> dict:
    """The report `weeknote import --json` prints: sites, posts, what was not a post, the totals."""
    counts = {status: sum(r.status == status for r in results) for status in STATUSES}
    not_posts = [{"path": str(path), "reason": reason} for site in sites for path, reason in site.not_posts]
    totals = {
        "files_copied": len({new for r in results for new in r.files_copied.values()}),
        "files_missing": sum(len(r.files_missing) for r in results),
        "old_addresses": sum(len(r.old_addresses) for r in results),
        "links_rewritten": sum(r.links_rewritten for r in results) + relinked,
        "not_posts": len(not_posts),
    }
    return {
        "sites": [site.describe() for site in sites],
        "posts": [r.as_json() for r in results],
        "not_posts": not_posts,
        "counts": counts,
        "totals": totals,
        "dry_run": dry_run,
    }


def run_upload(session: Session, run_id: int, importer_for: Callable[[bool], Importer]) -> ImportRun | None:
    """Import an uploaded site for the console, committing progress after each file; the upload is
    removed after a real import. A run that already started is left alone (a task delivered twice)."""
    claimed = session.execute(  # one UPDATE: of two tasks for the same run, only one imports
        update(ImportRun)
        .where(ImportRun.id == run_id, ImportRun.status == ImportStatus.WAITING)
        .values(status=ImportStatus.RUNNING)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    run = session.get(ImportRun, run_id)
    if run is None or claimed != 1:
        return run
    session.refresh(run)
    folder = Path(run.folder)
    try:
        sites, files, results = collect([uploads.site_root(folder)], [], None)
        note(session, run, total=len(files), done=0)
        importer = importer_for(run.dry_run)
        for done, (path, site) in enumerate(files, start=1):
            note(session, run, current=str(path.relative_to(folder)))
            results.append(import_one(session, importer, path, site, run.dry_run))
            note(session, run, done=done)
        relinked = 0 if run.dry_run else importer.finish()
        run.report = without_prefix(build_report(sites, results, relinked, run.dry_run), f"{folder}/")
        run.status = ImportStatus.DONE
    except Exception as error:  # the run as a whole stopped: say so on its page, keep the files
        log.exception("import run %s failed", run_id)
        session.rollback()
        run.status = ImportStatus.FAILED
        note(session, run, error=f"{type(error).__name__}: {error}")
    note(session, run, current="")
    if not run.dry_run and run.status == ImportStatus.DONE:
        uploads.remove(folder)
    return run


def note(session: Session, run: ImportRun, **changes) -> None:
    """Record progress and commit it, so the console's page shows it at once."""
    run.progress = {**(run.progress or {}), **changes}
    session.commit()


def upload_importer(dry_run: bool) -> Importer:
    """The importer `weeknote import` uses, for this app: the site's zone and media folder."""
    return Importer(db.session, site_zone(), Path(current_app.config["MEDIA_FOLDER"]), dry_run=dry_run)


def without_prefix(value, prefix: str):
    """The report with the private upload folder taken off every path in it."""
    if isinstance(value, str):
        return value.replace(prefix, "")
    if isinstance(value, list):
        return [without_prefix(item, prefix) for item in value]
    if isinstance(value, dict):
        return {key: without_prefix(item, prefix) for key, item in value.items()}
    return value
