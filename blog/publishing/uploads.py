"""A site uploaded from the browser, unpacked into a private folder: a .zip, or a folder's files.

Nothing is written outside the folder: names that are absolute or climb out (`../`), symbolic
links and encrypted entries are refused, and so is an archive that would unpack to more files,
more bytes or more times its own size than the limits allow (a zip bomb), counted as the bytes
come out, not as the archive claims. A refused upload leaves nothing behind.
"""

import re
import shutil
import stat
import tempfile
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

CHUNK = 64 * 1024
SKIPPED = ("__MACOSX", ".DS_Store", "Thumbs.db")  # what archivers add beside the files
DRIVE = re.compile(r"^[A-Za-z]:")


class UploadError(ValueError):
    """An upload refused as a whole; the message names the entry and what to do."""


@dataclass(frozen=True)
class Limits:
    files: int  # files at most
    size: int  # bytes unpacked, in all
    ratio: int  # unpacked bytes per byte of the archive, at most

    def check_total(self, written: int, archive_size: int | None = None) -> None:
        if written > self.size:
            raise UploadError(f"it unpacks to more than {self.size // (1024 * 1024)} MB; import it in parts")
        if archive_size is not None and written > 1024 * 1024 and written > self.ratio * max(archive_size, 1):
            raise UploadError(
                f"it unpacks to more than {self.ratio} times its own size, as a zip bomb would; "
                "this is refused"
            )


def new_folder(root: Path) -> Path:
    """A fresh folder under root that only this user can read (mode 0700)."""
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=root, prefix="upload-"))


def safe_path(name: str) -> PurePosixPath | None:
    """An entry's path inside the folder; None for what archivers add; UploadError for a name
    that is absolute or climbs out of the folder."""
    if name.startswith(("/", "\\")) or DRIVE.match(name) or "\x00" in name:
        raise UploadError(f"“{name}” is an absolute path; only paths inside the archive are accepted")
    path = PurePosixPath(name.replace("\\", "/"))
    if ".." in path.parts:
        raise UploadError(f"“{name}” points outside the archive (..); nothing was imported")
    parts = [part for part in path.parts if part not in ("", ".")]
    if not parts or any(part in SKIPPED for part in parts):
        return None
    return PurePosixPath(*parts)


def extract_zip(archive: BinaryIO, target: Path, limits: Limits, archive_size: int) -> int:
    """Unpack a .zip into target (new and empty); the number of files written."""
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError):
        raise UploadError("it is not a .zip archive; zip the site's folder and upload that") from None
    with bundle:
        entries = [entry for entry in bundle.infolist() if not entry.is_dir()]
        if len(entries) > limits.files:
            raise UploadError(
                f"it holds {len(entries)} files; at most {limits.files} can be imported at once"
            )
        for entry in entries:
            mode = entry.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UploadError(
                    f"“{entry.filename}” is a symbolic link; links are refused, zip the files themselves"
                )
            if entry.flag_bits & 0x1:
                raise UploadError(f"“{entry.filename}” is encrypted; upload an archive without a password")
        limits.check_total(sum(entry.file_size for entry in entries), archive_size)  # as declared
        written = 0
        for entry in entries:
            path = safe_path(entry.filename)
            if path is None:
                continue
            with bundle.open(entry) as source:
                written += write(source, target, path, limits, written, archive_size, entry.file_size)
        return sum(1 for item in target.rglob("*") if item.is_file())


def save_files(files: Iterable[tuple[str, BinaryIO]], target: Path, limits: Limits) -> int:
    """Write a folder's uploaded files (each named by its path in the folder) into target."""
    written = count = 0
    for name, stream in files:
        path = safe_path(name)
        if path is None:
            continue
        count += 1
        if count > limits.files:
            raise UploadError(f"it holds more than {limits.files} files; import it in parts")
        written += write(stream, target, path, limits, written)
    return count


def write(
    source: BinaryIO, target: Path, path: PurePosixPath, limits: Limits, before: int,
    archive_size: int | None = None, declared: int | None = None,
) -> int:  # fmt: skip
    """Copy one entry to target/path, counting bytes as they come; the bytes written."""
    destination = target.joinpath(*path.parts)
    if not destination.resolve().is_relative_to(target.resolve()):  # belt and braces
        raise UploadError(f"“{path}” points outside the archive; nothing was imported")
    destination.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    try:
        with destination.open("xb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if declared is not None and size > declared:
                    raise UploadError(f"“{path}” is larger than the archive says; this is refused")
                limits.check_total(before + size, archive_size)
                out.write(chunk)
    except FileExistsError:
        raise UploadError(f"“{path}” is in the upload twice; keep one") from None
    except zipfile.BadZipFile as error:
        raise UploadError(f"“{path}” cannot be read ({error}); the archive is damaged") from None
    return size


def site_root(folder: Path) -> Path:
    """Where the site starts: the one folder a zip of a folder holds, else the upload itself."""
    items = list(folder.iterdir())
    return items[0] if len(items) == 1 and items[0].is_dir() else folder


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def remove_stale(root: Path, older_than: float) -> int:
    """Remove uploads left longer than `older_than` seconds (a dry run never imported); how many."""
    if not root.is_dir():
        return 0
    cutoff = time.time() - older_than
    stale = [
        folder for folder in root.glob("upload-*") if folder.is_dir() and folder.stat().st_mtime < cutoff
    ]
    for folder in stale:
        remove(folder)
    return len(stale)
