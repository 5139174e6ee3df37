"""Compiled paths for the two hottest operations: `couponByCode` and `redeemCoupon`.

A storefront sends the same two documents on every checkout. GraphQL execution costs far
more than the one statement behind each, so a document of exactly one of these shapes is
checked once, against the same limits, and compiled to a plan: read the input, call the
same service the resolver calls, and pick the fields with the schema's own types and
scalars. Which fields a plan may answer is read from the schema (`answerable_fields`):
only those it answers by reading an attribute, with no resolver, no permission class and
no extension; a document that selects any other field (one restricted to admins, say)
takes the ordinary path, whose permission classes decide. A document or input of any
other shape takes the ordinary path before anything runs. Once the service has been
called, the compiled path answers whatever happens, as the ordinary path would: an
unexpected error is logged with the request id and answered masked, never hidden and
never run a second time; the request deadline holds here too. It answers only requests
that passed the API-key check. The integration tests of both documents run on both
paths, as an admin and as a storefront, and a differential test compares their answers.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson
import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    get_named_type,
    parse,
)
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.types.base import StrawberryObjectDefinition

from db.hot import HotPool
from graphql_api.access_log import record_graphql
from graphql_api.client_ip import client_ip_of
from graphql_api.deadline import DeadlineExceededError, within_deadline_in_place
from graphql_api.domain.codes import read_code
from graphql_api.domain.errors import CouponError, ErrorCode
from graphql_api.failures import public_failure
from graphql_api.json_response import error_entry, send_json
from graphql_api.limits import MAX_ALIASES, MAX_TOKENS
from graphql_api.metrics import REDEMPTIONS
from graphql_api.request_body import decoded_object, is_json, read_body, replay
from graphql_api.request_id import current_request_id
from graphql_api.schema.inputs import RedeemCouponInput
from graphql_api.schema.payloads import RedeemCouponPayload
from graphql_api.schema.scalars import parse_decimal, serialize_datetime, serialize_decimal
from graphql_api.schema.types import CouponNode
from graphql_api.services import redemption
from graphql_api.services.coupon_queries import coupon_by_code
from graphql_api.services.guessing import GuessPolicy
from graphql_api.settings import Settings

# The one field the compiled paths answer although its resolver is not a plain read: the
# coupon of a redemption's usage, which the redemption has just returned. Answered only
# while the schema gives that field no permission class and no extension.
RELATED = {("Usage", "coupon")}
INPUT_FIELDS = {
    "code": "code",
    "userId": "user_id",
    "orderId": "order_id",
    "orderValue": "order_value",
    "ipAddress": "ip_address",
    "userAgent": "user_agent",
}
REQUIRED_INPUT = {"code", "userId", "orderId", "orderValue"}
MAX_PLANS = 256
MAX_BODY = 64 * 1024  # the planned documents are small; larger bodies take the ordinary path


@dataclass(frozen=True, slots=True)
class Selection:
    """One field to answer: a leaf (attribute) or an object (its own selections)."""

    key: str
    attribute: str
    children: tuple[Selection, ...] | None = None
    typename: str | None = None  # for __typename


@dataclass(frozen=True, slots=True)
class Plan:
    kind: str  # "lookup" or "redeem"
    operation_name: str | None
    response_key: str
    literal: str | None  # the lookup's code written in the document
    variable: str | None  # the variable holding the code or the redemption input
    selections: tuple[Selection, ...]
    location: dict[str, int]  # the root field's line and column, for error answers

    @property
    def operation_type(self) -> str:
        return "query" if self.kind == "lookup" else "mutation"


# A context for answering one planned request (scope, operation type, operation name):
# graphql_api.tracing's operation span, when tracing is on.
OperationSpan = Callable[[Scope, str, str | None], AbstractContextManager[None]]


def compile_plan(query: str) -> Plan | None:
    """A plan when `query` is one plain lookup or redemption, else None."""
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None
    return _plan(document)


def _plan(document: DocumentNode) -> Plan | None:
    if len(document.definitions) != 1:
        return None
    operation = document.definitions[0]
    if (
        not isinstance(operation, OperationDefinitionNode)
        or operation.directives
        or len(operation.selection_set.selections) != 1
    ):
        return None
    root = operation.selection_set.selections[0]
    if not isinstance(root, FieldNode) or root.directives or root.selection_set is None:
        return None
    if operation.operation is OperationType.QUERY and root.name.value == "couponByCode":
        kind, argument_name, input_type, typename = "lookup", "code", "String", "Coupon"
    elif operation.operation is OperationType.MUTATION and root.name.value == "redeemCoupon":
        kind, argument_name = "redeem", "input"
        input_type, typename = "RedeemCouponInput", "RedeemCouponPayload"
    else:
        return None
    arguments = root.arguments or ()
    if len(arguments) != 1 or arguments[0].name.value != argument_name:
        return None
    variables = {d.variable.name.value: d for d in operation.variable_definitions or ()}
    value = arguments[0].value
    literal = variable = None
    if isinstance(value, StringValueNode) and kind == "lookup" and not variables:
        literal = value.value
    elif isinstance(value, VariableNode):
        variable = value.name.value
        definition = variables.get(variable)
        if (
            len(variables) != 1
            or definition is None
            or definition.default_value is not None
            or definition.directives
            or not isinstance(definition.type, NonNullTypeNode)
            or not isinstance(definition.type.type, NamedTypeNode)
            or definition.type.type.name.value != input_type
        ):
            return None
    else:
        return None
    budget = [MAX_ALIASES - (root.alias is not None)]
    selections = _selections(root.selection_set, typename, budget)
    if selections is None:
        return None
    name = None if operation.name is None else operation.name.value
    start = root.loc.start_token if root.loc is not None else None
    location = {"line": start.line, "column": start.column} if start is not None else {}
    key = (root.alias or root.name).value
    return Plan(kind, name, key, literal, variable, selections, location)


def _selections(
    selection_set: SelectionSetNode, typename: str, budget: list[int]
) -> tuple[Selection, ...] | None:
    leaves, objects = answerable_fields(typename)
    chosen: list[Selection] = []
    keys: set[str] = set()
    for node in selection_set.selections:
        if not isinstance(node, FieldNode) or node.arguments or node.directives:
            return None
        name = node.name.value
        key = (node.alias or node.name).value
        budget[0] -= node.alias is not None
        if key in keys or budget[0] < 0:
            return None  # field merging and the alias limit: the ordinary path decides
        keys.add(key)
        if name == "__typename" and node.selection_set is None:
            chosen.append(Selection(key, name, typename=typename))
        elif name in leaves and node.selection_set is None:
            chosen.append(Selection(key, leaves[name]))
        elif name in objects and node.selection_set is not None:
            attribute, child_typename = objects[name]
            children = _selections(node.selection_set, child_typename, budget)
            if children is None:
                return None
            chosen.append(Selection(key, attribute, children))
        else:
            return None
    return tuple(chosen)


def answerable_fields(
    typename: str, schema: strawberry.Schema | None = None
) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """What the compiled paths may answer of `typename`, read from the schema itself:
    leaves {GraphQL name: attribute} and objects {GraphQL name: (attribute, type name)}.

    Only fields the schema answers by reading an attribute: no resolver, no permission
    class, no extension (a permission class is an extension), and `RELATED`. A field that
    gains a resolver or a permission class drops out of here by itself, and a document that
    selects it takes the ordinary path, which runs the class: the compiled paths can never
    show a caller what GraphQL execution would refuse.
    """
    if schema is None:
        from graphql_api.schema import schema as served  # the package imports this module

        return _served_fields(typename, served)
    return _served_fields(typename, schema)


@functools.cache
def _served_fields(
    typename: str, schema: strawberry.Schema
) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    definition = schema.get_type_by_name(typename)
    graphql_type = schema._schema.get_type(typename)  # strawberry's graphql-core schema
    if not isinstance(definition, StrawberryObjectDefinition) or not isinstance(
        graphql_type, GraphQLObjectType
    ):
        raise TypeError(f"{typename} is not an object type")
    leaves: dict[str, str] = {}
    objects: dict[str, tuple[str, str]] = {}
    for field in definition.fields:
        name = schema.config.name_converter.get_graphql_name(field)
        if name not in graphql_type.fields:
            continue  # strawberry.Private: not in the schema
        guarded = bool(field.permission_classes or field.extensions)
        plain = field.base_resolver is None and not guarded
        named = get_named_type(graphql_type.fields[name].type)
        if isinstance(named, GraphQLObjectType):
            if plain or ((typename, name) in RELATED and not guarded):
                objects[name] = (field.python_name, named.name)
        elif plain:
            leaves[name] = field.python_name
    return leaves, objects


def _value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return serialize_decimal(value)
    if isinstance(value, datetime):
        return serialize_datetime(value)
    if isinstance(value, Enum):
        return value.value
    return value


def _render(source: Any, selections: tuple[Selection, ...], related: dict[str, Any]) -> Any:
    """The answer for `selections` of `source`; `related` holds objects that GraphQL would
    resolve separately (a usage's coupon, already returned by the redemption)."""
    if source is None:
        return None
    if isinstance(source, list):
        return [_render(item, selections, related) for item in source]
    answer: dict[str, Any] = {}
    for selection in selections:
        if selection.typename is not None:
            answer[selection.key] = selection.typename
        elif selection.children is None:
            answer[selection.key] = _value(getattr(source, selection.attribute))
        else:
            child = related.get(selection.attribute, getattr(source, selection.attribute, None))
            answer[selection.key] = _render(child, selection.children, related)
    return answer


class CompiledOperations:
    """ASGI middleware in front of /graphql: answers planned documents, passes the rest on."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        hot: HotPool,
        policy: GuessPolicy,
        operation_span: OperationSpan | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.hot = hot
        self.policy = policy
        self.operation_span = operation_span
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
            or not is_json(scope)
            # Only a caller that passed the API-key check, wherever this sits in the stack.
            or scope.get("state", {}).get("caller") is None
        ):
            await self.app(scope, receive, send)
            return
        body, messages = await read_body(receive, MAX_BODY)
        # Only a document naming one of the two fields can have a plan: others skip parsing.
        call = None
        if body is not None and (b"couponByCode" in body or b"redeemCoupon" in body):
            call = self._prepare(body, scope)
        if call is None:
            await self.app(scope, replay(messages, receive), send)
            return
        if self.operation_span is None:
            answer = await self._answer(call, scope)
        else:
            plan = call.plan
            with self.operation_span(scope, plan.operation_type, plan.operation_name):
                answer = await self._answer(call, scope)
        await send_json(send, 200, answer)

    def _prepare(self, body: bytes, scope: Scope) -> _Call | None:
        """The plan and its input when the request is of a planned shape, else None: then
        the ordinary path answers (also every input error that is not a payload error)."""
        request = decoded_object(body)  # as the view and persisted operations read it
        if request is None or not isinstance(request.get("query"), str):
            return None
        if request.keys() - {"query", "variables", "operationName", "extensions"}:
            return None
        plan = self.plan(request["query"])
        operation_name = request.get("operationName")
        if plan is None or operation_name not in (None, plan.operation_name):
            return None
        variables = request.get("variables") or {}
        if not isinstance(variables, dict):
            return None
        given = plan.literal if plan.variable is None else variables.get(plan.variable)
        work: Awaitable[tuple[Any, str]] | None
        try:
            if plan.kind == "lookup":
                work = self._lookup(plan, read_code(given)) if isinstance(given, str) else None
            else:
                work = self._redeem(plan, given, scope)
        except (CouponError, TypeError, ValueError, ArithmeticError):
            return None  # what GraphQL would refuse before running anything
        return None if work is None else _Call(plan, operation_name, work)

    async def _answer(self, call: _Call, scope: Scope) -> bytes:
        plan = call.plan
        request_id = current_request_id()
        try:
            # Only hot-pool statements: they unwind at once, so the deadline holds in place.
            data, outcome = await within_deadline_in_place(call.work, self.settings.request_timeout)
            answer: dict[str, Any] = {"data": {plan.response_key: data}}
        except DeadlineExceededError as error:
            code, message = public_failure(error, "request deadline")
            answer = {"data": None, "errors": [error_entry(message, code, request_id)]}
            outcome = "unavailable"
        except Exception as error:  # masked and logged as GraphQL execution would
            code, message = public_failure(error, plan.response_key)
            failure = {
                "message": message,
                "locations": [plan.location],
                "path": [plan.response_key],
                "extensions": {"code": code, "requestId": request_id},
            }
            # couponByCode may be null; redeemCoupon's payload may not, so data is null.
            data = {plan.response_key: None} if plan.kind == "lookup" else None
            answer = {"data": data, "errors": [failure]}
            outcome = "unavailable" if code == "SERVICE_UNAVAILABLE" else "internal_error"
        record_graphql(
            scope,
            operation_name=call.operation_name,
            root_fields="couponByCode" if plan.kind == "lookup" else "redeemCoupon",
            outcome=outcome,
        )
        return orjson.dumps(answer)

    async def _lookup(self, plan: Plan, code: str) -> tuple[Any, str]:
        coupon = await coupon_by_code(self.hot, code)
        node = None if coupon is None else CouponNode.from_domain(coupon)
        return _render(node, plan.selections, {}), "ok"

    def _redeem(self, plan: Plan, fields: Any, scope: Scope) -> Awaitable[tuple[Any, str]] | None:
        redeem_input = _redeem_input(fields)
        if redeem_input is None:
            return None
        return self._redeem_checked(plan, redeem_input, scope)

    async def _redeem_checked(
        self, plan: Plan, redeem_input: RedeemCouponInput, scope: Scope
    ) -> tuple[Any, str]:
        client_ip, user_agent = _client(scope, self.settings)
        related: dict[str, Any] = {}
        try:
            request = redeem_input.checked(client_ip, user_agent)
            result = await redemption.redeem_coupon(self.hot, request, self.policy)
        except CouponError as error:
            REDEMPTIONS.labels(error.code.value).inc()
            payload = RedeemCouponPayload.failed(error)
            limited = error.code is ErrorCode.RATE_LIMITED
            return _render(payload, plan.selections, related), (
                "rate_limited" if limited else "refused"
            )
        REDEMPTIONS.labels("REPLAYED" if result.replayed else "OK").inc()
        related["coupon"] = CouponNode.from_domain(result.coupon)
        payload = RedeemCouponPayload.of(result.usage)
        return _render(payload, plan.selections, related), "ok"


@dataclass(slots=True)
class _Call:
    plan: Plan
    operation_name: object
    work: Awaitable[tuple[Any, str]]


def _redeem_input(fields: Any) -> RedeemCouponInput | None:
    """The input as GraphQL would coerce it, or None when coercion would not be plain."""
    if not isinstance(fields, dict) or not REQUIRED_INPUT <= fields.keys() <= INPUT_FIELDS.keys():
        return None
    values: dict[str, Any] = {}
    for name, attribute in INPUT_FIELDS.items():
        value = fields.get(name, strawberry.UNSET)
        if name == "orderValue":
            value = parse_decimal(value)  # raises for what the scalar refuses
        elif value is None and name not in REQUIRED_INPUT:
            pass
        elif value is not strawberry.UNSET and not isinstance(value, str):
            return None
        values[attribute] = value
    return RedeemCouponInput(**values)


def _client(scope: Scope, settings: Settings) -> tuple[str | None, str | None]:
    # The first line, as Starlette's Headers.get reads it for the ordinary path.
    agent = next((value for name, value in scope["headers"] if name == b"user-agent"), None)
    return (
        client_ip_of(scope, settings.proxy_networks),
        None if agent is None else agent.decode("latin-1"),
    )
