"""Refreshes the vendored GraphiQL assets from the npm registry.

    python -m graphql_api.graphiql.refresh                      # the versions in manifest.json
    python -m graphql_api.graphiql.refresh graphiql@4.1.3       # move one pin

For each package it fetches the tarball, checks it against the SRI digest the registry
publishes (and, for an unchanged version, the one manifest.json already holds: a tarball
that changed under a pinned version is refused), takes the few files the page serves and
the package's LICENSE, and rewrites vendor/ and manifest.json. Nothing is written unless
every package checks out.

Stylesheets are the one file changed on the way: each `url(data:…)` (GraphiQL inlines its
fonts and a few images) becomes a file of its own beside the stylesheet, so the page's
Content-Security-Policy can allow fonts and images from the service's origin alone.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import shutil
import tarfile
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes

import click

from graphql_api.command_errors import CommandFailed, CommandRefused
from graphql_api.graphiql.manifest import (
    MANIFEST,
    VENDOR,
    VendoredPackage,
    read_manifest,
    sri,
    write_manifest,
)

REGISTRY = "https://registry.npmjs.org"
TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Wanted:
    """What the page takes from one npm package: served file name -> path in the tarball."""

    name: str
    members: dict[str, str]


# React 18.3 is the last React with UMD builds (plain files that set window.React), and
# GraphiQL 4.1 the last GraphiQL with one: GraphiQL 5 ships ES modules that import Monaco's
# CSS and web workers, which only a bundler can serve.
WANTED = (
    Wanted(
        "react",
        {
            "react.production.min.js": "package/umd/react.production.min.js",
            "LICENSE": "package/LICENSE",
        },
    ),
    Wanted(
        "react-dom",
        {
            "react-dom.production.min.js": "package/umd/react-dom.production.min.js",
            "LICENSE": "package/LICENSE",
        },
    ),
    Wanted(
        "graphiql",
        {
            "graphiql.min.js": "package/graphiql.min.js",
            "graphiql.min.css": "package/graphiql.min.css",
            "LICENSE": "package/LICENSE",
        },
    ),
)

# The media types a stylesheet's data: URLs may hold, and the file extension each gets
# (graphql_api.graphiql.assets serves each extension with its type).
DATA_EXTENSIONS = {
    "font/woff2": "woff2",
    "font/woff": "woff",
    "font/ttf": "ttf",
    "image/png": "png",
    "image/gif": "gif",
    "image/svg+xml": "svg",
}
DATA_URL = re.compile(
    r"""url\(\s*(?P<quote>["']?)data:(?P<meta>[^,"')]*),(?P<payload>[^"')]*)(?P=quote)\s*\)"""
)


def extract_data_urls(stylesheet: str) -> tuple[str, dict[str, bytes]]:
    """The stylesheet with each `url(data:…)` replaced by `url(<sha256 prefix>.<ext>)`, and
    those files' contents by name. Raises ValueError for a media type not in DATA_EXTENSIONS."""
    extracted: dict[str, bytes] = {}

    def to_file(match: re.Match[str]) -> str:
        media_type, *parameters = match["meta"].split(";")
        if media_type.strip().lower() not in DATA_EXTENSIONS:
            raise ValueError(f"a data: URL of type {media_type!r} in a stylesheet")
        payload = match["payload"]
        if "base64" in (parameter.strip().lower() for parameter in parameters):
            content = base64.b64decode(payload, validate=True)
        else:
            content = unquote_to_bytes(payload)
        extension = DATA_EXTENSIONS[media_type.strip().lower()]
        name = f"{hashlib.sha256(content).hexdigest()[:16]}.{extension}"
        extracted[name] = content
        return f"url({name})"

    return DATA_URL.sub(to_file, stylesheet), extracted


def fetch(url: str) -> bytes:
    if urllib.parse.urlsplit(url).scheme not in ("https", "http"):
        raise CommandFailed(f"not an HTTP(S) URL: {url}")
    request = urllib.request.Request(url, headers={"Accept": "application/json, */*"})  # noqa: S310 - scheme checked above
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310 - scheme checked above
        body: bytes = answer.read()
        return body


def vendor_package(
    wanted: Wanted, version: str, pinned_integrity: str | None, registry: str
) -> tuple[VendoredPackage, dict[str, bytes]]:
    """Fetches and checks one package; returns its manifest entry and its files by name."""
    release = f"{wanted.name}@{version}"
    metadata_url = f"{registry.rstrip('/')}/{urllib.parse.quote(wanted.name, safe='@')}/{version}"
    try:
        metadata = json.loads(fetch(metadata_url))
        published = metadata["dist"]["integrity"]
        tarball_url = metadata["dist"]["tarball"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CommandFailed(f"{release}: no usable metadata at {metadata_url} ({error})") from None
    if pinned_integrity is not None and published != pinned_integrity:
        raise CommandFailed(
            f"{release}: the registry publishes {published}, manifest.json pins "
            f"{pinned_integrity}; refusing a tarball that changed under a pinned version"
        )
    try:
        tarball = fetch(tarball_url)
    except OSError as error:
        raise CommandFailed(f"{release}: could not fetch {tarball_url} ({error})") from None
    algorithm = published.partition("-")[0]
    if algorithm not in ("sha512", "sha384", "sha256") or sri(tarball, algorithm) != published:
        raise CommandFailed(f"{release}: {tarball_url} does not match its integrity {published}")

    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        # Only named members are read, never extracted: no path in the archive reaches disk.
        for served, member in wanted.members.items():
            try:
                content = archive.extractfile(member)
            except KeyError:
                content = None
            if content is None:
                raise CommandFailed(
                    f"{release} has no {member}: its layout changed, update WANTED in {__name__}"
                )
            files[served] = content.read()
        package_json = archive.extractfile("package/package.json")
        license_name = json.loads(package_json.read()).get("license", "") if package_json else ""
    for served in [name for name in files if name.endswith(".css")]:
        try:
            stylesheet, extracted = extract_data_urls(files[served].decode("utf-8"))
        except ValueError as error:
            raise CommandFailed(f"{release} {served}: {error}") from None
        files[served] = stylesheet.encode("utf-8")
        files.update(extracted)
    entry = VendoredPackage(
        name=wanted.name,
        version=version,
        tarball=tarball_url,
        integrity=published,
        license=str(license_name),
        files={name: sri(content) for name, content in files.items()},
    )
    return entry, files


def refresh(
    versions: dict[str, str],
    pinned: dict[str, str],
    registry: str = REGISTRY,
    vendor: Path = VENDOR,
    manifest: Path = MANIFEST,
) -> list[VendoredPackage]:
    """Vendors every package in WANTED at `versions[name]`, holding a version that is
    already pinned to its `pinned[name@version]` integrity; rewrites `vendor` and
    `manifest` only once all have checked out."""
    fetched = [
        vendor_package(wanted, versions[wanted.name], pinned.get(release), registry)
        for wanted in WANTED
        for release in [f"{wanted.name}@{versions[wanted.name]}"]
    ]
    staging = vendor.with_name(vendor.name + ".new")
    retired = vendor.with_name(vendor.name + ".old")
    for leftover in (staging, retired):
        shutil.rmtree(leftover, ignore_errors=True)
    for entry, files in fetched:
        folder = staging / entry.release
        folder.mkdir(parents=True)
        for name, content in files.items():
            (folder / name).write_bytes(content)
    if vendor.exists():
        vendor.rename(retired)
    staging.rename(vendor)
    shutil.rmtree(retired, ignore_errors=True)
    packages = [entry for entry, _ in fetched]
    write_manifest(packages, manifest)
    return packages


@click.command(context_settings={"show_default": True})
@click.argument("moves", nargs=-1, metavar="[NAME@VERSION]...")
@click.option(
    "--registry",
    envvar="NPM_CONFIG_REGISTRY",
    default=REGISTRY,
    help="the npm registry to fetch from (or NPM_CONFIG_REGISTRY)",
)
def main(moves: Sequence[str], registry: str) -> None:
    """Fetch the pinned GraphiQL, React and ReactDOM tarballs from the npm registry, check
    their integrity, and rewrite graphql_api/graphiql/vendor and manifest.json. NAME@VERSION
    moves a pin (its integrity is then the one the registry publishes)."""
    current = {package.name: package for package in read_manifest()}
    versions = {wanted.name: current[wanted.name].version for wanted in WANTED}
    pinned = {package.release: package.integrity for package in current.values()}
    for move in moves:
        name, at, version = move.rpartition("@")
        if not at or name not in versions or not version:
            known = ", ".join(versions)
            raise CommandRefused(f"expected NAME@VERSION with NAME one of {known}, got {move!r}")
        versions[name] = version
    for package in refresh(versions, pinned, registry):
        was = current.get(package.name)
        moved = "" if was is None or was.version == package.version else f" (was {was.version})"
        click.echo(f"{package.release}{moved}  {package.integrity}  {len(package.files)} files")


if __name__ == "__main__":
    main()
