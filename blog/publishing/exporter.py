"""Write posts back out as Markdown files with normalised YAML front matter."""

import shutil
from pathlib import Path

import yaml

from blog.models import Post
from blog.publishing.files import media_names


def build_front_matter(post: Post) -> dict:
    """The normalised metadata of a post; importing it gives the same post back."""
    data: dict = {"title": post.title, "slug": post.slug, "date": post.published_at.isoformat()}
    data["guid"] = post.guid  # feed readers know the post by it; a re-import keeps it
    if post.updated_at:
        data["updated"] = post.updated_at.isoformat()
    if post.draft:
        data["draft"] = True
    if post.tags:
        data["tags"] = [tag.name for tag in post.tags]
    data["excerpt"] = post.excerpt
    if post.cover_image:
        data["image"] = post.cover_image.removeprefix("/media/")
    if post.redirects:
        data["aliases"] = [redirect.old_path for redirect in post.redirects]
    data.update({key: value for key, value in post.extra.items() if key.lower() not in data})
    return data


def export_post(post: Post, folder: Path, media_folder: Path) -> Path:
    """Write one post as folder/<slug>.md, with its cover image and the files it shows beside it."""
    front = yaml.safe_dump(build_front_matter(post), sort_keys=False, allow_unicode=True)
    target = folder / f"{post.slug}.md"
    body = post.body
    for name in media_names(body):
        if (media_folder / name).is_file():
            shutil.copyfile(media_folder / name, folder / name)
            body = body.replace(f"/media/{name}", name)  # beside the post: importing it copies it back
    target.write_text(f"---\n{front}---\n\n{body}", encoding="utf-8")
    if post.cover_image and post.cover_image.startswith("/media/"):
        source = media_folder / post.cover_image.removeprefix("/media/")
        if source.is_file():
            shutil.copyfile(source, folder / source.name)
    return target
