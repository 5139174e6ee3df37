"""Every worked example in the README runs, in order, against the real service."""

from __future__ import annotations

import json
import re

from tests.support.servers import REPO

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
        "redeemCoupon",
        "couponByCode",
        "coupon(",
        "userCoupons",
        "activeCampaigns",
        "userUsages",
        "deactivateCoupon",
        "activateCoupon",
    ):
        assert operation in documents, operation


def test_the_readme_examples_succeed(gql):
    campaign_id = None
    examples = readme_examples()
    assert examples
    for document, variables in examples:
        # one named operation each, sent as a reader would paste it: no operationName
        names = OPERATION.findall(document)
        assert len(names) == 1, f"an example must hold exactly one operation:\n{document}"
        [name] = names
        if "id" in variables and campaign_id is not None:
            variables = {**variables, "id": campaign_id}
        body = gql.post(document, variables).json()
        assert "errors" not in body, (name, body)
        for payload in body["data"].values():
            if isinstance(payload, dict) and "errors" in payload:
                assert payload["errors"] == [], (name, payload)
        if name == "CreateTimedCoupon":
            campaign_id = body["data"]["createTimedCoupon"]["coupon"]["id"]
