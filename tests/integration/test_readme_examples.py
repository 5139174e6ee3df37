"""Every worked example in the README runs, in order, against the real service."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from standardwebhooks.webhooks import Webhook

from graphql_api.domain.webhooks import WebhookPolicy
from graphql_api.services.webhook_sender import WebhookSender, webhook_body
from tests.support.database import Database
from tests.support.graphql import GraphQLClient
from tests.support.receivers import http_receiver
from tests.support.servers import REPO

README = (REPO / "README.md").read_text()

BLOCK = re.compile(r"```(graphql|json)\n(.*?)```", re.S)
OPERATION = re.compile(r"^(?:query|mutation) (\w+)", re.M)


def readme_examples() -> list[tuple[str, dict]]:
    blocks = BLOCK.findall((REPO / "README.md").read_text())
    return [
        (document, json.loads(blocks[i + 1][1]))
        for i, (kind, document) in enumerate(blocks[:-1])
        if kind == "graphql" and blocks[i + 1][0] == "json"
    ]


def test_every_operation_has_a_worked_example():
    documents = "\n".join(document for document, _ in readme_examples())
    for operation in (
        "createUserCoupon",
        "createTimedCoupon",
        "validateCoupon",
        "applicableCoupons",
        "redeemCoupon",
        "couponByCode",
        "coupon(",
        "userCoupons",
        "activeCampaigns",
        "userUsages",
        "deactivateCoupon",
        "activateCoupon",
        "createCampaign",
        "generateCodes",
        "codeGenerationJob",
        "campaign(",
        "reserveCoupon",
        "reservation(",
        "rollbackRedemption",
        "assignCode",
        "events(",
        "createWebhookEndpoint",
        "webhookEndpoints",
    ):
        assert operation in documents, operation


class Walkthrough:
    """What the examples hand on to each other, as a reader would copy it from one answer
    into the next example: the coupon's id, the campaign's id, the job's id, a code."""

    def __init__(self) -> None:
        self.coupon_id: str | None = None
        self.campaign_id: str | None = None
        self.job_id: str | None = None
        self.codes: dict[str, str] = {}  # the README's made-up codes to real ones
        self.generated: list[str] = []

    def variables(self, name: str, variables: dict[str, Any]) -> dict[str, Any]:
        campaign_documents = ("CampaignCodes", "CampaignCounters")
        if name in ("Pause", "Resume") and self.coupon_id is not None:
            return {**variables, "id": self.coupon_id}
        if name in campaign_documents and self.campaign_id is not None:
            return {**variables, "id": self.campaign_id}
        if name in ("GenerateCodes", "AssignCode"):
            return {"input": {**variables["input"], "campaignId": self.campaign_id}}
        if name == "CodeGenerationJob":
            return {"id": self.job_id}
        if name == "Hook":
            # the reader's own receiver; the suite's service has no DNS, and this address
            # is public, so it is taken without resolving (nothing is sent: no worker
            # delivers to it before the test ends, and a failed attempt is harmless)
            return {"input": {**variables["input"], "url": "https://93.184.216.34/events"}}
        made_up = variables.get("input", {}).get("code", "")
        if made_up.startswith("SPRING-"):
            if made_up not in self.codes:
                self.codes[made_up] = self.generated[len(self.codes)]
            return {"input": {**variables["input"], "code": self.codes[made_up]}}
        return variables

    def learn(self, name: str, data: dict[str, Any]) -> None:
        if name == "CreateTimedCoupon":
            self.coupon_id = data["createTimedCoupon"]["coupon"]["id"]
        elif name == "CreateCampaign":
            self.campaign_id = data["createCampaign"]["campaign"]["id"]
        elif name == "GenerateCodes":
            self.job_id = data["generateCodes"]["job"]["id"]
        elif name == "CampaignCodes":
            self.generated = [edge["node"]["code"] for edge in data["campaign"]["codes"]["edges"]]


def until_the_job_finished(gql: GraphQLClient, document: str, variables: dict[str, Any]) -> Any:
    """The reader follows the job until it is done."""
    deadline = time.monotonic() + 60
    while True:
        body = gql.post(document, variables).json()
        if body["data"]["codeGenerationJob"]["status"] in ("SUCCEEDED", "FAILED"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def test_the_readme_examples_succeed(gql: GraphQLClient, clean_db: Database) -> None:
    walkthrough = Walkthrough()
    examples = readme_examples()
    assert examples
    for document, variables in examples:
        # one named operation each, sent as a reader would paste it: no operationName
        names = OPERATION.findall(document)
        assert len(names) == 1, f"an example must hold exactly one operation:\n{document}"
        [name] = names
        variables = walkthrough.variables(name, variables)
        if name == "CodeGenerationJob":
            body = until_the_job_finished(gql, document, variables)
        else:
            body = gql.post(document, variables).json()
        assert "errors" not in body, (name, body)
        for payload in body["data"].values():
            if isinstance(payload, dict) and "errors" in payload:
                assert payload["errors"] == [], (name, payload)
        walkthrough.learn(name, body["data"])
        if name == "HoldThatWillExpire":
            # "A minute later", without the minute: the hold's moments move an hour back.
            clean_db.execute(
                "UPDATE coupon_reservations SET created_at = created_at - interval '1 hour',"
                " expires_at = expires_at - interval '1 hour' WHERE order_id = 'order-2002'"
            )
        if name == "Reservation":
            assert body["data"]["reservation"]["status"] == "EXPIRED", body
        if name == "RollbackRedemption":
            assert body["data"]["rollbackRedemption"]["usage"]["status"] == "ROLLED_BACK"
        if name == "Feed":
            types = [edge["node"]["type"] for edge in body["data"]["events"]["edges"]]
            assert set(types) == {"redemption.succeeded", "redemption.rolled_back"}, types
        if name == "CampaignCounters":
            # one redemption stands (the second), one was rolled back; no live hold
            counters = body["data"]["campaign"]
            assert (counters["totalUses"], counters["heldUses"]) == (1, 0), counters
            assert counters["totalDiscount"] == "10.00", counters
            assert counters["codeCount"] == 1000, counters


def test_the_readmes_receiver_verifies_a_real_delivery() -> None:
    """The README's few lines of receiver code, run on a delivery this service made."""
    [snippet] = re.findall(r"```python\n(from standardwebhooks.*?)```", README, re.S)
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    handled: list[tuple[str, Any]] = []
    scope: dict[str, Any] = {"SECRET": secret, "handle": lambda *event: handled.append(event)}
    exec(snippet, scope)  # noqa: S102  # the README's own code, which is the point

    async def deliver(url: str) -> None:
        async with WebhookSender(WebhookPolicy(allow_private=True, timeout=5)) as sender:
            body = webhook_body("coupon.created", datetime.now(UTC), '{"coupon": {"code": "A"}}')
            made = await sender.send(uuid4(), url, Webhook(secret), "evt-1", body)
            assert made.ok, made

    with http_receiver() as receiver:
        asyncio.run(deliver(receiver.url))
    [request] = receiver.received
    assert scope["receive"](request.body, request.headers) == 204
    assert handled == [("coupon.created", {"coupon": {"code": "A"}})]
    assert scope["receive"](request.body.replace(b"A", b"B"), request.headers) == 400
