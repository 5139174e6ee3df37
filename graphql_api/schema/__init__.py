"""The schema, assembled from its parts."""

from __future__ import annotations

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig

from graphql_api.schema.masking import MaskInternalErrors
from graphql_api.schema.mutations import Mutation
from graphql_api.schema.queries import Query
from graphql_api.schema.scalars import SCALARS

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    config=StrawberryConfig(scalar_map=SCALARS),
    # Factories: a fresh extension per request; the two caches are shared module-level LRUs.
    extensions=[
        MaskInternalErrors,
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
    ],
)
