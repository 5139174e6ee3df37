"""background work: procrastinate's job queue (tables, functions, types)

The job queue of graphql_api/background. 0006_procrastinate_schema.sql is procrastinate
3.10.0's sql/schema.sql, frozen with this revision: a procrastinate upgrade that changes
the schema takes a revision of its own applying the library's sql/migrations since 3.10.0
(tests/integration/test_schema_and_migrations.py compares what the revisions build with
the installed library's schema). No model describes these tables: migrations/env.py leaves
them out of `alembic check`.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op
from sqlalchemy.engine.interfaces import AdaptedConnection

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = (Path(__file__).parent / "0006_procrastinate_schema.sql").read_text()

TABLES = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
)
# Some take or return a table's row type: they go before the tables.
FUNCTIONS = (
    "procrastinate_defer_jobs_v1",
    "procrastinate_defer_periodic_job_v2",
    "procrastinate_fetch_job_v2",
    "procrastinate_finish_job_v1",
    "procrastinate_cancel_job_v1",
    "procrastinate_retry_job_v1",
    "procrastinate_retry_job_v2",
    "procrastinate_register_worker_v1",
    "procrastinate_unregister_worker_v1",
    "procrastinate_update_heartbeat_v1",
    "procrastinate_prune_stalled_workers_v1",
)
# The tables' triggers run these: they go after the tables, which take the triggers along.
TRIGGER_FUNCTIONS = (
    "procrastinate_notify_queue_job_inserted_v1",
    "procrastinate_notify_queue_abort_job_v1",
    "procrastinate_trigger_function_status_events_insert_v1",
    "procrastinate_trigger_function_status_events_update_v1",
    "procrastinate_trigger_function_scheduled_events_v1",
    "procrastinate_trigger_abort_requested_events_procedure_v1",
    "procrastinate_unlink_periodic_defers_v1",
)
TYPES = (
    "procrastinate_job_to_defer_v1",
    "procrastinate_job_event_type",
    "procrastinate_job_status",
)


def upgrade() -> None:
    # The schema is many statements. SQLAlchemy's asyncpg adapter prepares what it is given,
    # and a prepared statement holds one; asyncpg's own execute() sends a script as it is,
    # in this migration's transaction.
    connection = op.get_bind().connection.dbapi_connection
    if not isinstance(connection, AdaptedConnection):
        raise TypeError(f"expected the asyncpg adapter, not {type(connection).__name__}")
    connection.run_async(lambda driver: driver.execute(SCHEMA))


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {', '.join(FUNCTIONS)}")
    op.execute(f"DROP TABLE {', '.join(TABLES)}")
    op.execute(f"DROP FUNCTION {', '.join(TRIGGER_FUNCTIONS)}")
    op.execute(f"DROP TYPE {', '.join(TYPES)}")
