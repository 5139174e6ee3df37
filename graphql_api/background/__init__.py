"""Background work: periodic chores and deferred jobs, on a job queue in PostgreSQL.

The queue is procrastinate's: its tables live in the service's own database (migration
0006), so a job is queued by the same database that holds what it works on, and nothing
else has to run. Workers take jobs with `SELECT … FOR UPDATE SKIP LOCKED` in one
statement, so any number of them, on any number of replicas, share the work and each job
runs once. What else the database arbitrates:

- Periodic chores: every worker defers a chore when its period starts; a unique index
  on (task, period) keeps one job per period, and the chore's lock keeps two from
  running at once (queue.periodic).
- Jobs for one key (a code generation job's id): at most one waits and one runs
  (queue.defer_once).
- Workers that die: each worker beats every background_heartbeat_seconds; the jobs of a
  worker silent for background_stalled_seconds are queued again by the others
  (worker.py). A job may therefore run again after a crash: it must be able to resume.

Workers poll (background_poll_seconds) and keep no session state, so they work through
a transaction-mode pooler; LISTEN/NOTIFY is an option for a direct connection.

Modules: periods (periods in seconds as cron lines), queue (the App, its connection, how
work is declared and deferred), tasks (every task; how to add one), worker (running one
worker: `coupons worker`), process and __main__ (the worker `coupons serve` runs beside the
web server, as `python -m graphql_api.background`).
"""
