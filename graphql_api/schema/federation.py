"""Apollo Federation 2 (contract, "Federation"): `Coupon` is an entity keyed by `id` and by
`code`, `Campaign` and `Usage` by `id`, so a gateway can join coupon data into other
services' types.

A gateway holds references such as `{"__typename": "Coupon", "code": "SUMMER-10"}` and asks
`_entities(representations:)` for them. Each reference is answered by the root lookup of
the same key, called as it is: `coupon(id)`, `couponByCode(code)`, `campaign(id)`. So a key
is read as that lookup reads it (a code trimmed and upper-cased), refused as it refuses it
(INVALID_INPUT), and guarded by the same permission classes (a `Campaign` needs an admin
key); an entity that does not exist is null. `Usage` has no root lookup: it is read by id,
by anyone who may read usages (`userUsages`). At most `MAX_PAGE_SIZE` references a request.

`schema.graphql` stays the client-facing SDL (`client_sdl`): without the `@link`/`@key`
directives and the `_entities`/`_service` plumbing that only gateways use. The subgraph's
own SDL (`subgraph_sdl`) is what `_service { sdl }` answers and `coupons export-schema
--subgraph` prints, for composing a supergraph ahead of time.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from typing import cast

import strawberry
from strawberry.federation.schema import FederationAny
from strawberry.printer import print_schema
from strawberry.types.base import get_object_definition
from strawberry.types.field import StrawberryField

from graphql_api.context import Info
from graphql_api.domain.errors import CouponError, ErrorCode
from graphql_api.domain.inputs import check_uuid
from graphql_api.domain.pagination import MAX_PAGE_SIZE
from graphql_api.schema.errors import PublicError, argument_error, arguments_checked
from graphql_api.schema.types import UsageNode

# For each entity, its keys and the root lookup that answers a reference by that key
# (None: the entity has no root lookup and is read here).
ENTITY_KEYS: dict[str, dict[str, str | None]] = {
    "Coupon": {"id": "coupon", "code": "couponByCode"},
    "Campaign": {"id": "campaign"},
    "Usage": {"id": None},
}
FIELD = "representations"


class FederatedSchema(strawberry.federation.Schema):
    """A Federation 2 subgraph whose `_entities` answers as the root lookups do."""

    def entities_resolver(  # the same field as strawberry's, with our own answers
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        if len(representations) > MAX_PAGE_SIZE:
            raise argument_error(
                CouponError(
                    ErrorCode.INVALID_INPUT,
                    f"At most {MAX_PAGE_SIZE} representations a request",
                    FIELD,
                )
            )
        # graphql-core awaits each item, and places an item's error at its own index.
        return [
            cast(FederationAny, self._reference(info, representation))
            for representation in representations
        ]

    async def _reference(self, info: Info, representation: object) -> object:
        typename, key, value = _read_reference(representation)
        lookup = ENTITY_KEYS[typename][key]
        if lookup is None:  # Usage
            with arguments_checked():
                usage_id = check_uuid(value, key)
            usage = await info.context.loaders.usage_by_id.load(usage_id)
            return None if usage is None else UsageNode.from_domain(usage)
        field = self._root_field(lookup)
        await _check_permissions(field, info)
        if field.base_resolver is None:
            raise LookupError(f"the root field {lookup} has no resolver")
        resolver = cast(Callable[..., Awaitable[object]], field.base_resolver.wrapped_func)
        return await resolver(None, info, **{field.arguments[0].python_name: value})

    def _root_field(self, name: str) -> StrawberryField:
        for field in get_object_definition(self.query, strict=True).fields:
            if self.config.name_converter.get_graphql_name(field) == name:
                return field
        raise LookupError(f"the schema has no root field {name}")


def _read_reference(representation: object) -> tuple[str, str, str]:
    """(typename, key, value) of a representation, or INVALID_INPUT on `representations`."""
    if not isinstance(representation, dict):
        raise _invalid("A representation is an object with __typename and a key")
    typename = representation.get("__typename")
    if not isinstance(typename, str) or typename not in ENTITY_KEYS:
        raise _invalid(f"__typename must be one of {', '.join(ENTITY_KEYS)}")
    keys = [key for key in ENTITY_KEYS[typename] if key in representation]
    if not keys:
        raise _invalid(f"A {typename} reference needs {' or '.join(ENTITY_KEYS[typename])}")
    key = keys[0]
    value = representation[key]
    if not isinstance(value, str):
        raise _invalid(f"A {typename}'s {key} is a string")
    return typename, key, value


def _invalid(message: str) -> PublicError:
    return argument_error(CouponError(ErrorCode.INVALID_INPUT, message, FIELD))


async def _check_permissions(field: StrawberryField, info: Info) -> None:
    for permission_class in field.permission_classes:
        permission = permission_class()
        allowed = permission.has_permission(None, info)
        if inspect.isawaitable(allowed):
            allowed = await allowed
        if not allowed:
            message = permission.message or "Forbidden"
            raise PublicError(message, extensions=permission.error_extensions)


def subgraph_sdl(schema: strawberry.Schema) -> str:
    """The subgraph's SDL with its Federation directives, as `_service { sdl }` answers it."""
    return print_schema(schema)


# What Federation adds to the printed SDL, for clients' eyes removed again.
_PLUMBING = (
    re.compile(r"^schema @link\([^\n]*\) \{\n(?:  [^\n]*\n)*\}\n\n", re.MULTILINE),
    re.compile(r' @key\(fields: "[^"]*"(?:, resolvable: true)?\)'),
    re.compile(r"^  _entities\(representations: \[_Any!\]!\): \[_Entity\]!\n", re.MULTILINE),
    re.compile(r"^  _service: _Service!\n\n?", re.MULTILINE),
    re.compile(r"^scalar _Any\n\n", re.MULTILINE),
    re.compile(r"^union _Entity = [^\n]*\n\n", re.MULTILINE),
    re.compile(r"^type _Service \{\n  sdl: String!\n\}\n*", re.MULTILINE),
)


def client_sdl(schema: strawberry.Schema) -> str:
    """The schema as clients see it (schema.graphql): the subgraph SDL without Federation's
    directives, types and root fields."""
    sdl = subgraph_sdl(schema) + "\n"
    for plumbing in _PLUMBING:
        sdl = plumbing.sub("", sdl)
    return sdl.rstrip("\n")
