"""The one adapter from a refused operation to its payload.

Services raise `CouponError`; no resolver catches it. A field that answers a payload
(`CouponPayload`, `RedeemCouponPayload`, ...) carries this extension, which turns the
error into that payload's `failed(error)`: a null object and one entry in `errors`. The
shape of the contract's payloads is thus built in one place (as Saleor's
`BaseMutation.mutate` does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, cast

from strawberry.extensions.field_extension import AsyncExtensionResolver, FieldExtension
from strawberry.types.field import StrawberryField

from graphql_api.domain.errors import CouponError


class Refusable(Protocol):
    @classmethod
    def failed(cls, error: CouponError) -> Any: ...


class RefusalsAsPayload(FieldExtension):
    """`on_refusal`: called with each error before it is answered (for metrics)."""

    def __init__(self, on_refusal: Callable[[CouponError], None] | None = None) -> None:
        self.on_refusal = on_refusal
        self.payload: type[Refusable] | None = None

    def apply(self, field: StrawberryField) -> None:
        self.field = field

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Any, **kwargs: Any
    ) -> Any:
        try:
            return await next_(source, info, **kwargs)
        except CouponError as error:
            if self.on_refusal is not None:
                self.on_refusal(error)
            return self._payload().failed(error)

    def _payload(self) -> type[Refusable]:
        if self.payload is None:
            payload: Any = self.field.type
            if not hasattr(payload, "failed"):
                raise TypeError(f"{self.field.name} does not answer a payload")
            self.payload = payload
        return cast(type[Refusable], self.payload)


def refusals_as_payload(
    on_refusal: Callable[[CouponError], None] | None = None,
) -> list[FieldExtension]:
    """The `extensions=` of a field that answers a payload."""
    return [RefusalsAsPayload(on_refusal)]
