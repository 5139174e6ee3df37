"""python -m graphql_api.graphiql.refresh: fetches the pinned tarballs, checks their
integrity, and rewrites vendor/ and manifest.json only when every package checks out.

The registry here is a local HTTP server answering the npm registry's two requests (a
version's metadata, its tarball) with small packages built by the test: the real registry
is not reachable from CI, and a test must be able to publish a tampered tarball.
"""

from __future__ import annotations

import base64
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphql_api.command_errors import CommandFailed
from graphql_api.graphiql.manifest import read_manifest, sri, write_manifest
from graphql_api.graphiql.refresh import main, refresh

VERSIONS = {"react": "90.0.0", "react-dom": "90.0.0", "graphiql": "9.0.0"}
FONT = b"wOF2 not really a font"
STYLESHEET = (
    "@font-face{font-family:X;src:url(data:font/woff2;base64,"
    + base64.b64encode(FONT).decode()
    + ")}.graphiql-container{color:red}"
)


def npm_tarball(name: str, members: dict[str, str | bytes]) -> bytes:
    """An npm tarball: `members` under package/, beside its package.json."""
    files = {"package.json": json.dumps({"name": name, "license": "MIT"}), **members}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(f"package/{path}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def packages() -> dict[str, dict[str, str | bytes]]:
    """What each package's tarball holds, as WANTED expects it."""
    return {
        "react": {
            "umd/react.production.min.js": "window.React = {};",
            "LICENSE": "MIT License (react)",
        },
        "react-dom": {
            "umd/react-dom.production.min.js": "window.ReactDOM = {};",
            "LICENSE": "MIT License (react-dom)",
        },
        "graphiql": {
            "graphiql.min.js": "window.GraphiQL = function () {};",
            "graphiql.min.css": STYLESHEET,
            "LICENSE": "MIT License (graphiql)",
            "README.md": "not taken",
        },
    }


class Registry:
    """Publishes tarballs at `url`: `/<name>/<version>` answers the metadata, as npm's does."""

    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = registry.documents.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.end_headers()
                self.wfile.write(body or b"{}")

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def publish(self, name: str, version: str, tarball: bytes, integrity: str | None = None) -> str:
        """Serves `tarball` under the `integrity` given (by default its own); answers that."""
        integrity = integrity or sri(tarball, "sha512")
        path = f"/{name}/-/{name}-{version}.tgz"
        self.documents[path] = tarball
        dist = {"integrity": integrity, "tarball": f"{self.url}{path}"}
        metadata = {"name": name, "version": version, "dist": dist}
        self.documents[f"/{name}/{version}"] = json.dumps(metadata).encode()
        return integrity

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def registry() -> Iterator[Registry]:
    published = Registry()
    for name, members in packages().items():
        published.publish(name, VERSIONS[name], npm_tarball(name, members))
    yield published
    published.close()


@pytest.fixture
def target(tmp_path: Path) -> dict[str, Path]:
    """Where a refresh writes: a vendor/ folder and a manifest.json, here from a last one."""
    vendor = tmp_path / "vendor"
    (vendor / "graphiql@8.0.0").mkdir(parents=True)
    (vendor / "graphiql@8.0.0" / "graphiql.min.js").write_text("the previous release")
    manifest = tmp_path / "manifest.json"
    write_manifest([], manifest)
    return {"vendor": vendor, "manifest": manifest}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }


def test_a_refresh_takes_the_wanted_files_and_writes_the_manifest(registry, target):
    # when
    written = refresh(dict(VERSIONS), {}, registry.url, **target)

    # then: the files the page serves, each package's licence, nothing else
    vendor = target["vendor"]
    assert sorted(path.name for path in vendor.iterdir()) == [
        "graphiql@9.0.0",
        "react-dom@90.0.0",
        "react@90.0.0",
    ]
    assert (vendor / "react@90.0.0" / "react.production.min.js").read_text() == (
        "window.React = {};"
    )
    assert (vendor / "graphiql@9.0.0" / "LICENSE").read_text() == "MIT License (graphiql)"
    assert not (vendor / "graphiql@9.0.0" / "README.md").exists()
    # the stylesheet's font, a file of its own beside it
    stylesheet = (vendor / "graphiql@9.0.0" / "graphiql.min.css").read_text()
    [font] = [path for path in (vendor / "graphiql@9.0.0").iterdir() if path.suffix == ".woff2"]
    assert font.read_bytes() == FONT
    assert stylesheet == f"@font-face{{font-family:X;src:url({font.name})}}" + (
        ".graphiql-container{color:red}"
    )
    # the manifest: what was published, and the digest of each file as written
    manifest = read_manifest(target["manifest"])
    assert manifest == written
    for entry in manifest:
        assert entry.integrity == sri(
            registry.documents[entry.tarball[len(registry.url) :]], "sha512"
        )
        assert entry.license == "MIT"
        folder = vendor / entry.release
        assert entry.files == {path.name: sri(path.read_bytes()) for path in folder.iterdir()}


def test_a_pinned_version_is_refreshed_when_its_tarball_is_unchanged(registry, target):
    # given: a first refresh pinned every package
    first = refresh(dict(VERSIONS), {}, registry.url, **target)
    pinned = {entry.release: entry.integrity for entry in first}

    # when
    again = refresh(dict(VERSIONS), pinned, registry.url, **target)

    # then
    assert again == first


def test_a_tarball_that_does_not_match_its_integrity_is_refused_and_nothing_changes(
    registry, target
):
    # given: the registry serves a tarball other than the one whose digest it publishes
    honest = npm_tarball("graphiql", packages()["graphiql"])
    tampered = npm_tarball("graphiql", {**packages()["graphiql"], "graphiql.min.js": "steal()"})
    registry.publish("graphiql", "9.0.0", tampered, integrity=sri(honest, "sha512"))
    before = snapshot(target["vendor"].parent)

    # when
    with pytest.raises(CommandFailed, match=r"graphiql@9\.0\.0: .* does not match its integrity"):
        refresh(dict(VERSIONS), {}, registry.url, **target)

    # then
    assert snapshot(target["vendor"].parent) == before


def test_a_pinned_version_published_again_with_another_digest_is_refused(registry, target):
    # given: manifest.json pinned graphiql@9.0.0 to a tarball the registry no longer serves
    pinned = {"graphiql@9.0.0": sri(b"the tarball that was pinned", "sha512")}
    before = snapshot(target["vendor"].parent)

    # when
    with pytest.raises(CommandFailed, match="refusing a tarball that changed under a pinned"):
        refresh(dict(VERSIONS), pinned, registry.url, **target)

    # then
    assert snapshot(target["vendor"].parent) == before


def test_a_package_whose_layout_changed_is_refused(registry, target):
    # given: a graphiql release without the stylesheet where WANTED expects it
    members = {k: v for k, v in packages()["graphiql"].items() if k != "graphiql.min.css"}
    registry.publish("graphiql", "9.0.0", npm_tarball("graphiql", members))

    # when / then
    with pytest.raises(CommandFailed, match=r"graphiql@9\.0\.0 has no package/graphiql\.min\.css"):
        refresh(dict(VERSIONS), {}, registry.url, **target)


def test_a_version_the_registry_does_not_have_is_refused(registry, target):
    with pytest.raises(CommandFailed, match=r"graphiql@9\.9\.9: no usable metadata"):
        refresh({**VERSIONS, "graphiql": "9.9.9"}, {}, registry.url, **target)


@pytest.mark.parametrize("move", ["graphiql", "graphiql@", "vue@3.0.0"])
def test_the_command_refuses_a_move_that_is_not_a_pinned_name_at_a_version(move):
    # when
    result = CliRunner().invoke(main, [move, "--registry", "http://127.0.0.1:9"])

    # then: refused before any request (port 9 answers nothing)
    assert result.exit_code == 2
    assert "expected NAME@VERSION" in result.output
