"""`weeknote create-author` and `weeknote reset-password`: authors are made on the server."""

import sys

import click
from flask import Flask
from flask.cli import with_appcontext

from blog.admin import authors
from blog.extensions import db
from blog.platform.urls import external_url


def init_app(app: Flask) -> None:
    app.cli.add_command(create_author_command)
    app.cli.add_command(reset_password_command)


def read_password(from_stdin: bool) -> str:
    """The new password: the first line of standard input, or typed twice at a hidden prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.command("create-author")
@click.argument("email", required=False)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (scripts).")
@click.option(
    "--if-none",
    is_flag=True,
    help="Only when there is no author yet: generate a one-time password, print it, and ask for "
    "a new one at the first sign-in (what `make run` does on first start).",
)
@with_appcontext
def create_author_command(email: str | None, password_stdin: bool, if_none: bool) -> None:
    """Create an author who can sign in at /admin/ (prompts for the password)."""
    if if_none:
        if authors.count_authors(db.session):
            return
        email = email or "author@example.com"
        password = authors.generate_password()
    elif not email:
        raise click.UsageError("Give the author's email address: weeknote create-author you@example.com")
    else:
        password = read_password(password_stdin)
    try:
        author = authors.create_author(db.session, email, password, one_time=if_none)
    except authors.AuthorError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    sign_in = external_url("admin.dashboard.index")
    if if_none:
        click.echo(f"Created the author {author.email} with the one-time password: {password}")
        click.echo(f"Sign in at {sign_in}; you will be asked to choose your own password.")
    else:
        click.echo(f"Created the author {author.email}. Sign in at {sign_in}")


@click.command("reset-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (scripts).")
@with_appcontext
def reset_password_command(email: str, password_stdin: bool) -> None:
    """Set a new password for an author and sign them out everywhere."""
    author = authors.find_author(db.session, email)
    if author is None:
        raise click.ClickException(f"There is no author with the address {email.strip().lower()}.")
    try:
        authors.set_password(author, read_password(password_stdin))
    except authors.AuthorError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"The password of {author.email} is changed; every session of theirs is signed out.")
