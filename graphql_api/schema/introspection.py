"""In production, only admin keys may introspect the schema."""

from __future__ import annotations

from collections.abc import Iterator

from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension


class IntrospectionForAdminsOnly(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        caller = getattr(self.execution_context.context, "caller", None)
        if caller is None or not caller.is_admin:
            self.execution_context.validation_rules = (
                *self.execution_context.validation_rules,
                NoSchemaIntrospectionCustomRule,
            )
        yield
