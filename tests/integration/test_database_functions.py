"""The rules that run inside PostgreSQL are code with a source: the functions in a migrated
database are exactly the ones db/sql/*.sql define, and nothing else.

STYLE.md, "Rules in the database are code too": each function is its own source file
(db/sql/<name>.sql, one `CREATE OR REPLACE FUNCTION` each, listed in db.sql.FUNCTIONS),
migrations load frozen copies of them (migrations/versions/<revision>_functions/), and a
test fails when the function in the database differs from its source.

The comparison: in one transaction, read every function's definition, run every source
file, read them again, roll back. A source whose body differs rewrites a definition; a
source whose signature differs creates a second overload beside the old one; a source
whose return type differs is refused by PostgreSQL. Each shows as a difference.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from alembic.script import ScriptDirectory

from db.migrate import MIGRATIONS_DIR, alembic_config, upgrade_to_head
from db.sql import FUNCTIONS, SOURCES, sources
from tests.support.database import Database, asyncpg_dsn, throwaway_database

# Functions of schema public that an extension did not bring and the job queue's schema
# (migration 0006, a frozen copy of procrastinate's, compared with the installed library by
# test_schema_and_migrations) did not define: the project's own.
OUR_FUNCTIONS = """
    SELECT p.oid::regprocedure::text AS signature, p.proname AS name, p.prokind AS kind
    FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public'
      AND p.proname NOT LIKE 'procrastinate\\_%'
      AND NOT EXISTS (
          SELECT 1 FROM pg_depend d
          WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
      )
"""
# pg_get_functiondef refuses aggregates; an aggregate of ours would show in the name check.
DEFINITIONS = f"""
    SELECT f.signature, pg_get_functiondef(f.signature::regprocedure) AS definition
    FROM ({OUR_FUNCTIONS}) AS f
    WHERE f.kind <> 'a'
"""  # noqa: S608 (this module's own constant)

Definitions = dict[str, str]
Difference = tuple[str | None, str | None]


async def _definitions(connection: asyncpg.Connection) -> Definitions:
    return {row["signature"]: row["definition"] for row in await connection.fetch(DEFINITIONS)}


async def differences_from_sources(
    database_url: str, statements: list[str]
) -> dict[str, Difference]:
    """What running `statements` would change in the database's functions, rolled back:
    signature -> (definition before, definition after), None where there was none.

    A statement PostgreSQL refuses (a changed return type cannot be replaced) is a
    difference too, keyed by its position: `source #n`."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        transaction = connection.transaction()
        await transaction.start()
        try:
            before = await _definitions(connection)
            refused: dict[str, Difference] = {}
            for position, statement in enumerate(statements):
                try:
                    async with connection.transaction():  # a savepoint: one refusal only
                        await connection.execute(statement)
                except asyncpg.PostgresError as error:
                    refused[f"source #{position}"] = (None, f"refused: {error}")
            after = await _definitions(connection)
        finally:
            await transaction.rollback()
    finally:
        await connection.close()
    changed: dict[str, Difference] = {
        signature: (before.get(signature), after.get(signature))
        for signature in before.keys() | after.keys()
        if before.get(signature) != after.get(signature)
    }
    return changed | refused


def function_names(database_url: str) -> set[str]:
    return {row["name"] for row in Database(database_url).fetch(OUR_FUNCTIONS)}


def frozen_directories() -> list[tuple[str, Path]]:
    """(revision, directory) of every migration that froze copies of functions, newest first."""
    script = ScriptDirectory.from_config(alembic_config(""))
    found: list[tuple[str, Path]] = []
    for revision in script.walk_revisions():  # from head down to base
        directory = MIGRATIONS_DIR / "versions" / f"{revision.revision}_functions"
        if directory.is_dir():
            found.append((revision.revision, directory))
    return found


def newest_frozen_copy(name: str) -> tuple[str, Path] | None:
    for revision, directory in frozen_directories():
        if (directory / f"{name}.sql").is_file():
            return revision, directory / f"{name}.sql"
    return None


@pytest.fixture(scope="module")
def another_database() -> Iterator[str]:
    """A database of this module's own, migrated to head, for tests that change functions."""
    with throwaway_database() as url:
        upgrade_to_head(url)
        yield url


async def test_every_function_in_a_migrated_database_equals_its_source(database_url):
    # given a database migrated to head
    # when every source is run over it
    differences = await differences_from_sources(database_url, sources())
    # then nothing changed: no definition rewritten, no overload added, nothing refused
    assert differences == {}


def test_the_database_holds_no_function_without_a_source_file(database_url):
    assert function_names(database_url) == set(FUNCTIONS)


def test_every_source_file_is_listed_and_every_listed_function_has_one():
    assert {path.stem for path in SOURCES.glob("*.sql")} == set(FUNCTIONS)
    assert len(FUNCTIONS) == len(set(FUNCTIONS))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_source_equals_the_newest_copy_a_migration_froze(name):
    # given the newest migration that loads this function
    frozen = newest_frozen_copy(name)
    # then what it loads is the source, byte for byte
    assert frozen is not None, f"no migrations/versions/*_functions/ holds {name}.sql"
    revision, path = frozen
    assert path.read_bytes() == (SOURCES / f"{name}.sql").read_bytes(), (
        f"{name}.sql differs from its copy frozen in {revision}: a changed function needs"
        " a migration of its own that freezes the new copy"
    )


def test_each_migration_freezes_exactly_the_functions_it_creates():
    # a frozen directory holds the copies of its migration's FUNCTIONS, no more, no fewer
    script = ScriptDirectory.from_config(alembic_config(""))
    for revision, directory in frozen_directories():
        created = script.get_revision(revision).module.FUNCTIONS
        assert {path.stem for path in directory.glob("*.sql")} == set(created), revision


# The comparison catches what it is for.


async def test_a_function_whose_body_differs_from_its_source_is_reported(another_database):
    # given coupon_status changed in the database (say, by hand) and committed
    database = Database(another_database)
    original = (SOURCES / "coupon_status.sql").read_text()
    changed = original.replace("ELSE 'ACTIVE'", "ELSE 'ACTIVE!'")
    assert changed != original
    database.execute(changed)
    try:
        # when
        differences = await differences_from_sources(another_database, sources())
        # then only that one is reported, with both definitions
        assert set(differences) == {"coupon_status(coupons,campaigns)"}
        before, after = differences["coupon_status(coupons,campaigns)"]
        assert before is not None
        assert "'ACTIVE!'" in before
        assert after is not None
        assert "'ACTIVE!'" not in after
    finally:
        database.execute(original)
    # and the comparison itself left the changed function in place (it rolls back)
    assert await differences_from_sources(another_database, sources()) == {}


async def test_a_source_whose_signature_differs_is_reported_as_a_second_overload(
    another_database,
):
    # given a source of coupon_release that takes one more argument than the database's
    statements = sources()
    position = FUNCTIONS.index("coupon_release")
    statements[position] = statements[position].replace(
        "coupon_release(p_order_id text)", "coupon_release(p_order_id text, p_note text)"
    )
    # when
    differences = await differences_from_sources(another_database, statements)
    # then the new overload shows, beside the old one
    assert set(differences) == {"coupon_release(text,text)"}
    assert differences["coupon_release(text,text)"][0] is None
    # and nothing was left behind
    assert function_names(another_database) == set(FUNCTIONS)
    assert await differences_from_sources(another_database, sources()) == {}


async def test_a_source_whose_return_type_differs_is_reported(another_database):
    # given a source of coupon_status that answers the enum, not text
    statements = sources()
    position = FUNCTIONS.index("coupon_status")
    statements[position] = (
        "CREATE OR REPLACE FUNCTION coupon_status(c coupons, k campaigns)"
        " RETURNS coupon_status LANGUAGE sql STABLE AS $$ SELECT c.status $$"
    )
    # when
    differences = await differences_from_sources(another_database, statements)
    # then PostgreSQL's refusal is the difference, and the other sources still ran
    assert set(differences) == {f"source #{position}"}
    assert "cannot change return type" in str(differences[f"source #{position}"][1])


def test_a_function_without_a_source_file_is_reported(another_database):
    # given a function created by hand
    database = Database(another_database)
    database.execute("CREATE FUNCTION stray_helper() RETURNS integer LANGUAGE sql AS 'SELECT 1'")
    try:
        # then
        assert function_names(another_database) - set(FUNCTIONS) == {"stray_helper"}
    finally:
        database.execute("DROP FUNCTION stray_helper()")


def test_uuid_v7_ids_are_version_7_of_the_statement_time_and_distinct(database_url):
    db = Database(database_url)
    rows = db.fetch(
        "SELECT uuid_v7()::text AS id, statement_timestamp() AS at FROM generate_series(1, 10000)"
    )
    ids = [row["id"] for row in rows]
    assert len(set(ids)) == 10_000
    for text in ids[:100]:
        value = uuid.UUID(text)
        assert value.version == 7
        assert value.variant == uuid.RFC_4122
        milliseconds = value.int >> 80
        assert milliseconds == int(rows[0]["at"].timestamp() * 1000)
    # a later statement's ids sort after this one's: they grow the index at its right edge
    later = db.value("SELECT uuid_v7()::text FROM pg_sleep(0.002)")
    assert later > max(ids)
    # and within one statement, ids made of a sequence sort in its order (an import's lines)
    in_order = db.fetch(
        "SELECT n, uuid_v7(n) AS id FROM generate_series(1, 20000) AS n ORDER BY random()"
    )
    assert [row["n"] for row in sorted(in_order, key=lambda row: row["id"])] == list(
        range(1, 20001)
    )
