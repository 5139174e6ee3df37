"""A DATABASE_URL that will not do: `serve` and `migrate` say why in one line and exit non-zero.

Never a traceback, never the password.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from db.embedded import EmbeddedPostgres
from tests.support.database import Database
from tests.support.servers import free_port, run_coupons
from tests.support.tcp_proxy import database_target, tcp_proxy

PASSWORD = "s3cret-pw-never-shown"
ROLE = "coupons_pw"


@pytest.fixture(scope="module")
def password_server() -> Iterator[str]:
    """A PostgreSQL that checks passwords (the shared test server trusts everyone): its
    admin URL. ROLE logs in with a password, over the Unix socket."""
    with tempfile.TemporaryDirectory(prefix="coupons-password-") as data_dir:
        embedded = EmbeddedPostgres(Path(data_dir))
        admin_url = embedded.start()
        try:
            pgdata = Path(data_dir) / "pgdata"
            (pgdata / "pg_hba.conf").write_text(
                "local all postgres trust\nlocal all all scram-sha-256\n"
            )
            admin = Database(admin_url)
            admin.value("SELECT pg_reload_conf()")
            admin.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD 'the-right-one'")
            yield admin_url
        finally:
            embedded.stop()


def bad_url(case: str, database_url: str, password_server: str) -> str:
    test_server = make_url(database_url)
    urls = {
        "not-a-url": "not a url",
        "mysql": f"mysql://app:{PASSWORD}@127.0.0.1:3306/shop",
        "nothing-listens": f"postgresql://app:{PASSWORD}@127.0.0.1:{free_port()}/shop",
        "no-such-database": test_server.set(
            database="coupons_no_such_db", password=PASSWORD
        ).render_as_string(hide_password=False),
        "wrong-password": make_url(password_server)
        .set(username=ROLE, password=PASSWORD)
        .render_as_string(hide_password=False),
    }
    return urls[case]


SAYS = {
    "not-a-url": "invalid settings: DATABASE_URL is not a URL",
    "mysql": "invalid settings: DATABASE_URL must be a postgresql:// URL",
    "nothing-listens": "cannot connect to the database at postgresql://app:***@127.0.0.1:",
    "no-such-database": 'database "coupons_no_such_db" does not exist',
    "wrong-password": f'password authentication failed for user "{ROLE}"',
}


@pytest.mark.parametrize("command", [("migrate",), ("serve", "--port", "0")], ids=lambda c: c[0])
@pytest.mark.parametrize("case", list(SAYS))
def test_a_bad_database_url_is_one_line_without_the_password(
    command, case, database_url, password_server
):
    # given
    url = bad_url(case, database_url, password_server)

    # when
    finished = run_coupons({"DATABASE_URL": url}, *command)

    # then
    output = finished.stdout + finished.stderr
    assert finished.returncode != 0, output
    assert len(output.strip().splitlines()) == 1, output
    assert SAYS[case] in output
    assert "Traceback" not in output
    assert PASSWORD not in output


@pytest.mark.parametrize("command", [("migrate",), ("serve", "--port", "0")], ids=lambda c: c[0])
def test_a_database_that_hangs_is_one_line_within_the_connect_timeout(command, database_url):
    # given a database that accepts connections and never answers
    with tcp_proxy(*database_target(database_url)) as proxy:
        proxy.hang()
        # when (asyncpg's own connect timeout is 60 s: the command must not wait for it)
        finished = run_coupons(
            {"DATABASE_URL": proxy.url_for(database_url), "COUPONS_CONNECT_TIMEOUT": "1"},
            *command,
            timeout=30,
        )
    # then
    output = finished.stdout + finished.stderr
    assert finished.returncode == 1, output
    assert len(output.strip().splitlines()) == 1, output
    assert "cannot connect to the database" in output
    assert "Traceback" not in output
