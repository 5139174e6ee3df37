"""DATABASE_URL's form is checked when the settings load; a refusal is one line, never a secret."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from graphql_api.cli import settings_problem
from graphql_api.settings import Settings

PASSWORD = "s3cret-pw-never-shown"


@pytest.fixture
def no_settings_env(monkeypatch):
    for name in ("DATABASE_URL", "COUPONS_DATABASE_URL", "COUPONS_API_KEYS", "COUPONS_ENV"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("not a url", "DATABASE_URL is not a URL; expected postgresql://"),
        (f"mysql://app:{PASSWORD}@db:3306/shop", "DATABASE_URL must be a postgresql:// URL"),
        (f"http://app:{PASSWORD}@db/shop", "DATABASE_URL must be a postgresql:// URL"),
        ("", "DATABASE_URL is empty; unset it to use the embedded PostgreSQL"),
        (f"postgresql://app:{PASSWORD}@db:port/shop", "DATABASE_URL: invalid literal for int()"),
    ],
    ids=["not-a-url", "mysql", "http", "empty", "bad-port"],
)
def test_a_database_url_of_the_wrong_form_is_refused_in_one_line(no_settings_env, url, says):
    # when
    with pytest.raises(ValidationError) as refused:
        Settings(database_url=url)

    # then
    problems = [settings_problem(error) for error in refused.value.errors()]
    assert len(problems) == 1
    assert problems[0].startswith(says), problems[0]
    assert "\n" not in problems[0]
    assert PASSWORD not in problems[0]


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://app:{PASSWORD}@db:5432/shop",
        "postgres://app@db/shop",
        "postgresql+asyncpg://app@db/shop",
        "postgresql://postgres:@/postgres?host=/tmp/coupons/pgdata",  # the embedded server's
    ],
)
def test_postgresql_urls_are_accepted(no_settings_env, url):
    assert Settings(database_url=url).require_database_url() == url


def test_the_refusal_names_the_variable_it_was_read_from(no_settings_env, monkeypatch):
    # given
    monkeypatch.setenv("COUPONS_GUESS_LIMIT", "0")

    # when
    with pytest.raises(ValidationError) as refused:
        Settings()

    # then
    (problem,) = [settings_problem(error) for error in refused.value.errors()]
    assert problem == "COUPONS_GUESS_LIMIT: Input should be greater than or equal to 1"
