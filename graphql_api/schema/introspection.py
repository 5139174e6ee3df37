"""In production, only admin keys may introspect the schema, or read a subgraph's SDL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import FieldNode, GraphQLError, ValidationRule, get_named_type, is_introspection_type
from graphql.language import BREAK
from strawberry.extensions import SchemaExtension

MESSAGE = "Introspection needs an admin API key"


class IntrospectionRefused(ValidationRule):
    """One error for the whole document, with a code: graphql-core's own rule reports
    every introspection field, without one."""

    def enter_field(self, node: FieldNode, *_: Any) -> object:
        field_type = get_named_type(self.context.get_type())
        introspecting = field_type is not None and is_introspection_type(field_type)
        # A subgraph's `_service { sdl }` tells what introspection tells (federation.py).
        if introspecting or (
            node.name.value == "_service"
            and self.context.get_parent_type() is self.context.schema.query_type
        ):
            self.report_error(GraphQLError(MESSAGE, node, extensions={"code": "FORBIDDEN"}))
            return BREAK
        return None


class IntrospectionForAdminsOnly(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        caller = getattr(self.execution_context.context, "caller", None)
        if caller is None or not caller.is_admin:
            self.execution_context.validation_rules = (
                *self.execution_context.validation_rules,
                IntrospectionRefused,
            )
        yield
