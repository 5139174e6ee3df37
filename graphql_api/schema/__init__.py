"""The schema, assembled from its parts, with its limits."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from graphql_api.schema.introspection import IntrospectionForAdminsOnly
from graphql_api.schema.masking import MaskInternalErrors
from graphql_api.schema.mutations import Mutation
from graphql_api.schema.outcome import RequestOutcome
from graphql_api.schema.queries import Query
from graphql_api.schema.scalars import SCALARS

MAX_DEPTH = 10
MAX_ALIASES = 20
MAX_TOKENS = 2000


def build_schema(*, production: bool = False) -> strawberry.Schema:
    """The schema; production refuses introspection to non-admins and suggests no fields."""
    # Factories: a fresh extension per request. The caches are shared module-level LRUs, and
    # the limits are validation rules, so an over-limit query is refused before it runs.
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        RequestOutcome,  # first in, last out: it sees the errors after masking
        MaskInternalErrors,
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=512),
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: ValidationCache(maxsize=512),
    ]
    if production:
        extensions.append(IntrospectionForAdminsOnly)
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        config=StrawberryConfig(scalar_map=SCALARS, disable_field_suggestions=production),
        extensions=extensions,
    )


schema = build_schema()
