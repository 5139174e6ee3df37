"""Field access by role: storefront keys may read and redeem, only admin keys may manage."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from graphql_api.context import Info


class AdminOnly(BasePermission):
    message = "This field needs an admin API key"
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012  # strawberry reads it per class

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.caller.is_admin
