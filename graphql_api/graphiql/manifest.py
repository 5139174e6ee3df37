"""manifest.json: which npm packages are vendored, at which version, from which tarball,
and the integrity of each file served.

The refresh script (graphql_api.graphiql.refresh) writes it; the asset routes read it and
serve nothing it does not list.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"
VENDOR = HERE / "vendor"
NOTE = "Written by `python -m graphql_api.graphiql.refresh` (README, GraphiQL): do not edit."


@dataclass(frozen=True)
class VendoredPackage:
    """One npm package as vendored: `files` maps each served file name (in
    vendor/<name>@<version>/) to its SRI digest (`sha384-<base64>`)."""

    name: str
    version: str
    tarball: str
    integrity: str  # the npm tarball's SRI digest, as the registry publishes it
    license: str
    files: dict[str, str] = field(default_factory=dict)

    @property
    def release(self) -> str:
        """`name@version`: the folder under vendor/ and the URL segment, so a new version
        is a new URL and browsers can cache each one forever."""
        return f"{self.name}@{self.version}"


def sri(data: bytes, algorithm: str = "sha384") -> str:
    """A Subresource Integrity digest: `<algorithm>-<base64 digest>`."""
    digest = hashlib.new(algorithm, data).digest()
    return f"{algorithm}-{base64.b64encode(digest).decode()}"


def read_manifest(path: Path = MANIFEST) -> list[VendoredPackage]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return [VendoredPackage(**entry) for entry in document["packages"]]


def write_manifest(packages: list[VendoredPackage], path: Path = MANIFEST) -> None:
    document = {
        "note": NOTE,
        "packages": [
            {
                "name": package.name,
                "version": package.version,
                "tarball": package.tarball,
                "integrity": package.integrity,
                "license": package.license,
                "files": dict(sorted(package.files.items())),
            }
            for package in packages
        ],
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
