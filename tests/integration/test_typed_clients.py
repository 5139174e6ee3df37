"""Typed clients made with the README's recipes, as a frontend developer makes them.

TypeScript: tests/node/typed-client is a small storefront and back office. Its operations are
generated into types by graphql-codegen's client preset and checked with tsc, in a copy in a
temporary folder (nothing is written into the repository). Python: the README's gql snippet
runs against the real service and gets Decimal and datetime back.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    IntrospectionQuery,
    OperationDefinitionNode,
    build_client_schema,
    get_introspection_query,
    parse,
    validate,
    visit,
)
from graphql.language import Visitor

from tests.support.graphql import GraphQLClient
from tests.support.node import node_tools
from tests.support.servers import REPO, ThreadServer, run_coupons, thread_server

TYPED_CLIENT = REPO / "tests" / "node" / "typed-client"
README = REPO / "README.md"
CODEGEN = "node_modules/@graphql-codegen/cli/cjs/bin.js"
TSC = "node_modules/typescript/bin/tsc"
NPM_PACKAGES = ("@graphql-codegen/cli", "@graphql-codegen/client-preset", "graphql", "typescript")

ADMIN_KEY = "typed-admin-key-5e1b7c"
STOREFRONT_KEY = "typed-storefront-key-0a9d42"

# The environment the recipe's codegen.ts reads; the tests set it themselves.
RECIPE_SETTINGS = ("COUPONS_GRAPHQL_URL", "COUPONS_ADMIN_KEY")


# The frontend, as a developer has it: the recipe's files, the schema, node_modules.


@pytest.fixture
def frontend(tmp_path: Path) -> Path:
    """A copy of tests/node/typed-client with tests/node's packages, and no generated code."""
    node_dir = node_tools(*NPM_PACKAGES)
    copy = tmp_path / "frontend"
    shutil.copytree(TYPED_CLIENT, copy, ignore=shutil.ignore_patterns("gql", "schema.graphql"))
    (copy / "node_modules").symlink_to(node_dir / "node_modules", target_is_directory=True)
    return copy


def export_schema(frontend: Path) -> Path:
    """`coupons export-schema > schema.graphql`, as the recipe says."""
    done = run_coupons({}, "export-schema")
    assert done.returncode == 0, done.stderr
    schema = frontend / "schema.graphql"
    schema.write_text(done.stdout)
    return schema


def node(frontend: Path, script: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A Node tool run in the frontend's folder; its exit status is the caller's to judge."""
    node_binary = shutil.which("node")
    assert node_binary is not None
    inherited = {k: v for k, v in os.environ.items() if k not in RECIPE_SETTINGS}
    return subprocess.run(  # noqa: S603 - our own tools, our own arguments
        [node_binary, script, *args],
        cwd=frontend,
        env={**inherited, **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def codegen(frontend: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return node(frontend, CODEGEN, "--config", "codegen.ts", **env)


def tsc(frontend: Path) -> subprocess.CompletedProcess[str]:
    return node(frontend, TSC, "--project", ".")


def succeeded(done: subprocess.CompletedProcess[str]) -> bool:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return True


def failed(done: subprocess.CompletedProcess[str]) -> str:
    """What a tool that had to fail printed."""
    assert done.returncode != 0, f"it passed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def renamed_in_schema(schema: Path, type_name: str, old: str, new: str) -> None:
    """Rewrites one field of one type of the SDL, as a server change would."""
    sdl = schema.read_text()
    start = sdl.index(f"type {type_name} {{")
    end = sdl.index("\n}", start)
    block = sdl[start:end]
    assert old in block, f"{old!r} is not in {type_name}"
    schema.write_text(sdl[:start] + block.replace(old, new) + sdl[end:])


# TypeScript: codegen and tsc


def test_the_recipe_generates_typed_operations_that_compile(frontend: Path):
    # given the schema the service prints
    export_schema(frontend)
    # when the recipe runs: codegen, then the type check
    generated = codegen(frontend)
    # then both pass, with money and moments typed as strings and no scalar left as `any`
    assert succeeded(generated)
    types = (frontend / "src" / "gql" / "graphql.ts").read_text()
    assert "Decimal: { input: string; output: string; }" in types
    assert "DateTime: { input: string; output: string; }" in types
    assert succeeded(tsc(frontend))
    assert not (TYPED_CLIENT / "src" / "gql").exists(), "the repository's copy was written to"


def test_the_compiler_refuses_a_number_for_money_and_a_misspelt_field(frontend: Path):
    # given the frontend's two deliberate mistakes, without their @ts-expect-error marks
    export_schema(frontend)
    assert succeeded(codegen(frontend))
    storefront = frontend / "src" / "storefront.ts"
    source = storefront.read_text()
    assert source.count("// @ts-expect-error") == 2
    storefront.write_text(re.sub(r"\n *// @ts-expect-error[^\n]*", "", source))
    # when the frontend is type-checked
    output = failed(tsc(frontend))
    # then each is an error: a number is no Decimal, and the answer has no such field
    assert "Type 'number' is not assignable to type 'string'" in output, output
    assert "Property 'discountAmmount' does not exist" in output, output


def test_a_field_renamed_under_the_operations_fails_codegen(frontend: Path):
    # given a server whose redemption answer renamed discountAmount
    renamed_in_schema(
        export_schema(frontend), "RedeemCouponPayload", "discountAmount:", "discount:"
    )
    # when the frontend's types are generated
    output = failed(codegen(frontend))
    # then codegen names the field the operation still asks for
    assert 'Cannot query field "discountAmount" on type "RedeemCouponPayload"' in output


def test_a_field_whose_type_changes_under_the_operations_fails_tsc(frontend: Path):
    # given a server that made validateCoupon's discountAmount a Float
    renamed_in_schema(
        export_schema(frontend),
        "CouponValidation",
        "discountAmount: Decimal",
        "discountAmount: Float",
    )
    # when the types are generated (the operation is still valid) and the frontend is checked
    assert succeeded(codegen(frontend))
    output = failed(tsc(frontend))
    # then the code that shows the amount as text no longer compiles
    assert "src/storefront.ts" in output
    assert "Type 'number' is not assignable to type 'string'" in output, output


def test_codegen_reads_the_schema_from_a_running_service(frontend: Path, server: ThreadServer):
    # when the schema comes from the service's introspection (development: no key needed)
    generated = codegen(frontend, COUPONS_GRAPHQL_URL=f"{server.base_url}/graphql")
    # then the same types come out and compile
    assert succeeded(generated)
    assert succeeded(tsc(frontend))


@pytest.fixture(scope="module")
def production_server(database_url: str) -> Iterator[ThreadServer]:
    keys = f"admin:{ADMIN_KEY},storefront:{STOREFRONT_KEY}"
    with thread_server(database_url, api_keys=keys, env="production") as running:
        yield running


def test_in_production_codegen_introspects_with_an_admin_key(
    frontend: Path, production_server: ThreadServer
):
    url = f"{production_server.base_url}/graphql"
    # when codegen introspects with a storefront key, then production refuses it
    refused = failed(codegen(frontend, COUPONS_GRAPHQL_URL=url, COUPONS_ADMIN_KEY=STOREFRONT_KEY))
    assert "Introspection needs an admin API key" in refused, refused
    # when it sends an admin key, then it gets the schema and the frontend compiles
    assert succeeded(codegen(frontend, COUPONS_GRAPHQL_URL=url, COUPONS_ADMIN_KEY=ADMIN_KEY))
    assert succeeded(tsc(frontend))


# The frontend's operations are real: valid on the running service, and they run there.

OPERATION_TEXT = re.compile(r"graphql\(`(.*?)`\)", re.S)

# Each operation of the frontend, with variables as the frontend sends them, in an order in
# which each finds what the ones before made. An operation added to the frontend must be
# added here too, or the test fails.
FLOW: dict[str, dict[str, Any]] = {
    "CreateTimedCoupon": {
        "input": {
            "code": "typed-10",
            "discountType": "PERCENTAGE",
            "discountValue": "10",
            "maxDiscountAmount": "25.00",
            # What Date.prototype.toISOString() writes.
            "validFrom": "2020-01-01T00:00:00.000Z",
            "validUntil": "2099-01-01T00:00:00.000Z",
            "maxUsesPerUser": 1,
            "maxTotalUses": 100,
            "createdBy": "back-office",
        }
    },
    "CreateUserCoupon": {
        "input": {
            "userId": "customer-42",
            "discountType": "FIXED",
            "discountValue": "10.00",
            "minOrderValue": "30.00",
        }
    },
    "CouponByCode": {"code": "TYPED-10"},
    "ValidateCoupon": {
        "input": {
            "code": "TYPED-10",
            "userId": "customer-42",
            "orderId": "order-1001",
            "orderValue": "59.90",
        }
    },
    "RedeemCoupon": {
        "input": {
            "code": "TYPED-10",
            "userId": "customer-42",
            "orderId": "order-1001",
            "orderValue": "59.90",
        }
    },
    "UserCoupons": {"userId": "customer-42", "first": 100, "after": None},
}


def frontend_documents() -> tuple[dict[str, str], dict[str, str]]:
    """The operations and the fragments of tests/node/typed-client/src, by name."""
    operations: dict[str, str] = {}
    fragments: dict[str, str] = {}
    for source in sorted((TYPED_CLIENT / "src").glob("*.ts")):
        for text in OPERATION_TEXT.findall(source.read_text()):
            [definition] = parse(text).definitions
            assert isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode)
            assert definition.name is not None, text
            found = operations if isinstance(definition, OperationDefinitionNode) else fragments
            found[definition.name.value] = text
    return operations, fragments


def spread_names(document: DocumentNode) -> set[str]:
    names: set[str] = set()

    class Spreads(Visitor):
        def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
            names.add(node.name.value)

    visit(document, Spreads())
    return names


def with_fragments(operation: str, fragments: dict[str, str]) -> str:
    """The operation and every fragment it spreads, as the generated document holds them."""
    parts = [operation]
    wanted = spread_names(parse(operation))
    sent: set[str] = set()
    while wanted - sent:
        name = min(wanted - sent)
        parts.append(fragments[name])
        sent.add(name)
        wanted |= spread_names(parse(fragments[name]))
    return "\n".join(parts)


def test_every_frontend_operation_is_valid_on_the_service_and_runs(gql: GraphQLClient):
    # given the frontend's operations, and the schema the running service introspects
    operations, fragments = frontend_documents()
    assert set(operations) == set(FLOW), "each operation of the frontend runs in FLOW"
    assert fragments, "the frontend has a fragment"
    schema = build_client_schema(cast(IntrospectionQuery, gql(get_introspection_query())))
    answers: dict[str, Any] = {}
    for name, variables in FLOW.items():
        document = with_fragments(operations[name], fragments)
        # when it is checked against the service's schema, then it is valid
        assert validate(schema, parse(document)) == [], name
        # when it runs with the frontend's variables, then nothing is refused
        [answer] = gql(document, variables).values()
        assert answer is not None, name
        assert not (isinstance(answer, dict) and answer.get("errors")), (name, answer)
        answers[name] = answer
    # then the flow did what a shop expects: 10 % off, and the customer's coupon listed
    assert answers["RedeemCoupon"]["discountAmount"] == "5.99"
    assert answers["UserCoupons"]["totalCount"] == 1
    redeemed = gql('{ couponByCode(code: "TYPED-10") { currentTotalUses validFrom validUntil } }')[
        "couponByCode"
    ]
    assert redeemed == {
        "currentTotalUses": 1,
        "validFrom": "2020-01-01T00:00:00+00:00",
        "validUntil": "2099-01-01T00:00:00+00:00",
    }


# The README's recipes are the ones tested here.


def readme_section() -> str:
    readme = README.read_text()
    start = readme.index("### Typed clients")
    end = readme.index("\n### ", start + 1)
    return readme[start:end]


def test_the_readme_shows_the_tested_codegen_config_and_versions():
    section = readme_section()
    blocks = re.findall(r"```ts\n(.*?)```", section, re.S)
    # the codegen config a developer copies is the one these tests run
    assert (TYPED_CLIENT / "codegen.ts").read_text() in blocks
    # and the npm versions it names are the ones tests/node installs
    pinned = json.loads((REPO / "tests" / "node" / "package.json").read_text())["dependencies"]
    for package in NPM_PACKAGES:
        assert f"{package}@{pinned[package]}" in section, package


def readme_python() -> str:
    [snippet] = re.findall(r"```python\n(.*?)```", readme_section(), re.S)
    return snippet


def run_readme_python(
    server: ThreadServer, monkeypatch: pytest.MonkeyPatch, *, change: tuple[str, str] | None = None
) -> dict[str, Any]:
    """Runs the README's gql snippet against `server`, from the repository (its schema.graphql)."""
    snippet = readme_python().replace("http://127.0.0.1:8000", server.base_url)
    if change is not None:
        assert change[0] in snippet, change
        snippet = snippet.replace(*change)
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("COUPONS_API_KEY", raising=False)  # a development server: every caller
    namespace: dict[str, Any] = {}
    exec(compile(snippet, "README.md (gql)", "exec"), namespace)  # noqa: S102 - our README
    return namespace


def create_summer_10(gql: GraphQLClient) -> None:
    created = gql(
        """mutation ($input: CreateTimedCouponInput!) {
             createTimedCoupon(input: $input) { errors { code } } }""",
        {
            "input": {
                "code": "SUMMER-10",
                "discountType": "FIXED",
                "discountValue": "10.00",
                "minOrderValue": "40",
                "validFrom": "2020-01-01T00:00:00Z",
                "validUntil": "2099-01-01T00:00:00Z",
                "maxUsesPerUser": 1,
            }
        },
    )
    assert created["createTimedCoupon"]["errors"] == []


def test_the_readme_python_client_reads_decimal_and_datetime(
    gql: GraphQLClient, server: ThreadServer, monkeypatch: pytest.MonkeyPatch
):
    # given the README's coupon
    create_summer_10(gql)
    # when the README's snippet redeems it, sending the order value as Decimal("59.90")
    payload = run_readme_python(server, monkeypatch)["payload"]
    # then money comes back as Decimal and the moment as an aware datetime
    assert payload["errors"] == []
    assert payload["discountAmount"] == Decimal("10.00")
    assert isinstance(payload["discountAmount"], Decimal)
    assert payload["finalAmount"] == Decimal("49.90")
    used_at = payload["usage"]["usedAt"]
    assert isinstance(used_at, datetime)
    assert used_at.utcoffset() == timedelta(0)
    # and the Decimal variable arrived exactly
    [usage] = gql('{ userUsages(userId: "customer-42") { edges { node { orderValue } } } }')[
        "userUsages"
    ]["edges"]
    assert usage["node"]["orderValue"] == "59.90"


def test_the_readme_python_client_can_fetch_the_schema_instead(
    gql: GraphQLClient, server: ThreadServer, monkeypatch: pytest.MonkeyPatch
):
    # given the README's coupon, and its snippet told to introspect instead of reading the file
    create_summer_10(gql)
    change = ('schema=Path("schema.graphql").read_text(),', "fetch_schema_from_transport=True,")
    # when it runs, then the scalars are parsed all the same
    payload = run_readme_python(server, monkeypatch, change=change)["payload"]
    assert isinstance(payload["discountAmount"], Decimal)
    assert isinstance(payload["usage"]["usedAt"], datetime)
