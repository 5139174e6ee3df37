"""A GraphQL-over-HTTP client for tests that fails loudly on errors nobody expected."""

from __future__ import annotations

from typing import Any

import httpx


class GraphQLClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=60)

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        operation_name: str | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if operation_name is not None:
            body["operationName"] = operation_name
        return self.http.post("/graphql", json=body, headers=headers)

    def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The `data` of a response that must have no top-level errors."""
        response = self.post(query, variables, headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    def errors(self, query: str, variables: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The top-level errors of a response that must have some, checked as `top_errors`
        checks them."""
        response = self.post(query, variables)
        assert response.status_code == 200, response.text
        return top_errors(response)

    def close(self) -> None:
        self.http.close()


def assert_request_error(response: httpx.Response) -> None:
    """A GraphQL request error as the spec has it (HTTP 200, errors, no data), and one the
    client can act on: not dressed as the server's fault."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["errors"]
    assert body.get("data") is None
    for error in body["errors"]:
        assert error["message"] != "Internal server error", error
        assert (error.get("extensions") or {}).get("code") != "INTERNAL_SERVER_ERROR", error


def assert_error_answer(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An answer written outside GraphQL execution, in the contract's one shape: JSON with
    one error carrying `code` and the request id that the X-Request-ID header echoes."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body: dict[str, Any] = response.json()
    assert list(body) == ["errors"], body
    [error] = body["errors"]
    assert isinstance(error["message"], str), error
    assert error["message"], error
    request_id = response.headers["x-request-id"]
    assert error["extensions"] == {"code": code, "requestId": request_id}, error
    return error


def top_errors(response: httpx.Response) -> list[dict[str, Any]]:
    """The top-level errors of a GraphQL answer that has some. Each must name its code and
    the request (contract: every error carries `extensions.code` and the request id that
    X-Request-ID echoes); the request id is then left out, so that tests can compare the
    rest of `extensions` with what they expect."""
    body: dict[str, Any] = response.json()
    assert body.get("errors"), body
    request_id = response.headers["x-request-id"]
    errors: list[dict[str, Any]] = []
    for error in body["errors"]:
        extensions = dict(error.get("extensions") or {})
        assert isinstance(extensions.get("code"), str), error
        assert extensions.pop("requestId", None) == request_id, error
        errors.append({**error, "extensions": extensions})
    return errors
