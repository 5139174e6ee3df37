"""GraphiQL from the service's own files: it works with no internet access and under a
Content-Security-Policy that allows only the service's own origin; production serves none.

The browser tests drive Debian's chromium (tests/support/browser.py): every request to
another origin is refused and recorded, so a page that still reaches for a CDN fails here
whether or not the machine is online.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest

from tests.support.browser import GraphiQLBrowser, problems
from tests.support.callers import ADMIN_KEY, API_KEYS, STOREFRONT_KEY
from tests.support.factories import create_user_coupon
from tests.support.servers import ThreadServer, thread_server

REDEEM_IN_GRAPHIQL = """mutation Redeem($input: RedeemCouponInput!) {
  redeemCoupon(input: $input) {
    usage { orderId discountApplied finalAmount }
    errors { code message }
  }
}
"""

TYPENAME = "{ __typename }"

ANSWERED_WITH_THE_KEY = "{ withTheKey: __typename }"

HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def browser() -> Iterator[GraphiQLBrowser]:
    """One headless chromium for the module; each test opens a fresh page in it."""
    session = GraphiQLBrowser()
    yield session
    session.close()


@pytest.fixture(scope="module")
def keyed_server(database_url: str) -> Iterator[ThreadServer]:
    with thread_server(database_url, api_keys=API_KEYS) as running:
        yield running


@pytest.fixture(scope="module")
def production_server(database_url: str) -> Iterator[ThreadServer]:
    with thread_server(database_url, env="production", api_keys=API_KEYS) as running:
        yield running


class _PageParts(HTMLParser):
    """The page's scripts, stylesheets, icons, and anything inline."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.links: list[dict[str, str | None]] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = True
        if tag == "link":
            self.links.append(attributes)
        if tag == "style":
            self.inline.append("<style>")
        self.inline.extend(
            f"{tag} {name}" for name in attributes if name == "style" or name.startswith("on")
        )

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False if tag == "script" else self._in_script

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(f"script text {data.strip()[:40]!r}")


def page_parts(html: str) -> _PageParts:
    parts = _PageParts()
    parts.feed(html)
    return parts


def asset_paths(html: str) -> list[str]:
    parts = page_parts(html)
    found = [tag.get("src") for tag in parts.scripts] + [tag.get("href") for tag in parts.links]
    return sorted({path for path in found if path})


def directives(policy: str) -> dict[str, list[str]]:
    entries = (part.split() for part in policy.split(";") if part.strip())
    return {name: sources for name, *sources in entries}


# --- in the browser ---


def test_the_editor_renders_from_the_services_own_files(browser, server):
    # when
    opened = browser.open(f"{server.base_url}/graphql")

    # then: it rendered, and every file came from the service, nothing was blocked
    assert opened["status"] == 200
    report = browser.report()
    assert problems(report) == {}
    assert all(request.split()[1].startswith(server.base_url) for request in report["requests"])
    assert f"GET {server.base_url}/graphiql/graphiql@4.1.2/graphiql.min.js" in report["requests"]


def test_the_docs_explorer_shows_the_schema(browser, server):
    # given
    browser.open(f"{server.base_url}/graphql")

    # when
    docs = browser.docs("Mutation", "redeemCoupon")

    # then: the field, its description and its argument, from the schema's introspection
    assert docs["title"] == "redeemCoupon"
    assert "Redeem a coupon on an order" in docs["text"]
    assert "RedeemCouponInput!" in docs["text"]
    assert problems(browser.report()) == {}


def test_a_redemption_typed_into_the_editor_runs_and_its_answer_shows(browser, server, gql, db):
    # given
    coupon = create_user_coupon(gql, userId="alice", discountType="FIXED", discountValue="10.00")
    browser.open(f"{server.base_url}/graphql")
    variables = {
        "input": {
            "code": coupon["code"],
            "userId": "alice",
            "orderId": "graphiql-order-1",
            "orderValue": "42.50",
        }
    }

    # when
    browser.type("query", REDEEM_IN_GRAPHIQL)
    browser.type("variables", json.dumps(variables))
    result = browser.run()

    # then
    assert result["status"] == 200
    payload = json.loads(result["value"])["data"]["redeemCoupon"]
    assert payload == {
        "usage": {
            "orderId": "graphiql-order-1",
            "discountApplied": "10.00",
            "finalAmount": "32.50",
        },
        "errors": [],
    }
    assert '"finalAmount": "32.50"' in result["shown"].replace("\xa0", " ")
    assert db.value("select order_id from coupon_usages") == "graphiql-order-1"
    assert problems(browser.report()) == {}


def test_the_settings_dialog_opens_under_the_policy(browser, server):
    # given
    browser.open(f"{server.base_url}/graphql")

    # when: a dialog, whose scroll lock inserts a <style> element while it is open
    text = browser.open_settings()

    # then
    assert "Theme" in text
    assert problems(browser.report()) == {}


def test_with_api_keys_the_page_needs_none_and_a_key_typed_in_headers_is_used(
    browser, keyed_server
):
    # given: the page opens without a key; what it sends without one is refused
    opened = browser.open(f"{keyed_server.base_url}/graphql")
    browser.type("query", TYPENAME)
    refused = browser.run()

    # when
    browser.type("headers", json.dumps({"Authorization": f"Bearer {STOREFRONT_KEY}"}))
    browser.type("query", ANSWERED_WITH_THE_KEY)
    answered = browser.run()

    # then
    assert opened["status"] == 200
    assert refused["status"] == 401
    assert json.loads(refused["value"])["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert answered["status"] == 200
    assert json.loads(answered["value"]) == {"data": {"withTheKey": "Query"}}
    # The history keeps the query, not the key: that goes with the tab.
    assert STOREFRONT_KEY not in json.dumps(browser.storage(holding="withTheKey"))
    # Only those refusals went wrong (and the schema's at load): the browser logs each 401.
    report = problems(browser.report())
    assert set(report) <= {"errorResponses", "consoleErrors"}
    assert set(report["errorResponses"]) == {f"401 {keyed_server.base_url}/graphql"}
    assert all("401" in error for error in report["consoleErrors"])


def test_with_api_keys_the_schema_shows_once_fetched_with_the_key(browser, keyed_server):
    # given
    browser.open(f"{keyed_server.base_url}/graphql")
    browser.type("headers", json.dumps({"Authorization": f"Bearer {ADMIN_KEY}"}))

    # when
    status = browser.refetch_schema()
    docs = browser.docs("Mutation", "redeemCoupon")

    # then
    assert status == 200
    assert docs["title"] == "redeemCoupon"


# --- the page and its files over HTTP ---


def test_the_page_has_no_inline_code_and_a_same_origin_policy(server):
    # when
    response = httpx.get(f"{server.base_url}/graphql", headers=HTML)

    # then: every script is a file of the service's; nothing inline runs or styles
    assert response.status_code == 200
    parts = page_parts(response.text)
    assert parts.inline == []
    assert parts.scripts
    assert all(str(script["src"]).startswith("/graphiql/") for script in parts.scripts)
    policy = directives(response.headers["content-security-policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    for name in ("connect-src", "img-src", "font-src"):
        assert policy[name] == ["'self'"]
    # Styles: the service's files, and the one inline <style> GraphiQL inserts, by nonce.
    [own, nonce] = policy["style-src"]
    assert own == "'self'"
    assert re.fullmatch(r"'nonce-[A-Za-z0-9_-]{22,}'", nonce)
    every_source = " ".join(source for sources in policy.values() for source in sources)
    assert "unsafe" not in every_source
    assert "http" not in every_source
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_each_page_has_a_nonce_of_its_own_on_its_start_script(server):
    # when
    pages = [httpx.get(f"{server.base_url}/graphql", headers=HTML) for _ in range(2)]

    # then
    nonces = []
    for page in pages:
        [style_nonce] = re.findall(r"'nonce-([^']+)'", page.headers["content-security-policy"])
        [start] = [tag for tag in page_parts(page.text).scripts if tag.get("nonce")]
        assert start["nonce"] == style_nonce
        assert str(start["src"]).endswith("/start.js")
        nonces.append(style_nonce)
    assert nonces[0] != nonces[1]
    assert all(page.headers["cache-control"] == "no-store" for page in pages)


def test_the_files_are_served_for_good_under_versioned_paths(server):
    # given
    page = httpx.get(f"{server.base_url}/graphql", headers=HTML).text

    # when
    answers = {path: httpx.get(f"{server.base_url}{path}") for path in asset_paths(page)}

    # then
    types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    for path, answer in answers.items():
        assert answer.status_code == 200, path
        assert re.fullmatch(r"/graphiql/[a-z-]+@[0-9a-f.]+/[\w.-]+", path)
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cross-origin-resource-policy"] == "same-origin"
        suffix = path[path.rindex(".") :]
        assert answer.headers["content-type"].startswith(types[suffix]), path


def test_each_vendored_package_serves_its_licence_beside_it(server):
    # given
    page = httpx.get(f"{server.base_url}/graphql", headers=HTML).text
    releases = {path.split("/")[2] for path in asset_paths(page)}
    vendored = {release for release in releases if not release.startswith("page@")}

    # when
    licences = {
        release: httpx.get(f"{server.base_url}/graphiql/{release}/LICENSE") for release in vendored
    }

    # then
    assert vendored == {"graphiql@4.1.2", "react@18.3.1", "react-dom@18.3.1"}
    for release, answer in licences.items():
        assert answer.status_code == 200, release
        assert answer.headers["content-type"].startswith("text/plain")
        assert "MIT License" in answer.text


@pytest.mark.parametrize(
    "path",
    [
        "/graphiql/graphiql@4.1.2/nothing.js",
        "/graphiql/graphiql@0.0.1/graphiql.min.js",
        "/graphiql/graphiql@4.1.2/..%2Fmanifest.json",
        "/graphiql/page@000000000000/start.js",
    ],
)
def test_a_file_that_is_not_served_is_a_json_404(gql, path):
    # when
    response = gql.http.get(path)

    # then
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


# --- production ---


def test_production_serves_neither_the_page_nor_its_files(server, production_server):
    # given: the files a development server serves
    paths = asset_paths(httpx.get(f"{server.base_url}/graphql", headers=HTML).text)
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}

    # when
    with httpx.Client(base_url=production_server.base_url) as client:
        page = client.get("/graphql", headers={**HTML, **admin})
        files = {path: client.get(path, headers=admin) for path in paths}

    # then
    assert len(paths) >= 7
    for path, answer in {"/graphql": page, **files}.items():
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "application/json", path
        assert answer.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND", path
