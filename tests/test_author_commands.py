"""`weeknote create-author` and `weeknote reset-password`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import sign_in

from blog.cli import missing_table


def test_create_author_reads_the_password_from_stdin(runner, client):
    result = runner.invoke(
        args=["create-author", "Me@Example.com", "--password-stdin"], input="a long secret!\n"
    )
    assert result.exit_code == 0, result.output
    assert "Created the author me@example.com" in result.output
    assert sign_in(client, "me@example.com", "a long secret!").location == "/admin/"


def test_create_author_prompts_twice_for_the_password(runner, client):
    result = runner.invoke(args=["create-author", "me@example.com"], input="a long secret!\na long secret!\n")
    assert result.exit_code == 0, result.output
    assert "a long secret!" not in result.output  # typed at a hidden prompt
    assert sign_in(client, "me@example.com", "a long secret!").location == "/admin/"


def test_create_author_refuses_bad_input_and_says_why(runner):
    short = runner.invoke(args=["create-author", "me@example.com", "--password-stdin"], input="short\n")
    assert short.exit_code == 1
    assert "at least 10 characters" in short.output
    bad = runner.invoke(
        args=["create-author", "not-an-address", "--password-stdin"], input="a long secret!\n"
    )
    assert bad.exit_code == 1
    assert "is not an email address" in bad.output
    missing = runner.invoke(args=["create-author"])
    assert missing.exit_code == 2
    assert "Give the author's email address" in missing.output


def test_create_author_refuses_a_second_author_with_the_same_address(runner):
    args = ["create-author", "me@example.com", "--password-stdin"]
    assert runner.invoke(args=args, input="a long secret!\n").exit_code == 0
    again = runner.invoke(
        args=["create-author", "ME@example.com", "--password-stdin"], input="another secret\n"
    )
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_if_none_creates_one_author_once(runner):
    first = runner.invoke(args=["create-author", "--if-none"])
    assert "one-time password" in first.output
    second = runner.invoke(args=["create-author", "--if-none"])
    assert second.exit_code == 0
    assert second.output == ""


def test_reset_password_replaces_the_old_one(runner, client, author):
    result = runner.invoke(args=["reset-password", author, "--password-stdin"], input="brand new secret\n")
    assert result.exit_code == 0, result.output
    assert sign_in(client, author, "brand new secret").location == "/admin/"
    unknown = runner.invoke(args=["reset-password", "who@example.com", "--password-stdin"], input="x" * 12)
    assert unknown.exit_code == 1
    assert "There is no author with the address who@example.com" in unknown.output


def test_a_command_on_a_database_not_set_up_says_how_to_set_it_up(tmp_path):
    """Not a traceback: one sentence naming `weeknote db upgrade`."""
    weeknote = Path(sys.executable).parent / "weeknote"
    env = {**os.environ, "INSTANCE_PATH": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/new.db"}
    answer = subprocess.run([weeknote, "import", str(tmp_path)], env=env, capture_output=True, text=True)
    assert answer.returncode == 1 and "Traceback" not in answer.stderr
    assert "weeknote db upgrade" in answer.stderr and "missing: setting" in answer.stderr


def test_a_missing_table_is_told_apart_from_other_database_errors(database_url):
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        with pytest.raises(sa.exc.DBAPIError) as missing:
            connection.execute(sa.text("SELECT * FROM no_table_here"))
        connection.rollback()
        with pytest.raises(sa.exc.DBAPIError) as other:
            connection.execute(sa.text("SELECT no_column_here FROM post"))
    engine.dispose()
    assert missing_table(missing.value) == "no_table_here"
    assert missing_table(other.value) is None
