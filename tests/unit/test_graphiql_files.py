"""The vendored GraphiQL files: what manifest.json says is what ships, each package with
its licence, and stylesheets that need nothing but the service's origin."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from graphql_api.graphiql.assets import CONTENT_TYPES
from graphql_api.graphiql.manifest import VENDOR, read_manifest, sri
from graphql_api.graphiql.page import content_security_policy
from graphql_api.graphiql.refresh import DATA_EXTENSIONS, WANTED, extract_data_urls

PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


def test_every_file_on_disk_is_in_the_manifest_with_its_digest():
    # given
    packages = read_manifest()

    # when
    listed = {
        f"{package.release}/{name}": digest
        for package in packages
        for name, digest in package.files.items()
    }
    on_disk = {
        str(path.relative_to(VENDOR)): sri(path.read_bytes())
        for path in VENDOR.rglob("*")
        if path.is_file()
    }

    # then
    assert on_disk == listed


def test_the_pinned_packages_each_with_their_licence():
    packages = {package.name: package for package in read_manifest()}

    assert {name: package.version for name, package in packages.items()} == {
        "react": "18.3.1",
        "react-dom": "18.3.1",
        "graphiql": "4.1.2",
    }
    assert set(packages) == {wanted.name for wanted in WANTED}
    for package in packages.values():
        assert package.license == "MIT"
        assert "LICENSE" in package.files
        assert package.integrity.startswith("sha512-")
        assert package.tarball.startswith("https://registry.npmjs.org/")
        licence = (VENDOR / package.release / "LICENSE").read_text(encoding="utf-8")
        assert licence.startswith("MIT License")


def test_the_stylesheets_load_nothing_from_elsewhere():
    for path in VENDOR.rglob("*.css"):
        urls = re.findall(r"url\(\s*['\"]?([^'\")]*)", path.read_text(encoding="utf-8"))
        assert urls, path  # GraphiQL's fonts and images: still referred to, as files
        for url in urls:
            assert re.fullmatch(r"[0-9a-f]{16}\.[a-z0-9]+", url), url
            assert (path.parent / url).is_file(), url


def test_every_kind_of_file_a_refresh_may_write_is_served_with_its_type():
    extracted = {f".{extension}" for extension in DATA_EXTENSIONS.values()}
    wanted = {
        name[name.rindex(".") :] if "." in name else ""
        for package in WANTED
        for name in package.members
    }

    assert extracted | wanted <= set(CONTENT_TYPES)


def test_a_data_url_becomes_a_file_named_by_its_content():
    # given
    encoded = base64.b64encode(PIXEL).decode()
    stylesheet = (
        f'a{{background:url("data:image/png;base64,{encoded}")}}'
        f"b{{background:url(data:image/png;base64,{encoded})}}"
        "c{background:url('data:image/svg+xml;charset=utf-8,%3Csvg%2F%3E')}"
        "d{background:url(plain.png)}"
    )

    # when
    rewritten, files = extract_data_urls(stylesheet)

    # then: one file per content, the same name wherever it is used
    [png] = [name for name in files if name.endswith(".png")]
    [svg] = [name for name in files if name.endswith(".svg")]
    assert files[png] == PIXEL
    assert files[svg] == b"<svg/>"
    assert rewritten == (
        f"a{{background:url({png})}}b{{background:url({png})}}"
        f"c{{background:url({svg})}}d{{background:url(plain.png)}}"
    )


def test_a_data_url_of_an_unknown_type_is_refused():
    with pytest.raises(ValueError, match="text/html"):
        extract_data_urls("a{background:url(data:text/html;base64,PGI+)}")
    assert "text/html" not in DATA_EXTENSIONS


def test_the_policy_names_no_other_origin_and_allows_nothing_unsafe():
    # when
    policy = content_security_policy("abc123")

    # then
    sources = {source for directive in policy.split(";") for source in directive.split()[1:]}
    assert sources == {"'self'", "'none'", "'nonce-abc123'"}
    assert "default-src 'self'" in policy
    assert "style-src 'self' 'nonce-abc123'" in policy


def test_the_readme_shows_the_policy_the_page_sends():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### GraphiQL") :]
    shown = section.split("```text\n", 1)[1].split("\n```", 1)[0]

    assert " ".join(shown.split()) == content_security_policy("…")
