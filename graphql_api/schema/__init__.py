"""The schema, assembled from its parts, with its limits."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from graphql_api.error_codes import ValidationErrorCodes
from graphql_api.limits import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS
from graphql_api.schema.federation import FederatedSchema
from graphql_api.schema.introspection import IntrospectionForAdminsOnly
from graphql_api.schema.masking import MaskInternalErrors
from graphql_api.schema.mutations import Mutation
from graphql_api.schema.outcome import RequestOutcome
from graphql_api.schema.page_arguments import PageArgumentsChecked
from graphql_api.schema.queries import Query
from graphql_api.schema.scalars import SCALARS
from graphql_api.schema.suggestions import NoSuggestions

# The limiters make their rule classes when constructed. Made once here, not per request:
# the validation cache is keyed by the rule classes, and fresh ones would never hit it.
LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


class CouponSchema(FederatedSchema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Not logged here: MaskInternalErrors logs what is unexpected, with the request id;
        the rest are the client's mistakes, which the access log counts."""


def build_schema(*, production: bool = False, tracing: bool = False) -> strawberry.Schema:
    """The schema; production refuses introspection to non-admins and suggests no fields;
    tracing gives each operation and resolver a span (graphql_api.tracing)."""
    # Factories: a fresh extension per request. The caches are shared module-level LRUs, and
    # the limits are validation rules, so an over-limit query is refused before it runs.
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        RequestOutcome,  # first in, last out: it sees the errors after masking
        MaskInternalErrors,
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=512),
        lambda: AddValidationRules(LIMIT_RULES),
        lambda: ValidationCache(maxsize=512),
        PageArgumentsChecked,  # after validation, so it sees a valid document
        ValidationErrorCodes,  # the last to see validation errors: it codes them all
    ]
    if production:
        extensions += [IntrospectionForAdminsOnly, NoSuggestions]
    if tracing:
        # Imported only when on: off, nothing of OpenTelemetry is loaded.
        from graphql_api.tracing import graphql_tracing

        # Before RequestOutcome: the last out, it sees the outcome that one records.
        extensions.insert(0, graphql_tracing)
    return CouponSchema(
        query=Query,
        mutation=Mutation,
        config=StrawberryConfig(scalar_map=SCALARS, disable_field_suggestions=production),
        extensions=extensions,
    )


schema = build_schema()
