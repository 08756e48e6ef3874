"""Authors: creating them, checking their passwords, changing them."""

import secrets
from datetime import datetime
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from blog.models import Author, new_token_secret
from blog.subscriptions.lifecycle import InvalidEmail, normalise_email

# scrypt is memory-hard (N=2**15, r=8: 32 MiB per check), so a stolen hash is slow to guess on GPUs.
PASSWORD_METHOD = "scrypt:32768:8:1"
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # hashing cost grows with length; nobody types more


class AuthorError(ValueError):
    """A request about authors that cannot be done; the message says what to do instead."""


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthorError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AuthorError(f"The password must have at most {MAX_PASSWORD_LENGTH} characters.")


def generate_password() -> str:
    """A one-time password to print: 16 characters, about 96 bits."""
    return secrets.token_urlsafe(12)


def count_authors(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Author)) or 0


def find_author(session: Session, email: str) -> Author | None:
    return session.scalar(select(Author).where(Author.email == email.strip().lower()))


def create_author(session: Session, email: str, password: str, one_time: bool = False) -> Author:
    """Add an author (not committed); one_time asks for a new password at the first sign-in."""
    try:
        address = normalise_email(email).lower()
    except InvalidEmail as error:
        raise AuthorError(f"{email!r} is not an email address: {error}") from error
    if find_author(session, address) is not None:
        raise AuthorError(f"An author with the address {address} already exists.")
    check_new_password(password)
    author = Author(email=address, must_change_password=one_time)
    set_password(author, password, one_time=one_time)
    session.add(author)
    return author


def set_password(author: Author, password: str, one_time: bool = False) -> None:
    """Store a new password hash and end every other session of this author."""
    check_new_password(password)
    author.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)
    author.must_change_password = one_time
    end_sessions(author)


def end_sessions(author: Author) -> None:
    """Sign the author out everywhere: every session and remember-me cookie names the old key."""
    author.session_key = new_token_secret()


def authenticate(session: Session, email: str, password: str, now: datetime) -> Author | None:
    """The author with this address and password, or None; as slow for unknown addresses."""
    author = find_author(session, email)
    password = password[:MAX_PASSWORD_LENGTH]
    if author is None:
        check_password_hash(unknown_author_hash(), password)
        return None
    if not check_password_hash(author.password_hash, password):
        return None
    author.last_sign_in_at = now
    return author


@cache
def unknown_author_hash() -> str:
    """Checked against when the address is unknown, so it takes as long as a wrong password."""
    return generate_password_hash(secrets.token_urlsafe(16), method=PASSWORD_METHOD)
