"""How a CouponError reaches a client: a payload entry, or for list arguments a GraphQL error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import strawberry
from graphql import GraphQLError

from graphql_api.domain.errors import CouponError, ErrorCode
from graphql_api.schema import enums  # noqa: F401  # registers ErrorCode as a GraphQL enum


@strawberry.type(name="CouponError", description="A business failure; clients branch on `code`.")
class CouponErrorType:
    code: ErrorCode = strawberry.field(description="What went wrong, as a stable code.")
    field: str | None = strawberry.field(
        description="The input field at fault, camelCase, when there is one."
    )
    message: str = strawberry.field(description="An explanation for people; may change.")

    @classmethod
    def from_error(cls, error: CouponError) -> CouponErrorType:
        return cls(code=error.code, field=error.field, message=error.message)


class PublicError(GraphQLError):
    """A GraphQL error meant for the client: never masked."""


def argument_error(error: CouponError) -> PublicError:
    extensions: dict[str, object] = {"code": error.code.value}
    if error.field is not None:
        extensions["field"] = error.field
    return PublicError(error.message, extensions=extensions)


@contextmanager
def arguments_checked(*codes: ErrorCode) -> Iterator[None]:
    """Bad arguments of a query without an `errors` list become a top-level GraphQL error;
    so do the refusals of `codes` (INVALID_INPUT when none is named)."""
    try:
        yield
    except CouponError as error:
        if error.code not in (codes or (ErrorCode.INVALID_INPUT,)):
            raise
        raise argument_error(error) from None
