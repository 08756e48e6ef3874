"""The posts section: the list, the editor with live preview, cover and body images, deletion."""

from datetime import UTC, datetime
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from markupsafe import Markup, escape
from wtforms import BooleanField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from blog.extensions import db
from blog.models import Post
from blog.platform.site_settings import site
from blog.platform.zones import editor_moment, site_zone
from blog.publishing import covers
from blog.publishing import editor as post_editor
from blog.publishing.editor import PostError, PostInput

bp = Blueprint("posts", __name__, url_prefix="/posts")
PER_PAGE = 20
IMAGE_ALT = "Describe the image"  # selected after the image goes in, so the author types over it
# The publish choices' words once readers see the post: its date is kept unless the author says now.
PUBLISHED_CHOICES = [SelectChoice("at", "On the date below"), SelectChoice("now", "Re-date it to now")]


class PostForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired("Give the post a title."), Length(max=500)])
    body = TextAreaField("Text (Markdown)")
    slug = StringField("Slug", validators=[Length(max=200)])
    tags = StringField("Tags")
    excerpt = TextAreaField("Excerpt")
    when = RadioField(
        "Publish", choices=[SelectChoice("now", "Now"), SelectChoice("at", "Schedule at")], default="now"
    )
    publish_at = StringField("Date and time")
    cover = FileField("Cover image")
    remove_cover = BooleanField("Remove the cover image")


class DeleteForm(FlaskForm):
    pass


@bp.context_processor
def helpers() -> dict:
    return {"local_time": editor_moment, "zone_name": site().zone_name}


@bp.get("/")
def index():
    """Every post, newest first, filtered by status, tag and words in the title or text."""
    status = request.args.get("status", "all")
    status = status if status in post_editor.STATUSES else "all"
    tag = request.args.get("tag", "")[:200]
    text = request.args.get("q", "")[:200].strip()
    now = datetime.now(UTC)
    pagination = db.paginate(
        post_editor.filtered_posts(status, tag, text, now),
        page=request.args.get("page", 1, type=int),
        per_page=PER_PAGE,
        error_out=False,
    )
    tags = post_editor.all_tags(db.session)
    filters = {"status": status, "tag": tag, "q": text}
    return render_template(
        "admin/posts/index.html", pagination=pagination, tags=tags, filters=filters, now=now,
        status_of=post_editor.post_status,
    )  # fmt: skip


@bp.route("/new", methods=["GET", "POST"])
def new():
    return editor(None)


@bp.route("/<int:post_id>/", methods=["GET", "POST"])
def edit(post_id: int):
    return editor(db.get_or_404(Post, post_id))


def editor(post: Post | None):
    """Show the editor; on POST preview, or save, publish or unpublish, then come back here."""
    now = datetime.now(UTC)
    if request.method == "GET":
        values = post_editor.form_values(post, site_zone(), now) if post else PostInput()
        return show_editor(PostForm(data=values.__dict__), post)
    form = PostForm()
    action = request.form.get("action", "save")
    if action == "preview":  # the form without script: show the rendered text, save nothing
        return show_editor(form, post)
    if action not in post_editor.ACTIONS or (post is None and action == "unpublish"):
        abort(400)
    if not form.validate():
        return show_editor(form, post), 400
    try:
        cover = read_cover(form)
        result = post_editor.save_post(
            db.session, post, input_from(form), action, site_zone(), now,
            cover_url=cover.url if cover else None, remove_cover=form.remove_cover.data,
        )  # fmt: skip
    except PostError as error:
        db.session.rollback()
        form[error.field].errors.append(error.message)
        return show_editor(form, post), 400
    if cover:
        covers.store_cover(cover, Path(current_app.config["MEDIA_FOLDER"]))
    db.session.commit()
    flash(saved_message(result.post, action, result.created, result.old_slug, now), "success")
    for warning in result.warnings:
        flash(warning, "info")
    return redirect(url_for(".edit", post_id=result.post.id))


def read_cover(form: PostForm) -> covers.Cover | None:
    """The uploaded cover, checked; a refused file is reported on the cover field."""
    upload = form.cover.data
    if upload is None or not upload.filename:
        return None
    data = upload.read()  # MAX_CONTENT_LENGTH bounds it
    try:
        return covers.check_cover(data, upload.filename, current_app.config["COVER_MAX_BYTES"])
    except covers.CoverError as error:
        raise PostError("cover", str(error)) from None


def input_from(form: PostForm) -> PostInput:
    return PostInput(
        title=form.title.data or "",
        body=form.body.data or "",
        slug=form.slug.data or "",
        tags=form.tags.data or "",
        excerpt=form.excerpt.data or "",
        when=form.when.data or "now",
        publish_at=form.publish_at.data or "",
    )


def show_editor(form: PostForm, post: Post | None):
    """The editor page, its preview pane rendered on the server (what the script later updates)."""
    status = post_editor.post_status(post, datetime.now(UTC)) if post else "new"
    if status == "published":
        form.when.choices = PUBLISHED_CHOICES
    body = form.body.data or ""
    preview = post_editor.render_preview(form.title.data or "", body).html if body.strip() else ""
    return render_template(
        "admin/posts/edit.html", form=form, post=post, status=status, preview=preview,
        max_bytes=covers.human_size(current_app.config["COVER_MAX_BYTES"]),
    )  # fmt: skip


def saved_message(post: Post, action: str, created: bool, old_slug: str | None, now: datetime) -> Markup:
    """What happened, in words, with a link to the public page once readers can see it."""
    status = post_editor.post_status(post, now)
    if status == "published":
        link = Markup('<a href="{}">View the post</a>').format(url_for("posts.show", slug=post.slug))
        message = Markup("Published. {}.").format(link) if action == "publish" else None
        message = message or Markup("Saved; the published post shows the changes. {}.").format(link)
    elif status == "scheduled":
        message = escape(f"Scheduled: readers see the post from {editor_moment(post.published_at)}.")
    elif action == "unpublish":
        message = escape("Unpublished: the post is a draft again and readers no longer see it.")
    else:
        message = escape("Draft created." if created else "Draft saved.")
    if old_slug:
        message += escape(f" The old address /posts/{old_slug}/ now redirects to /posts/{post.slug}/.")
    return message


@bp.post("/preview")
def preview():
    """The body rendered and sanitised exactly as the public page will show it."""
    rendered = post_editor.render_preview(request.form.get("title", ""), request.form.get("body", ""))
    return {"html": rendered.html, "reading_minutes": rendered.reading_minutes, "excerpt": rendered.excerpt}


@bp.post("/images")
def upload_image():
    """An image for the text (pasted, dropped or picked), stored like covers; its Markdown back."""
    upload = request.files.get("image")
    if upload is None or not upload.filename:
        return {"error": f"Choose an image file ({covers.KINDS})."}, 400
    try:
        image = covers.check_cover(upload.read(), upload.filename, current_app.config["COVER_MAX_BYTES"])
    except covers.CoverError as error:
        return {"error": str(error)}, 400
    url = covers.store_cover(image, Path(current_app.config["MEDIA_FOLDER"]))
    return {"url": url, "markdown": f"![{IMAGE_ALT}]({url})", "alt": IMAGE_ALT}


@bp.route("/<int:post_id>/delete", methods=["GET", "POST"])
def delete(post_id: int):
    """Ask first; only the confirmation's POST deletes."""
    post = db.get_or_404(Post, post_id)
    form = DeleteForm()
    if not form.validate_on_submit():
        return render_template("admin/posts/delete.html", post=post, form=form)
    title = post.title
    post_editor.delete_post(db.session, post)
    db.session.commit()
    flash(f"Deleted “{title}”. Its page and old addresses now answer 404.", "success")
    return redirect(url_for(".index"))


@bp.errorhandler(413)
def too_large(error):
    limit = covers.human_size(current_app.config["COVER_MAX_BYTES"])
    return render_template("admin/posts/too_large.html", limit=limit), 413
