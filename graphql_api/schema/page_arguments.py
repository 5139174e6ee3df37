"""`first` and `after` are checked before anything runs, like the other query limits.

Resolvers check them too, but by then a mutation earlier in the same request may have
written: a coupon created with `coupon { usages(first: 101) }` selected must not be.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    IntValueNode,
    NullValueNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    Visitor,
    get_operation_ast,
    visit,
)
from strawberry.extensions import SchemaExtension

from graphql_api.domain.errors import CouponError
from graphql_api.domain.pagination import decode_cursor, decode_feed_cursor, page_request
from graphql_api.schema.errors import argument_error
from graphql_api.schema.paged_lists import PAGED_LISTS

_MISSING = object()


class PageArgumentsChecked(SchemaExtension):
    """Runs after validation passed (it must come after ValidationCache in the list)."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if (
            document is not None
            and not context.pre_execution_errors
            and _has_page_arguments(context.query)
        ):
            errors = list(
                _page_argument_errors(document, context.operation_name, context.variables)
            )
            if errors:
                context.pre_execution_errors = errors
        yield


def _has_page_arguments(query: str | None) -> bool:
    """A cheap first look: most documents (every redemption) have no page argument."""
    return query is None or "first" in query or "after" in query


def _page_argument_errors(
    document: DocumentNode, operation_name: str | None, variables: dict[str, Any] | None
) -> Iterator[GraphQLError]:
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return
    defaults = {
        definition.variable.name.value: definition.default_value
        for definition in operation.variable_definitions or ()
    }
    collector = _PageArguments()
    visit(operation, collector)
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            visit(definition, collector)
    for field, argument in collector.found:
        value = _value(argument.value, variables or {}, defaults)
        if value is _MISSING:
            continue  # not given: the argument's default applies
        paged = PAGED_LISTS[field.name.value]
        # The value that chooses the rows, when the document says it; a parent's (a
        # coupon's id) is known only to the resolver, which checks the cursor fully.
        chosen_by = _MISSING
        for other in field.arguments or ():
            if other.name.value == paged.argument:
                chosen_by = _value(other.value, variables or {}, defaults)
        values = [chosen_by] if isinstance(chosen_by, str) else []
        known = not paged.by_parent and len(values) == (paged.argument is not None)
        scope = paged.scope(*values)
        try:
            if argument.name.value == "first":
                if not isinstance(value, int | None) or isinstance(value, bool):
                    continue  # a type error, which variable coercion reports
                page_request(value, None, scope)
            elif isinstance(value, str) and paged.numbered:
                decode_feed_cursor(scope, value, check_chosen_by=known)
            elif isinstance(value, str):
                decode_cursor(scope, value, check_chosen_by=known)
        except CouponError as error:
            public = argument_error(error)
            yield GraphQLError(public.message, nodes=[argument], extensions=public.extensions)


class _PageArguments(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[FieldNode, ArgumentNode]] = []

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.name.value in PAGED_LISTS:
            self.found.extend(
                (node, argument)
                for argument in node.arguments or ()
                if argument.name.value in ("first", "after")
            )


def _value(node: ValueNode, variables: dict[str, Any], defaults: dict[str, Any]) -> Any:
    if isinstance(node, VariableNode):
        name = node.name.value
        if name in variables:
            return variables[name]
        default = defaults.get(name)
        return _MISSING if default is None else _value(default, {}, {})
    if isinstance(node, NullValueNode):
        return None
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, StringValueNode):
        return node.value
    return _MISSING  # a literal of the wrong type: validation has reported it already
