"""`coupons --help`, `coupons serve --help`, `--version`: what an operator reads first."""

from __future__ import annotations

import importlib.metadata

import click
import pytest
from click.testing import CliRunner

from graphql_api.cli import coupons, environment_variable, serve
from graphql_api.settings import Settings
from tests.support.servers import run_coupons


def help_text(*args: str) -> str:
    """The help, with the line wrapping taken out."""
    result = CliRunner().invoke(coupons, [*args, "--help"], prog_name="coupons")
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_every_setting_has_a_description():
    missing = [name for name, field in Settings.model_fields.items() if not field.description]
    assert missing == []


def test_the_help_lists_every_setting_with_its_variable_description_and_default():
    # when
    text = help_text()

    # then
    assert "Settings (environment variables):" in text
    for name, field in Settings.model_fields.items():
        assert f"{environment_variable(name)} {field.description}" in text
    assert "DATABASE_URL postgresql://" in text
    assert "[default: unset]" in text  # DATABASE_URL
    assert "[default: .coupons]" in text
    assert "[default: 10]" in text  # COUPONS_GUESS_LIMIT
    assert "[default: true]" in text  # COUPONS_COMPILED_OPERATIONS
    assert "[default: INFO]" in text


def test_the_variables_are_the_ones_the_settings_read(monkeypatch):
    # given every setting's variable, as the help names it
    monkeypatch.setenv(environment_variable("guess_limit"), "7")
    monkeypatch.setenv(environment_variable("data_dir"), "/srv/coupons")
    monkeypatch.setenv(environment_variable("database_url"), "postgresql://u@h/db")

    # when
    settings = Settings()

    # then
    assert settings.guess_limit == 7
    assert str(settings.data_dir) == "/srv/coupons"
    assert settings.require_database_url() == "postgresql://u@h/db"


def test_the_help_lists_the_commands():
    text = help_text()
    for command in ("serve", "worker", "migrate", "export-schema"):
        assert f" {command} " in text


def test_worker_help_says_what_it_runs_and_how_it_stops():
    # when
    text = help_text("worker")

    # then
    assert text.startswith("Usage: coupons worker [OPTIONS]")
    assert "Migrate the database, then run background jobs until SIGTERM or SIGINT." in text
    assert "COUPONS_BACKGROUND_WORKER=false" in text
    assert "each job, and each period of a chore, runs on one of them" in text


@pytest.mark.parametrize(
    ("option", "variable", "default"),
    [("--host", "COUPONS_HOST", "127.0.0.1"), ("--port", "COUPONS_PORT", "8000"),
     ("--workers", "COUPONS_WORKERS", "1")],
)  # fmt: skip
def test_serve_help_describes_each_option_with_its_variable_and_default(option, variable, default):
    # when
    text = help_text("serve")

    # then the option is described, and its variable and default are shown
    described = text.split(f"{option} ")[1].split(" --")[0]
    assert len(described.split("[")[0].split()) >= 4, described
    assert f"env var: {variable}; default: {default}" in described


def test_serve_reads_its_options_from_the_environment(monkeypatch):
    # given
    monkeypatch.setenv("COUPONS_HOST", "192.0.2.10")
    monkeypatch.setenv("COUPONS_PORT", "9001")
    monkeypatch.setenv("COUPONS_WORKERS", "3")

    # when
    context = serve.make_context("serve", [])

    # then
    assert context.params == {"host": "192.0.2.10", "port": 9001, "workers": 3}


def test_the_contracts_command_line_still_parses():
    # when
    context = serve.make_context(
        "serve", ["--host", "127.0.0.1", "--port", "8000", "--workers", "4"]
    )

    # then
    assert context.params == {"host": "127.0.0.1", "port": 8000, "workers": 4}
    assert {"serve", "migrate", "export-schema"} <= set(coupons.list_commands(context))


@pytest.mark.parametrize("args", [["--workers", "0"], ["--port", "70000"], ["--port", "http"]])
def test_serve_refuses_options_out_of_range(args):
    # when
    with pytest.raises(click.BadParameter) as refused:
        serve.make_context("serve", list(args))  # it consumes the list

    # then
    assert refused.value.param is not None
    assert refused.value.param.name == args[0].removeprefix("--")


def test_version_prints_the_installed_packages_version():
    # when
    result = CliRunner().invoke(coupons, ["--version"], prog_name="coupons")

    # then
    assert result.exit_code == 0
    assert result.output == f"coupons, version {importlib.metadata.version('coupons')}\n"


def test_python_m_graphql_api_is_the_same_command():
    # when
    finished = run_coupons({}, "--version")

    # then
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout == f"coupons, version {importlib.metadata.version('coupons')}\n"
