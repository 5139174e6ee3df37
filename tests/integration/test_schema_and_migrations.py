"""Gates: the committed SDL is the running schema; models and migrations agree, and so do
the job queue's migration and the installed procrastinate."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import pytest
from alembic import command
from procrastinate.schema import SchemaManager

from db.migrate import alembic_config, upgrade_to_head
from graphql_api.schema import schema
from graphql_api.schema.federation import client_sdl
from tests.support.database import Database, throwaway_database
from tests.support.servers import REPO


def test_schema_graphql_is_the_running_schema():
    # The client-facing SDL: what the server runs, without Federation's plumbing (a test of
    # test_federation.py checks the same against the running server's introspection).
    assert (REPO / "schema.graphql").read_text() == client_sdl(schema) + "\n"


def test_export_schema_prints_schema_graphql():
    printed = subprocess.run(
        [sys.executable, "-m", "graphql_api", "export-schema"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert printed == (REPO / "schema.graphql").read_text()


def test_alembic_check_finds_no_drift(database_url):
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": database_url},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr


def test_many_replicas_migrating_at_once_are_safe():
    with throwaway_database() as url:
        env = {**os.environ, "DATABASE_URL": url}

        def migrate(_: int) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "graphql_api", "migrate"],
                cwd=REPO,
                capture_output=True,
                text=True,
                env=env,
            )

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(migrate, range(4)))
        assert [r.returncode for r in results] == [0] * 4, [r.stderr for r in results]
        database = Database(url)
        assert database.value("select count(*) from alembic_version") == 1
        assert database.value("select to_regclass('coupon_usages')::text") == "coupon_usages"


# Every object of procrastinate's in the public schema, one line each, as PostgreSQL prints it.
JOB_QUEUE_OBJECTS = """
SELECT 'column ' || table_name || '.' || column_name || ' ' || udt_name || ' '
       || is_nullable || ' ' || coalesce(column_default, '')
  FROM information_schema.columns
 WHERE table_schema = 'public' AND table_name LIKE 'procrastinate%'
UNION ALL
SELECT 'index ' || indexdef FROM pg_indexes
 WHERE schemaname = 'public' AND tablename LIKE 'procrastinate%'
UNION ALL
SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE conrelid::regclass::text LIKE 'procrastinate%'
UNION ALL
SELECT 'function ' || pg_get_functiondef(p.oid)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND p.proname LIKE 'procrastinate%'
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger
 WHERE NOT tgisinternal AND tgrelid::regclass::text LIKE 'procrastinate%'
UNION ALL
SELECT 'type ' || t.typname || ' '
       || coalesce((SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder)
                      FROM pg_enum WHERE enumtypid = t.oid), '')
       || coalesce((SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ','
                                      ORDER BY attnum)
                      FROM pg_attribute WHERE attrelid = t.typrelid AND attnum > 0), '')
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname = 'public' AND t.typname LIKE '%procrastinate%'
"""


def job_queue_objects(database: Database) -> list[str]:
    return sorted(row[0] for row in database.fetch(JOB_QUEUE_OBJECTS))


def test_the_job_queue_the_migrations_build_is_the_installed_procrastinates(database_url):
    # given a database holding only the schema the installed procrastinate ships
    with throwaway_database() as url:
        shipped = Database(url)
        shipped.execute(SchemaManager.get_schema())

        # then the migrations built the same tables, indexes, functions, triggers and types
        built, expected = job_queue_objects(Database(database_url)), job_queue_objects(shipped)
    assert len(expected) > 50
    assert built == expected, (
        "procrastinate's schema differs from what migrations/ build: an upgrade of "
        "procrastinate needs a revision applying its sql/migrations. Only built: "
        f"{sorted(set(built) - set(expected))}; only shipped: {sorted(set(expected) - set(built))}"
    )


def test_the_job_queue_migration_goes_down_to_nothing_and_up_again():
    with throwaway_database() as url:
        # given a database at the newest schema
        upgrade_to_head(url)
        database = Database(url)
        before = job_queue_objects(database)
        assert before

        # when the job queue's revision is undone
        command.downgrade(alembic_config(url), "0006-1")

        # then nothing of the job queue is left, and the rest of the schema is in place
        assert job_queue_objects(database) == []
        assert database.value("select to_regclass('coupons')::text") == "coupons"
        # and it can be done again
        upgrade_to_head(url)
        assert job_queue_objects(database) == before


# The columns a redemption, a hold's release or a rollback rewrite on their rows. None may
# be in an index (as a key, an expression or a partial index's predicate): then those
# updates stay HOT (heap-only, no new index entries), which keeps a hot coupon's row on
# its page and its indexes from growing with every redemption.
COUNTERS = {
    "coupons": ("current_total_uses", "rolled_back_uses", "updated_at"),
    "campaigns": ("total_uses", "total_discount", "updated_at"),
}


def test_no_index_covers_a_counter_that_every_redemption_rewrites(database_url):
    db = Database(database_url)
    rows = db.fetch(
        """
        SELECT t.relname AS table_name, i.indexrelid::regclass::text AS index_name,
               pg_get_indexdef(i.indexrelid) AS definition
        FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
        WHERE t.relname = ANY($1::text[])
        """,
        list(COUNTERS),
    )
    assert rows
    covering = [
        (row["index_name"], column)
        for row in rows
        for column in COUNTERS[row["table_name"]]
        if column in row["definition"]
    ]
    assert covering == []


def test_a_campaign_is_never_deleted(database_url):
    # Codes refer to their campaign without a foreign key (migration 0009): the trigger is
    # what keeps every campaign_id naming a row.
    db = Database(database_url)
    campaign = db.value(
        "INSERT INTO campaigns (name, discount_type, discount_value)"
        " VALUES ('Kept', 'FIXED', 5) RETURNING id"
    )
    with pytest.raises(asyncpg.RestrictViolationError, match="campaigns are never deleted"):
        db.execute("DELETE FROM campaigns WHERE id = $1", campaign)
    assert db.value("SELECT count(*) FROM campaigns WHERE id = $1", campaign) == 1


def test_migration_0009_goes_down_to_the_foreign_key_and_up_again():
    with throwaway_database() as url:
        upgrade_to_head(url)
        db = Database(url)
        command.downgrade(alembic_config(url), "0008")
        foreign_key = (
            "SELECT count(*) FROM pg_constraint WHERE conname = 'fk_coupons_campaign_id_campaigns'"
        )
        assert db.value(foreign_key) == 1
        assert db.value("SELECT to_regproc('campaigns_never_deleted')") is None
        upgrade_to_head(url)
        assert db.value(foreign_key) == 0
        assert (
            db.value("SELECT count(*) FROM pg_trigger WHERE tgname = 'campaigns_never_deleted'")
            == 1
        )
