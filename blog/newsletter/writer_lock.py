"""Take turns for SQLite's write lock in the kernel: the delivery code's writes, one process at a time."""

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

try:
    import fcntl
except ImportError:  # not on Windows: there SQLite's own busy handler does the waiting
    fcntl = None


class WriterLock:
    """Wait for SQLite's write lock in the kernel rather than in SQLite's busy handler.

    SQLite lets one connection write at a time; the others poll for the lock, sleeping one,
    two, five, ten milliseconds and more between tries. Workers that mark rows sent thousands
    of times a second meet there often, and a poller can lose many rounds in a row. So the
    delivery code's writes take turns on a file lock beside the database instead (`writing()`,
    or `with lock:` around an autocommit write; never nested), and a waiting worker wakes the
    moment the other is done. Threads of one process take turns on a thread lock first (a file lock
    does not tell them apart). Other databases, and SQLite in memory, need no lock: `with
    lock:` does nothing there.
    """

    def __init__(self, path: str | None) -> None:
        self.fd = None if path is None else os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.threads = threading.Lock()

    def __enter__(self) -> None:
        if self.fd is not None:
            self.threads.acquire()
            fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc_info: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            self.threads.release()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


_writer_locks: dict[str, WriterLock] = {}


def _forget_writer_locks() -> None:
    """In a forked child (a Celery pool process): the parent's lock files are the parent's, and
    sharing one would not keep the two apart; the child opens its own when it needs them."""
    for lock in _writer_locks.values():
        lock.close()
    _writer_locks.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_writer_locks)


@contextmanager
def writing(bind: Connection | Session) -> Iterator[None]:
    """A write transaction on `bind` in this process's turn: what is open is committed first
    (the lock is never taken inside a transaction), and the block's work is committed before
    the turn ends."""
    bind.commit()
    with writer_lock(bind):
        yield
        bind.commit()


def writer_lock(bind: Engine | Connection | Session) -> WriterLock:
    """This process's WriterLock for the database behind `bind`."""
    url = _url(bind)
    key = url.render_as_string()
    if key not in _writer_locks:
        path = sqlite_file(bind)
        _writer_locks[key] = WriterLock(f"{path}-writer.lock" if path else None)
    return _writer_locks[key]


def sqlite_file(bind: Engine | Connection | Session) -> str | None:
    """The path of the SQLite file behind `bind`, where files beside it can be locked (not on
    Windows); None for other databases and SQLite in memory."""
    url = _url(bind)
    path = url.database if url.get_backend_name() == "sqlite" else None
    on_disk = fcntl is not None and path and path != ":memory:" and not path.startswith("file:")
    return path if on_disk else None


def _url(bind: Engine | Connection | Session):
    return (bind.get_bind() if hasattr(bind, "get_bind") else bind).engine.url  # a (scoped) session
