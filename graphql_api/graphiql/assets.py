"""The route serving GraphiQL's files: the vendored npm packages (vendor/, exactly the files
manifest.json lists) and the page's own script, stylesheet and icon (static/).

Every file lives under a versioned path, `/graphiql/<name>@<version>/<file>` (the page's
own files under `page@<digest of their contents>`), so a browser may keep each one for good
and a new release is a new URL. The files are read once and served from memory.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from graphql_api.graphiql.manifest import HERE, MANIFEST, VENDOR, read_manifest

STATIC = HERE / "static"
PREFIX = "/graphiql"
PAGE_PACKAGE = "page"
IMMUTABLE = "public, max-age=31536000, immutable"
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".gif": "image/gif",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    "": "text/plain; charset=utf-8",  # LICENSE
}
# Besides the page's own policy (graphql_api.graphiql.page): a file is never sniffed into
# another type, and only pages of this origin may load it.
ASSET_HEADERS = {
    "cache-control": IMMUTABLE,
    "x-content-type-options": "nosniff",
    "cross-origin-resource-policy": "same-origin",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Assets:
    """`files` by `<release>/<file>`; `releases` maps a package name (or "page") to its
    release, `name@version`."""

    files: dict[str, Asset]
    releases: dict[str, str]

    def url(self, package: str, file: str) -> str:
        """The path the page loads `file` of `package` from; KeyError if it is not served."""
        key = f"{self.releases[package]}/{file}"
        if key not in self.files:
            raise KeyError(key)
        return f"{PREFIX}/{key}"


def _asset(path: Path) -> Asset:
    return Asset(path.read_bytes(), CONTENT_TYPES[path.suffix])


@cache
def load_assets(manifest: Path = MANIFEST, vendor: Path = VENDOR, static: Path = STATIC) -> Assets:
    """Everything /graphiql serves, read once per process."""
    files: dict[str, Asset] = {}
    releases: dict[str, str] = {}
    for package in read_manifest(manifest):
        releases[package.name] = package.release
        for name in package.files:
            files[f"{package.release}/{name}"] = _asset(vendor / package.release / name)
    own = sorted(path for path in static.iterdir() if path.is_file())
    digest = hashlib.sha256()
    for path in own:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    page_release = f"{PAGE_PACKAGE}@{digest.hexdigest()[:12]}"
    releases[PAGE_PACKAGE] = page_release
    for path in own:
        files[f"{page_release}/{path.name}"] = _asset(path)
    return Assets(files, releases)


def asset_routes(assets: Assets) -> list[Route]:
    async def serve(request: Request) -> Response:
        asset = assets.files.get(f"{request.path_params['release']}/{request.path_params['file']}")
        if asset is None:
            raise HTTPException(404)  # the app's handler answers it as JSON, as any 404
        headers = {**ASSET_HEADERS, "content-type": asset.content_type}
        return Response(asset.body, headers=headers)

    return [Route(f"{PREFIX}/{{release}}/{{file}}", serve, methods=["GET"])]
