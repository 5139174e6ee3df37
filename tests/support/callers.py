"""An admin and a storefront calling the API with their own keys, on either answering path."""

from __future__ import annotations

from typing import Any

import httpx
from graphql import FieldNode, OperationDefinitionNode, parse

from graphql_api.schema import schema
from tests.support.graphql import GraphQLClient

ADMIN_KEY = "admin-key-4f9c2a71d0"
STOREFRONT_KEY = "storefront-key-8b3e6d15c2"
API_KEYS = f"admin:{ADMIN_KEY},storefront:{STOREFRONT_KEY}"
KEYS = {"admin": ADMIN_KEY, "storefront": STOREFRONT_KEY}

# Root fields that have a permission class (creating and pausing coupons): a test's setup.
_GUARDED_ROOTS = {
    schema.config.name_converter.get_graphql_name(field)
    for type_name in ("Query", "Mutation")
    for field in schema.get_type_by_name(type_name).fields  # type: ignore[union-attr]
    if field.permission_classes
}


def needs_admin(query: str) -> bool:
    """Whether the document asks for a root field that has a permission class."""
    document = parse(query)
    return any(
        isinstance(selection, FieldNode) and selection.name.value in _GUARDED_ROOTS
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
        for selection in definition.selection_set.selections
    )


class CallerClient(GraphQLClient):
    """A client for one role: it sends what that role may send with its own key, and a
    test's setup (root fields with a permission class) with the admin key."""

    def __init__(self, base_url: str, role: str) -> None:
        super().__init__(base_url)
        self.role = role
        self.http.headers["Authorization"] = f"Bearer {KEYS[role]}"  # for requests made by hand

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        operation_name: str | None = None,
    ) -> httpx.Response:
        key = KEYS["admin" if needs_admin(query) else self.role]
        headers = {"Authorization": f"Bearer {key}", **(headers or {})}
        return super().post(query, variables, headers, operation_name)
