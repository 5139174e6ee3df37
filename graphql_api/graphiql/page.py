"""The GraphiQL page (page.html) and the headers that keep it to the service's own origin."""

from __future__ import annotations

import secrets
from functools import cache
from string import Template

from starlette.responses import HTMLResponse

from graphql_api.graphiql.assets import PAGE_PACKAGE, Assets
from graphql_api.graphiql.manifest import HERE


def content_security_policy(nonce: str) -> str:
    """Everything from the service's own origin, nothing inline but the `<style>` GraphiQL's
    dialogs insert, which carries `nonce`; no eval, no plugins, no framing."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self'",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


@cache
def _template() -> Template:
    return Template((HERE / "page.html").read_text(encoding="utf-8"))


def page_response(assets: Assets) -> HTMLResponse:
    """The page, with a fresh nonce in its policy and on its start script."""
    nonce = secrets.token_urlsafe(18)
    html = _template().substitute(
        favicon=assets.url(PAGE_PACKAGE, "favicon.svg"),
        graphiql_css=assets.url("graphiql", "graphiql.min.css"),
        page_css=assets.url(PAGE_PACKAGE, "page.css"),
        react=assets.url("react", "react.production.min.js"),
        react_dom=assets.url("react-dom", "react-dom.production.min.js"),
        graphiql_js=assets.url("graphiql", "graphiql.min.js"),
        start=assets.url(PAGE_PACKAGE, "start.js"),
        nonce=nonce,
    )
    headers = {
        "content-security-policy": content_security_policy(nonce),
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",  # frame-ancestors, for browsers that predate it
        "referrer-policy": "no-referrer",
        "cross-origin-opener-policy": "same-origin",
        "cache-control": "no-store",  # each page has its own nonce
    }
    return HTMLResponse(html, headers=headers)
