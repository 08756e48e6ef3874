import pytest

from blog import create_app
from blog.config import Config, normalise_database_url


def test_defaults_live_in_the_instance_folder(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance")})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'instance' / 'weeknote.db'}"
    secret = (tmp_path / "instance" / "secret_key").read_text()
    assert app.config["SECRET_KEY"] == secret and len(secret) == 64
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o777 == 0o600
    again = create_app({"INSTANCE_PATH": str(tmp_path / "instance")})
    assert again.config["SECRET_KEY"] == secret


def test_environment_is_read(monkeypatch):
    env = {"SITE_TITLE": "My Notes", "POSTS_PER_PAGE": "5", "DATABASE_URL": "postgres://u@h/db"}
    config = Config(env)
    assert (config.SITE_TITLE, config.POSTS_PER_PAGE) == ("My Notes", 5)
    assert config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u@h/db"


def test_bad_values_say_what_is_wrong(tmp_path):
    with pytest.raises(ValueError, match="POSTS_PER_PAGE='ten' must be a whole number"):
        Config({"POSTS_PER_PAGE": "ten"})
    with pytest.raises(ValueError, match="TIMEZONE='Mars/Base' is not an IANA time zone"):
        create_app({"INSTANCE_PATH": str(tmp_path), "TIMEZONE": "Mars/Base"})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://127.0.0.1/test", "postgresql+psycopg://127.0.0.1/test"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
        ("", ""),
    ],
)
def test_normalise_database_url(url, expected):
    assert normalise_database_url(url) == expected
