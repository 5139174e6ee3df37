"""The documents a frontend build registers: a persisted query manifest, read and checked once.

Two formats, as the build tools write them:

- Apollo's persisted query manifest (`@apollo/generate-persisted-query-manifest`):
  `{"format": "apollo-persisted-query-manifest", "version": 1,
  "operations": [{"id", "name", "type", "body"}]}`;
- graphql-codegen's client preset with `persistedDocuments: true`
  (`persisted-documents.json`): `{"<hash>": "<document>"}`.

Every document must parse within the query limits and hold only operations and fragments.
An id of 64 or 40 hex digits is taken for the SHA-256 or SHA-1 of its document (both tools
make ids that way by default, codegen's SHA-1 being its default) and must be that hash: a
manifest edited by hand, or mixed from two builds, refuses to start instead of running
another document than the one its id names. Other ids (a custom `createOperationId`) are
opaque names.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    parse,
    print_ast,
)

from graphql_api.limits import MAX_TOKENS

APOLLO_FORMAT = "apollo-persisted-query-manifest"
OPERATION_TYPES = ("query", "mutation", "subscription")
SHA256_PREFIX = "sha256:"  # GraphQL-over-HTTP's prefixed document identifier
_HASHES = {64: "sha256", 40: "sha1"}
_HEX = re.compile(r"[0-9a-fA-F]+")
# Texts sent again and again are small; only those are remembered (as documents.py does).
CACHED_TEXT_LENGTH = 16 * 1024


class ManifestError(ValueError):
    """The manifest cannot be used; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class PersistedDocuments:
    """The documents of one manifest, found by id or by text."""

    source: Path
    by_id: Mapping[str, str]
    by_sha256: Mapping[str, str]  # the SHA-256 (hex) of each document's text
    texts: frozenset[str]
    normalized: frozenset[str]  # each document as normalized_document() prints it

    def find(self, document_id: str) -> str | None:
        """The document a client names by its manifest id, by the SHA-256 of its text, or
        by that hash prefixed `sha256:` (GraphQL-over-HTTP's `documentId`)."""
        found = self.by_id.get(document_id)
        if found is None:
            found = self.by_sha256.get(document_id.removeprefix(SHA256_PREFIX).lower())
        return found

    def holds(self, text: str) -> bool:
        """Whether `text` is a registered document, as sent or written otherwise (other
        white space, commas and comments, operations and fragments in another order)."""
        if text in self.texts:
            return True
        normalized = normalized_document(text)
        return normalized is not None and normalized in self.normalized


def sha256_hex(text: str) -> str:
    # surrogatepass: a JSON string may carry a lone surrogate; it hashes, it never raises.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def normalized_document(text: str) -> str | None:
    """One spelling of a document for comparing texts (Apollo Router's safelist does the
    same): printed from its syntax tree, operations then fragments, each sorted by name.
    None when it does not parse or holds anything but operations and fragments."""
    if len(text) <= CACHED_TEXT_LENGTH:
        return _cached_normalized(text)
    return _normalized(text)


def _normalized(text: str) -> str | None:
    try:
        document = parse(text, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
    if len(operations) + len(fragments) != len(document.definitions):
        return None
    operations.sort(key=lambda d: "" if d.name is None else d.name.value)
    fragments.sort(key=lambda d: d.name.value)
    return print_ast(DocumentNode(definitions=(*operations, *fragments)))


_cached_normalized = lru_cache(maxsize=512)(_normalized)


def load_manifest(path: Path) -> PersistedDocuments:
    """The documents of the manifest at `path`; ManifestError saying what is wrong and
    where (the file, and the entry by position, id and name) when it cannot be used."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ManifestError(f"{path}: cannot be read: {error.strerror or error}") from None
    try:
        manifest = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise ManifestError(f"{path}: is not JSON: {error}") from None
    by_id: dict[str, str] = {}
    for where, document_id, body, named in _entries(path, manifest):
        document = _checked_document(path, where, document_id, body)
        if named is not None:
            _check_named_operation(path, where, document, *named)
        if by_id.setdefault(document_id, body) != body:
            raise ManifestError(f"{path}: {where}: the id is also another document's")
    if not by_id:
        raise ManifestError(f"{path}: holds no operations")
    texts = frozenset(by_id.values())
    return PersistedDocuments(
        source=path,
        by_id=by_id,
        by_sha256={sha256_hex(text): text for text in texts},
        texts=texts,
        normalized=frozenset(filter(None, map(_normalized, texts))),
    )


def _entries(
    path: Path, manifest: object
) -> Iterator[tuple[str, str, str, tuple[str, str] | None]]:
    """(where, id, body, (operation name, type) or None) for each entry of either format."""
    if isinstance(manifest, dict) and "format" in manifest:
        if manifest["format"] != APOLLO_FORMAT or manifest.get("version") != 1:
            raise ManifestError(
                f"{path}: is not an {APOLLO_FORMAT} of version 1 "
                f"(format {manifest['format']!r}, version {manifest.get('version')!r})"
            )
        operations = manifest.get("operations")
        if not isinstance(operations, list):
            raise ManifestError(f"{path}: `operations` is not a list")
        for position, operation in enumerate(operations):
            where = f"operations[{position}]"
            if not isinstance(operation, dict):
                raise ManifestError(f"{path}: {where}: is not an object")
            document_id, name = operation.get("id"), operation.get("name")
            body, kind = operation.get("body"), operation.get("type")
            if isinstance(document_id, str) and document_id:
                where += f" (id {document_id!r}, name {name!r})"
            for field, value in (("id", document_id), ("name", name), ("body", body)):
                if not isinstance(value, str) or not value:
                    raise ManifestError(f"{path}: {where}: `{field}` is not a non-empty string")
            if kind not in OPERATION_TYPES:
                raise ManifestError(
                    f"{path}: {where}: `type` is {kind!r}, not one of {', '.join(OPERATION_TYPES)}"
                )
            yield where, str(document_id), str(body), (str(name), str(kind))
    elif isinstance(manifest, dict):
        for document_id, body in manifest.items():
            where = f"entry {document_id!r}"
            if not document_id or not isinstance(body, str) or not body:
                raise ManifestError(
                    f"{path}: {where}: is not a document: expected graphql-codegen's "
                    '{"<hash>": "<document>"} or an Apollo persisted query manifest'
                )
            yield where, document_id, body, None
    else:
        raise ManifestError(
            f"{path}: is not a persisted query manifest: expected an Apollo persisted query "
            "manifest or graphql-codegen's persisted-documents.json (a JSON object)"
        )


def _checked_document(path: Path, where: str, document_id: str, body: str) -> DocumentNode:
    try:
        document = parse(body, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError as error:
        raise ManifestError(
            f"{path}: {where}: the document does not parse: {error.message}"
        ) from None
    if not all(
        isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)
        for d in document.definitions
    ) or not any(isinstance(d, OperationDefinitionNode) for d in document.definitions):
        raise ManifestError(
            f"{path}: {where}: the document must hold operations and fragments only"
        )
    algorithm = _HASHES.get(len(document_id)) if _HEX.fullmatch(document_id) else None
    if algorithm is not None:
        digest = hashlib.new(algorithm, body.encode("utf-8", "surrogatepass")).hexdigest()
        if digest != document_id.lower():
            raise ManifestError(
                f"{path}: {where}: the id is not the {algorithm.upper()} of the document "
                f"(that is {digest}): the manifest was edited, or mixes two builds"
            )
    return document


def _check_named_operation(
    path: Path, where: str, document: DocumentNode, name: str, kind: str
) -> None:
    if not any(
        isinstance(d, OperationDefinitionNode)
        and d.name is not None
        and d.name.value == name
        and d.operation.value == kind
        for d in document.definitions
    ):
        raise ManifestError(f"{path}: {where}: the document holds no {kind} named {name!r}")
