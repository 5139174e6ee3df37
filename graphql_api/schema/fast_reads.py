"""A compiled path for the hottest read: `couponByCode` with plain fields.

A storefront asks for a coupon by its code on every checkout page, always with the same
document. GraphQL execution costs far more than the one indexed lookup behind it, so a
document of exactly that shape is checked once, against the same limits, and compiled to
a plan: look the coupon up, pick the fields, serialize them with the schema's own
scalars. Anything else, and anything that goes wrong, takes the ordinary path, which
then answers exactly as it always does; a test compares the two paths' answers.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    VariableNode,
    parse,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.hot import HotPool
from graphql_api.domain.codes import MAX_CODE_LENGTH
from graphql_api.domain.inputs import check_text
from graphql_api.schema import MAX_ALIASES, MAX_TOKENS
from graphql_api.schema.scalars import serialize_datetime, serialize_decimal
from graphql_api.schema.types import CouponNode
from graphql_api.services.coupon_queries import coupon_by_code

# GraphQL name -> attribute of CouponNode, for every leaf field of Coupon.
LEAVES = {
    "id": "id",
    "code": "code",
    "type": "type",
    "discountType": "discount_type",
    "discountValue": "discount_value",
    "maxDiscountAmount": "max_discount_amount",
    "minOrderValue": "min_order_value",
    "description": "description",
    "userId": "user_id",
    "validFrom": "valid_from",
    "validUntil": "valid_until",
    "maxUsesPerUser": "max_uses_per_user",
    "maxTotalUses": "max_total_uses",
    "currentTotalUses": "current_total_uses",
    "status": "status",
    "createdBy": "created_by",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "__typename": "__typename",
}
MAX_PLANS = 256
MAX_BODY = 64 * 1024  # a couponByCode document is small; larger ones take the ordinary path


@dataclass(frozen=True, slots=True)
class Plan:
    operation_name: str | None
    response_key: str
    code_literal: str | None
    code_variable: str | None
    fields: tuple[tuple[str, str], ...]  # (response key, CouponNode attribute)


def compile_plan(query: str) -> Plan | None:
    """A plan when `query` is one couponByCode lookup of leaf fields, else None."""
    try:
        document = parse(query, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None
    return _plan(document)


def _plan(document: DocumentNode) -> Plan | None:
    if len(document.definitions) != 1:
        return None
    operation = document.definitions[0]
    if (
        not isinstance(operation, OperationDefinitionNode)
        or operation.operation is not OperationType.QUERY
        or operation.directives
        or len(operation.selection_set.selections) != 1
    ):
        return None
    root = operation.selection_set.selections[0]
    if (
        not isinstance(root, FieldNode)
        or root.name.value != "couponByCode"
        or root.directives
        or root.selection_set is None
    ):
        return None
    arguments = root.arguments or ()
    if len(arguments) != 1 or arguments[0].name.value != "code":
        return None
    argument = arguments[0].value
    literal = variable = None
    variables = {d.variable.name.value: d for d in operation.variable_definitions or ()}
    if isinstance(argument, StringValueNode):
        literal = argument.value
        if variables:
            return None  # an unused variable is a validation error: let validation say so
    elif isinstance(argument, VariableNode):
        variable = argument.name.value
        definition = variables.get(variable)
        if (
            len(variables) != 1
            or definition is None
            or definition.default_value is not None
            or definition.directives
            or not isinstance(definition.type, NonNullTypeNode)
            or not isinstance(definition.type.type, NamedTypeNode)
            or definition.type.type.name.value != "String"
        ):
            return None
    else:
        return None
    fields: list[tuple[str, str]] = []
    aliases = int(root.alias is not None)
    for selection in root.selection_set.selections:
        if (
            not isinstance(selection, FieldNode)
            or selection.name.value not in LEAVES
            or selection.arguments
            or selection.directives
            or selection.selection_set is not None
        ):
            return None
        key = (selection.alias or selection.name).value
        if any(key == seen for seen, _ in fields):
            return None  # field merging rules: leave them to the ordinary path
        aliases += selection.alias is not None
        fields.append((key, LEAVES[selection.name.value]))
    if aliases > MAX_ALIASES:
        return None
    name = None if operation.name is None else operation.name.value
    return Plan(name, (root.alias or root.name).value, literal, variable, tuple(fields))


def _leaf(node: CouponNode, attribute: str) -> Any:
    if attribute == "__typename":
        return "Coupon"
    value = getattr(node, attribute)
    if isinstance(value, Decimal):
        return serialize_decimal(value)
    if isinstance(value, datetime):
        return serialize_datetime(value)
    if isinstance(value, Enum):
        return value.value
    return value


class FastReads:
    """ASGI middleware in front of /graphql: answers planned documents, passes the rest on."""

    def __init__(self, app: ASGIApp, hot: HotPool) -> None:
        self.app = app
        self.hot = hot
        self.plans: OrderedDict[str, Plan | None] = OrderedDict()

    def plan(self, query: str) -> Plan | None:
        if query in self.plans:
            self.plans.move_to_end(query)
            return self.plans[query]
        plan = compile_plan(query)
        self.plans[query] = plan
        if len(self.plans) > MAX_PLANS:
            self.plans.popitem(last=False)
        return plan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != "/graphql"
            or not _is_json(scope)
        ):
            await self.app(scope, receive, send)
            return
        body, messages = await _read_body(receive)
        # Only a document that names couponByCode can have a plan: others skip the parse.
        planned = body is not None and b"couponByCode" in body
        answer = await self._answer(body, scope) if planned and body is not None else None
        if answer is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(answer)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    async def _answer(self, body: bytes, scope: Scope) -> bytes | None:
        try:
            request = json.loads(body)
        except ValueError:
            return None
        if not isinstance(request, dict) or not isinstance(request.get("query"), str):
            return None
        if request.keys() - {"query", "variables", "operationName", "extensions"}:
            return None
        plan = self.plan(request["query"])
        operation_name = request.get("operationName")
        if plan is None or operation_name not in (None, plan.operation_name):
            return None
        code = plan.code_literal
        if plan.code_variable is not None:
            variables = request.get("variables")
            code = variables.get(plan.code_variable) if isinstance(variables, dict) else None
        if not isinstance(code, str):
            return None
        try:
            check_text(code, "code", max_length=MAX_CODE_LENGTH)
            coupon = await coupon_by_code(self.hot, code)
        except Exception:  # bad input or an outage: the ordinary path answers
            return None
        data: dict[str, Any] | None = None
        if coupon is not None:
            node = CouponNode.from_domain(coupon)
            data = {key: _leaf(node, attribute) for key, attribute in plan.fields}
        scope.setdefault("state", {})["graphql"] = {
            "operation_name": operation_name[:100] if isinstance(operation_name, str) else None,
            "root_fields": "couponByCode",
            "outcome": "ok",
        }
        return orjson.dumps({"data": {plan.response_key: data}})


def _is_json(scope: Scope) -> bool:
    content_type: bytes = dict(scope["headers"]).get(b"content-type", b"")
    return content_type.split(b";")[0].strip().lower() == b"application/json"


async def _read_body(receive: Receive) -> tuple[bytes | None, list[Message]]:
    """The whole body (None when it is too large to be a planned document) and the
    messages read, so that the ordinary path can be handed the same stream."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None, messages
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if size > MAX_BODY:
            return None, messages
        if not message.get("more_body", False):
            return b"".join(chunks), messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
