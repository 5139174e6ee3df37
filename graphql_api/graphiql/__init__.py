"""GraphiQL from the service's own files: no CDN, no inline script, one origin.

GET /graphql from a browser answers the page (graphql_api.http_view asks `graphiql_page`);
its scripts, styles and fonts come from `graphiql_routes`, pinned copies of npm packages
that `python -m graphql_api.graphiql.refresh` fetches and checks. Neither exists in
production: the app then adds no route and the view renders no page.
"""

from __future__ import annotations

from starlette.responses import HTMLResponse
from starlette.routing import Route

from graphql_api.graphiql.assets import asset_routes, load_assets
from graphql_api.graphiql.page import page_response


def graphiql_routes() -> list[Route]:
    """The routes serving the page's files, under /graphiql/<name>@<version>/."""
    return asset_routes(load_assets())


def graphiql_page() -> HTMLResponse:
    """The GraphiQL page, under its Content-Security-Policy."""
    return page_response(load_assets())
