"""Import from the browser: a .zip of a site or a folder of posts, unpacked into a private folder,
imported by the worker with `weeknote import`'s importer: first a dry run, then for real."""

import time
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage

from blog import jobs
from blog.extensions import db, send_task
from blog.models import ImportRun, ImportStatus
from blog.publishing import uploads
from blog.publishing.covers import human_size
from blog.publishing.runs import run_upload, upload_importer

bp = Blueprint("imports", __name__, url_prefix="/import")
FINISHED = (ImportStatus.DONE, ImportStatus.FAILED)
KEEP_UPLOADS = 2 * 86400  # seconds an upload waits after its dry run for the author to press Import


class StartForm(FlaskForm):
    """The CSRF token; the files are read from the request (a folder is many inputs' worth)."""


class RunForm(FlaskForm):
    """Only the CSRF token: importing for real is one button press."""


@bp.route("/", methods=["GET", "POST"])
def upload():
    """The upload form; on POST unpack the upload and start its dry run."""
    form = StartForm()
    if not form.validate_on_submit():
        return refuse("The form expired; choose the files again.") if form.is_submitted() else refuse("", 200)
    archive = request.files.get("archive")
    folder_files = [file for file in request.files.getlist("folder") if file.filename]
    if (archive is None or not archive.filename) and not folder_files:
        return refuse("Choose a .zip of your site, or a folder of posts.")
    root = Path(current_app.config["IMPORT_FOLDER"])
    uploads.remove_stale(root, KEEP_UPLOADS)
    target = uploads.new_folder(root)
    try:
        if archive is not None and archive.filename:
            source = archive.filename
            uploads.extract_zip(archive.stream, target, import_limits(), size_of(archive))
        else:
            source = folder_files[0].filename.split("/")[0] or "a folder"
            uploads.save_files(
                ((file.filename, file.stream) for file in folder_files), target, import_limits()
            )
    except uploads.UploadError as error:
        uploads.remove(target)
        return refuse(f"{source}: {error}. Nothing was imported.")
    run = ImportRun(folder=str(target), progress={"source": source[:300]}, dry_run=True)
    db.session.add(run)
    db.session.commit()
    start(run)
    return redirect(url_for(".show", run_id=run.id))


@bp.get("/<int:run_id>/")
def show(run_id: int):
    """The run's progress (the page refreshes itself until it ends), then its report."""
    run = db.get_or_404(ImportRun, run_id)
    if run.status == ImportStatus.WAITING and current_app.config.get("REDIS_URL") and overdue(run):
        start(run)  # the hand-off was lost (Redis restarted): hand it over again; a run imports once
    return render_template(
        "admin/imports/show.html", run=run, form=RunForm(), finished=run.status in FINISHED
    )


@bp.get("/<int:run_id>.json")
def progress(run_id: int):
    run = db.get_or_404(ImportRun, run_id)
    progress = run.progress or {}
    return {"status": run.status} | {key: progress.get(key) for key in ("done", "total", "current", "error")}


@bp.post("/<int:run_id>/import")
def import_for_real(run_id: int):
    """After a dry run: import the same files for real, as a new run with its own report."""
    dry = db.get_or_404(ImportRun, run_id)
    if not RunForm().validate_on_submit() or not dry.dry_run or dry.status != ImportStatus.DONE:
        abort(400)
    if not Path(dry.folder).is_dir():
        flash("The uploaded files are gone; upload them again.", "error")
        return redirect(url_for(".upload"))
    run = ImportRun(folder=dry.folder, progress={"source": dry.progress.get("source", "")}, dry_run=False)
    db.session.add(run)
    db.session.commit()
    start(run)
    return redirect(url_for(".show", run_id=run.id))


def start(run: ImportRun) -> None:
    """Hand the run to the worker; without one (no REDIS_URL), run it in this request."""
    if current_app.config.get("REDIS_URL"):
        if send_task(jobs.IMPORT_UPLOAD, run.id):
            run.progress = {**run.progress, "queued_at": time.time()}
            db.session.commit()
        else:
            flash(
                "The worker could not be reached; this page hands the import over once it is back.", "error"
            )
        return
    run_upload(db.session, run.id, upload_importer)


def overdue(run: ImportRun) -> bool:
    """Waiting longer than MAIL_REQUEUE_AFTER since it was handed over (or never handed over)."""
    queued = run.progress.get("queued_at")
    return queued is None or time.time() - queued > float(current_app.config["MAIL_REQUEUE_AFTER"])


def refuse(message: str, status: int = 400):
    return render_template("admin/imports/upload.html", limits=limits_text(), error=message), status


def import_limits() -> uploads.Limits:
    config = current_app.config
    return uploads.Limits(config["IMPORT_MAX_FILES"], config["IMPORT_MAX_BYTES"], config["IMPORT_MAX_RATIO"])


def limits_text() -> str:
    config = current_app.config
    return (
        f"up to {human_size(config['IMPORT_MAX_UPLOAD'])} uploaded, "
        f"{config['IMPORT_MAX_FILES']:,} files and {human_size(config['IMPORT_MAX_BYTES'])} unpacked"
    )


def size_of(upload: FileStorage) -> int:
    stream = upload.stream
    position = stream.tell()
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(position)
    return size


@bp.errorhandler(413)
def too_large(error):
    return refuse(f"That upload is larger than the limit ({limits_text()}): import the site in parts.", 413)
