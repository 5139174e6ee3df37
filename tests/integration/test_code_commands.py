"""`coupons generate-codes` and `coupons import-codes`, run as a user runs them.

Each test runs the real command in a process of its own against a throwaway database,
and checks the rows afterwards. Exit status (README, "Codes from the command line"):
0 done, 1 failed while working, 2 refused before anything was written, 3 import done with
lines skipped.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import alembic.command
import pytest

from db.migrate import alembic_config, upgrade_to_head
from graphql_api.domain.codes import draw_codes
from tests.support.database import Database, throwaway_database
from tests.support.servers import REPO, environment, run_coupons
from tests.support.workers import COUPONS_WORKER, wait_for, worker_processes

CODES = "SELECT count(*) FROM coupons WHERE campaign_id = $1"
CODE_COUNT = "SELECT code_count FROM campaigns WHERE id = $1"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with throwaway_database() as database_url:
        upgrade_to_head(database_url)
        yield database_url


@pytest.fixture
def db(url: str) -> Database:
    return Database(url)


def new_campaign(db: Database, status: str = "ACTIVE", ended: bool = False) -> str:
    return str(
        db.value(
            "INSERT INTO campaigns (name, discount_type, discount_value, status, valid_from,"
            " valid_until) VALUES ('Flyer', 'FIXED', 5, $1,"
            " CASE WHEN $2 THEN now() - interval '2 days' END,"
            " CASE WHEN $2 THEN now() - interval '1 day' END) RETURNING id",
            status,
            ended,
        )
    )


def coupons(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_coupons({"DATABASE_URL": url, "COUPONS_LOG_LEVEL": "WARNING"}, *args)


def skipped_lines(stderr: str) -> list[str]:
    """The lines that report a skipped line, as `LINE: skipped, why` (the file's name cut)."""
    return [line.split(":", 1)[1] for line in stderr.splitlines() if ": skipped, " in line]


# generate-codes


def test_generate_codes_writes_exactly_the_count_and_says_so(url, db):
    # given an active campaign
    campaign = new_campaign(db)
    # when codes are generated from the command line
    done = coupons(
        url, "generate-codes", "--campaign", campaign, "--count", "25000", "--prefix", "fly-"
    )
    # then it succeeded, wrote exactly the count, and summed up on stderr only
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "generated 25,000 codes in" in done.stderr
    assert "\r" not in done.stderr  # not a terminal: plain lines, no bar redrawn in place
    assert db.value(CODES, campaign) == 25_000 == db.value(CODE_COUNT, campaign)
    assert (
        db.value(
            "SELECT count(*) FROM coupons WHERE campaign_id = $1 AND code LIKE 'FLY-%'", campaign
        )
        == 25_000
    )
    job = db.fetch(
        "SELECT status::text, requested, generated FROM code_generation_jobs"
        " WHERE campaign_id = $1",
        campaign,
    )
    assert [tuple(row) for row in job] == [("SUCCEEDED", 25_000, 25_000)]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--count", "0"], "--count: count must be between 1 and 1,000,000"),
        (["--count", "1000001"], "--count: count must be between 1 and 1,000,000"),
        (["--count", "-5"], "--count: count must be between 1 and 1,000,000"),
        (["--count", "ten"], "'ten' is not a valid integer"),
        (["--count", "5", "--prefix", "no spaces"], "--prefix: prefix must be 0-20 of A-Z 0-9 -"),
        (["--count", "5", "--prefix", "P" * 21], "--prefix: prefix must be 0-20 of A-Z 0-9 -"),
        (["--count", "5", "--length", "5"], "--length: length must be between 6 and 32"),
        (["--count", "5", "--length", "33"], "--length: length must be between 6 and 32"),
        # the code-space rule: 31**6 / 1,000,000 = 887 codes of 6 characters at most
        (["--count", "888", "--length", "6"], "--length: a campaign may have at most 887 codes"),
    ],
    ids=[
        "zero",
        "too-many",
        "negative",
        "not-a-number",
        "prefix-space",
        "prefix-long",
        "short",
        "long",
        "code-space",
    ],
)
def test_generate_codes_refuses_bad_arguments_and_writes_nothing(url, db, args, says):
    campaign = new_campaign(db)
    done = coupons(url, "generate-codes", "--campaign", campaign, *args)
    assert done.returncode == 2
    assert says in done.stderr
    assert "Traceback" not in done.stderr
    assert db.value(CODES, campaign) == 0
    assert (
        db.value("SELECT count(*) FROM code_generation_jobs WHERE campaign_id = $1", campaign) == 0
    )


@pytest.mark.parametrize(
    ("campaign", "says"),
    [
        ("not-a-uuid", "--campaign: 'not-a-uuid' is not a campaign id"),
        ("00000000-0000-0000-0000-000000000000", "No campaign with id"),
        ("INACTIVE", "This campaign is not active (INACTIVE)"),
        ("EXPIRED", "This campaign has ended (EXPIRED)"),
    ],
)
@pytest.mark.parametrize("command", ["generate-codes", "import-codes"])
def test_a_campaign_that_takes_no_codes_is_refused(url, db, tmp_path, command, campaign, says):
    # given a campaign that is missing, paused or over (or an id that is no id)
    jobs_before = db.value("SELECT count(*) FROM code_generation_jobs")
    coupons_before = db.value("SELECT count(*) FROM coupons")
    if campaign == "INACTIVE":
        campaign = new_campaign(db, status="INACTIVE")
    elif campaign == "EXPIRED":
        campaign = new_campaign(db, ended=True)
    codes = tmp_path / "codes.txt"
    codes.write_text("SPRING-0001\n")
    # when codes are asked for
    args = ["--count", "5"] if command == "generate-codes" else [str(codes)]
    done = coupons(url, command, "--campaign", campaign, *args)
    # then one clear line, exit 2, and nothing written
    assert done.returncode == 2
    assert says in done.stderr
    assert "Traceback" not in done.stderr
    assert db.value("SELECT count(*) FROM code_generation_jobs") == jobs_before
    assert db.value("SELECT count(*) FROM coupons") == coupons_before


# import-codes


def test_import_reports_every_skipped_line_by_number_and_writes_the_rest(url, db, tmp_path):
    # given a code already in the service, and a file with blank lines, a repeat, a code
    # that is taken, invalid codes and a line of 10,000 characters (CRLF endings, a BOM)
    campaign = new_campaign(db)
    taken = new_campaign(db)
    codes = tmp_path / "codes.txt"
    codes.write_bytes(
        "\ufeffspring-0001\r\n"  # 1
        "\r\n"  # 2 blank: skipped without a word
        "  Spring-0002  \r\n"  # 3 read trimmed and upper-cased
        "SPRING-0001\r\n"  # 4 repeats line 1
        "TAKEN-0001\r\n"  # 5 already in the service
        "no spaces\r\n"  # 6 invalid
        f"{'X' * 10_000}\r\n"  # 7 invalid
        "ab\r\n"  # 8 invalid: too short
        "SPRING-0003\r\n".encode()  # 9
    )
    db.execute(
        "INSERT INTO coupons (code, type, campaign_id, discount_type, discount_value,"
        " max_uses_per_user, max_total_uses)"
        " VALUES ('TAKEN-0001', 'CAMPAIGN', $1, 'FIXED', 5, 1, 1)",
        taken,
    )
    # when it is imported
    done = coupons(url, "import-codes", "--campaign", campaign, str(codes))
    # then the free codes are written and each skipped line is named, with its reason
    assert done.returncode == 3, done.stderr
    rule = "code must be 4-50 characters of A-Z, 0-9, '-' and '_'"
    assert skipped_lines(done.stderr) == [  # in line order, after the writing
        "4: skipped, SPRING-0001 repeats line 1",
        "5: skipped, TAKEN-0001 is already in the service",
        f"6: skipped, 'no spaces' is not a code: {rule}",
        f"7: skipped, '{'X' * 40}…' is not a code: {rule}",
        f"8: skipped, 'ab' is not a code: {rule}",
    ]
    assert f"{codes}:4: skipped" in done.stderr
    assert "X" * 41 not in done.stderr  # a long line is not echoed whole
    assert "imported 3 codes into campaign 'Flyer'" in done.stderr
    assert "skipped 5: 1 repeated in the file, 1 already in the service, 3 invalid" in done.stderr
    rows = db.fetch(
        "SELECT code, type::text FROM coupons WHERE campaign_id = $1 ORDER BY code", campaign
    )
    assert [tuple(row) for row in rows] == [
        ("SPRING-0001", "CAMPAIGN"),
        ("SPRING-0002", "CAMPAIGN"),
        ("SPRING-0003", "CAMPAIGN"),
    ]
    assert db.value(CODE_COUNT, campaign) == 3
    # and importing it again writes nothing more, every code now being in the service
    again = coupons(url, "import-codes", "--campaign", campaign, str(codes))
    assert again.returncode == 3
    assert "imported 0 codes" in again.stderr
    assert db.value(CODE_COUNT, campaign) == 3


def test_import_reads_the_code_column_of_a_csv(url, db, tmp_path):
    campaign = new_campaign(db)
    codes = tmp_path / "partners.csv"
    codes.write_text(
        "partner,Code,note\n"
        'Acme,acme-0001,"first, with a comma"\n'
        '"Beta, Inc.","BETA-0002",second\n'
        "Gamma\n"  # no code column on this line
    )
    done = coupons(url, "import-codes", "--campaign", campaign, str(codes))
    assert done.returncode == 3, done.stderr
    assert skipped_lines(done.stderr) == ["4: skipped, no value in the code column"]
    rows = db.fetch("SELECT code FROM coupons WHERE campaign_id = $1 ORDER BY code", campaign)
    assert [row["code"] for row in rows] == ["ACME-0001", "BETA-0002"]


def test_import_of_a_clean_file_from_standard_input_exits_0(url, db):
    campaign = new_campaign(db)
    codes = "\n".join(draw_codes("STDIN-", 10, 5_000)) + "\n"
    done = subprocess.run(  # noqa: S603  # our own command line
        [sys.executable, "-m", "graphql_api", "import-codes", "--campaign", campaign, "-"],
        cwd=REPO,
        env=environment({"DATABASE_URL": url, "COUPONS_LOG_LEVEL": "WARNING"}, ()),
        input=codes,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "imported 5,000 codes" in done.stderr
    assert db.value(CODES, campaign) == 5_000 == db.value(CODE_COUNT, campaign)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "the file names no codes: it is empty, or a header alone"),
        (b"\n\n  \n", "the file names no codes: it is empty, or a header alone"),
        (b"code\n", "the file names no codes: it is empty, or a header alone"),
        (
            b"GOOD-0001\n" * 3 + b"\x7fELF\x02\x01\x01\x00\x00\x00\n",
            ":4: a NUL byte: not a text file, nothing imported",
        ),
        (
            b"GOOD-0001\nCAF\xe9-0002\n",
            ":2: bytes that are not UTF-8: not a text file, nothing imported",
        ),
    ],
    ids=["empty", "blank-lines", "header-alone", "binary", "latin-1"],
)
def test_a_file_that_is_empty_or_not_text_is_refused_and_writes_nothing(
    url, db, tmp_path, content, says
):
    campaign = new_campaign(db)
    codes = tmp_path / "codes.txt"
    codes.write_bytes(content)
    done = coupons(url, "import-codes", "--campaign", campaign, str(codes))
    assert done.returncode == 2
    assert says in done.stderr
    assert "Traceback" not in done.stderr
    assert db.value(CODES, campaign) == 0 == db.value(CODE_COUNT, campaign)


def test_a_file_found_not_to_be_text_late_writes_none_of_its_earlier_codes(url, db, tmp_path):
    # given 30,000 good lines (three staging batches), then a NUL byte
    campaign = new_campaign(db)
    codes = tmp_path / "codes.txt"
    codes.write_text("\n".join(draw_codes("LATE-", 10, 30_000)) + "\n")
    with codes.open("ab") as tail:
        tail.write(b"\x00\x00\x00\n")
    done = coupons(url, "import-codes", "--campaign", campaign, str(codes))
    assert done.returncode == 2
    assert ":30001: a NUL byte: not a text file" in done.stderr
    assert db.value(CODES, campaign) == 0 == db.value(CODE_COUNT, campaign)


def test_a_missing_file_is_refused(url, db, tmp_path):
    campaign = new_campaign(db)
    done = coupons(url, "import-codes", "--campaign", campaign, str(tmp_path / "nope.txt"))
    assert done.returncode == 2
    assert "No such file or directory" in done.stderr


# Memory: the commands hold one batch at a time, whatever the count.

PEAK_RSS = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, capture_output=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss_mb(url: str, *args: str) -> float:
    """The peak resident memory of one `coupons` command, in MB."""
    measured = subprocess.run(  # noqa: S603  # our own command line
        [sys.executable, "-c", PEAK_RSS, sys.executable, "-m", "graphql_api", *args],
        cwd=REPO,
        env=environment({"DATABASE_URL": url, "COUPONS_LOG_LEVEL": "WARNING"}, ()),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return int(measured.stdout.strip()) / 1024


def test_generation_and_import_use_the_same_memory_for_ten_times_the_codes(url, db, tmp_path):
    # Holding every code would cost ~15 MB more per 100,000 (a str and a set entry each).
    peaks = {}
    for count in (20_000, 200_000):
        campaign = new_campaign(db)
        codes = tmp_path / f"codes-{count}.txt"
        with codes.open("w") as file:
            for _ in range(0, count, 10_000):
                file.write("\n".join(draw_codes(f"M{count}-", 10, 10_000)) + "\n")
        peaks[count] = (
            peak_rss_mb(url, "generate-codes", "--campaign", campaign, "--count", str(count)),
            peak_rss_mb(url, "import-codes", "--campaign", campaign, str(codes)),
        )
        assert db.value(CODES, campaign) == 2 * count
    for kind in (0, 1):
        assert peaks[200_000][kind] - peaks[20_000][kind] < 10, peaks


def test_an_interrupted_generation_is_left_to_a_worker_which_finishes_it_exactly(url, db):
    # given a generation running from the command line
    campaign = new_campaign(db)
    command = subprocess.Popen(  # noqa: S603  # our own command line
        [
            sys.executable,
            "-m",
            "graphql_api",
            "generate-codes",
            "--campaign",
            campaign,
            "--count",
            "300000",
        ],
        cwd=REPO,
        env=environment({"DATABASE_URL": url, "COUPONS_LOG_LEVEL": "WARNING"}, ()),
        stderr=subprocess.PIPE,
        text=True,
    )
    progress = "SELECT generated FROM code_generation_jobs WHERE campaign_id = $1"
    deadline = time.monotonic() + 60
    while not (db.value(progress, campaign) or 0) > 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # when the user presses Ctrl-C
    command.send_signal(signal.SIGINT)
    _, stderr = command.communicate(timeout=30)
    # then it says the job is left to a worker, exits 130, and what it wrote is counted
    assert command.returncode == 130, stderr
    assert "interrupted: the job stays RUNNING" in stderr
    assert "Traceback" not in stderr
    job = "SELECT status::text FROM code_generation_jobs WHERE campaign_id = $1"
    assert db.value(job, campaign) == "RUNNING"
    assert db.value(CODES, campaign) == db.value(progress, campaign) < 300_000
    # and a worker finishes it with exactly the count
    with worker_processes(url, 1, *COUPONS_WORKER, env={"COUPONS_BACKGROUND_SWEEPS": "false"}):
        wait_for(db, job, "SUCCEEDED", campaign, timeout=90)
    assert db.value(CODES, campaign) == 300_000 == db.value(CODE_COUNT, campaign)


def test_imported_codes_keep_the_files_order(url, db, tmp_path):
    # given a file whose codes are not in alphabetical order, over two stretches
    campaign = new_campaign(db)
    codes = [f"ORDER-{n:05d}-{'ZYXWVUTS'[n % 8]}" for n in range(30_000)]
    shuffled = codes[::2] + codes[1::2]  # evens first, then odds
    (tmp_path / "codes.txt").write_text("\n".join(shuffled) + "\n")
    # when it is imported
    done = coupons(url, "import-codes", "--campaign", campaign, str(tmp_path / "codes.txt"))
    assert done.returncode == 0, done.stderr
    # then its codes come oldest first in the file's order (exports, assignCode)
    rows = db.fetch(
        "SELECT code FROM coupons WHERE campaign_id = $1 ORDER BY created_at, id", campaign
    )
    assert [row["code"] for row in rows] == shuffled


def test_a_csv_without_a_code_column_is_refused_before_anything_is_written(url, db, tmp_path):
    campaign = new_campaign(db)
    codes = tmp_path / "partners.csv"
    codes.write_text("coupon_code,partner\nSPRING-0001,Acme\n")
    done = coupons(url, "import-codes", "--campaign", campaign, str(codes))
    assert done.returncode == 2
    assert "looks like a CSV header but has no column named code" in done.stderr
    assert db.value(CODES, campaign) == 0


@pytest.mark.parametrize("command", ["generate-codes", "import-codes"])
def test_a_database_at_another_schema_is_refused_and_not_migrated(command, tmp_path):
    # given a database one migration behind
    with throwaway_database() as old_url:
        upgrade_to_head(old_url)
        command_line = alembic_config(old_url)
        alembic.command.downgrade(command_line, "-1")
        old = Database(old_url)
        before = old.value("SELECT version_num FROM alembic_version")
        campaign = new_campaign(old)
        codes = tmp_path / "codes.txt"
        codes.write_text("SPRING-0001\n")
        args = ["--count", "5"] if command == "generate-codes" else [str(codes)]
        # when a code command is pointed at it
        done = coupons(old_url, command, "--campaign", campaign, *args)
        # then one line, exit 1, and the schema is left as it was
        assert done.returncode == 1
        assert f"the database is at schema {before}" in done.stderr
        assert "run `coupons migrate` first" in done.stderr
        assert old.value("SELECT version_num FROM alembic_version") == before
