"""What a GraphQL document asks for: its operations (read once per distinct text), and the
root fields that name a valid one in logs and metrics."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    parse,
)

from graphql_api.limits import MAX_TOKENS


@dataclass(frozen=True, slots=True)
class Operation:
    name: str | None
    type: OperationType


@dataclass(frozen=True, slots=True)
class DocumentShape:
    operations: tuple[Operation, ...]

    def selected(self, operation_name: str | None) -> Operation | None:
        """The operation a request runs (GraphQL-over-HTTP: a document with several needs
        `operationName`); None when the name is missing or unknown."""
        if operation_name is None:
            return self.operations[0] if len(self.operations) == 1 else None
        return next((op for op in self.operations if op.name == operation_name), None)


# Documents that apps send repeatedly are small; caching only those bounds the memory the
# cache can hold (512 texts of at most 16 KiB), whatever texts clients make up.
CACHED_TEXT_LENGTH = 16 * 1024


def document_shape(query: str) -> DocumentShape | None:
    """None when the text does not parse (execution then reports the syntax error)."""
    if len(query) <= CACHED_TEXT_LENGTH:
        return _cached_shape(query)
    return _shape(query)


def _shape(query: str) -> DocumentShape | None:
    try:
        document = parse(query, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None
    operations = tuple(
        Operation(None if d.name is None else d.name.value, d.operation)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    )
    return DocumentShape(operations)


_cached_shape = lru_cache(maxsize=512)(_shape)


def root_fields(document: DocumentNode | None) -> str:
    """The one root field asked for, "multiple", "introspection" or "none": bounded, so fit
    for a metric label."""
    names = {
        selection.name.value
        for definition in getattr(document, "definitions", ())
        if isinstance(definition, OperationDefinitionNode)
        for selection in definition.selection_set.selections
        if isinstance(selection, FieldNode)
    }
    if not names:
        return "none"
    if names <= {"__schema", "__type", "__typename"}:
        return "introspection"
    return names.pop() if len(names) == 1 else "multiple"
