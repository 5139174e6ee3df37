"""Campaigns: creating them, pausing and resuming them, and reading them and their codes."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from db.engine import Database
from db.queries import campaigns, coupons, events
from graphql_api.domain.campaign_rules import NewCampaign
from graphql_api.domain.campaigns import Campaign
from graphql_api.domain.coupons import Coupon
from graphql_api.domain.errors import CouponError, ErrorCode
from graphql_api.domain.pagination import Page, PageRequest
from graphql_api.services.paging import keyset, page_of
from graphql_api.services.records import to_campaign, to_coupon


async def create_campaign(db: Database, new: NewCampaign) -> Campaign:
    """Write the campaign and its `campaign.created` event, in one transaction."""
    values = {
        "name": new.name,
        "description": new.description,
        "discount_type": new.terms.discount_type.value,
        "discount_value": new.terms.discount_value,
        "max_discount_amount": new.terms.max_discount_amount,
        "min_order_value": new.min_order_value,
        "valid_from": new.valid_from,
        "valid_until": new.valid_until,
        "max_uses_per_code": new.max_uses_per_code,
        "max_uses_per_user": new.max_uses_per_user,
        "max_total_uses": new.max_total_uses,
        "max_total_discount": new.max_total_discount,
        "created_by": new.created_by,
    }
    async with db.transaction() as session:
        row = await campaigns.insert_campaign(session, values)
        await events.append_campaign_created(session, row.id)
    return to_campaign(row._mapping)


async def set_active(db: Database, campaign_id: UUID, *, active: bool) -> Campaign:
    """Deactivate (its codes answer INACTIVE) or activate (INACTIVE becomes ACTIVE)."""
    async with db.single_statement() as session:
        row = await campaigns.set_active(session, campaign_id, active=active)
    if row is None:
        raise CouponError(ErrorCode.NOT_FOUND, f"No campaign with id {campaign_id}", "id")
    return to_campaign(row._mapping)


async def campaigns_by_ids(db: Database, ids: Sequence[UUID]) -> dict[UUID, Campaign]:
    async with db.single_statement() as session:
        rows = await campaigns.campaigns_by_ids(session, ids)
    return {row.id: to_campaign(row._mapping) for row in rows}


async def campaigns_page(db: Database, page: PageRequest) -> Page[Campaign]:
    async with db.single_statement() as session:
        rows = await campaigns.campaigns_page(session, page.first, keyset(page))
    return page_of(rows, page.first, to_campaign)


async def count_campaigns(db: Database) -> int:
    async with db.single_statement() as session:
        return await campaigns.count_campaigns(session)


async def campaign_codes(
    db: Database,
    campaign_id: UUID,
    page: PageRequest,
    *,
    redeemed: bool | None,
    assigned: bool | None,
) -> Page[Coupon]:
    async with db.single_statement() as session:
        rows = await coupons.campaign_codes_page(
            session, campaign_id, page.first, keyset(page), redeemed=redeemed, assigned=assigned
        )
    return page_of(rows, page.first, to_coupon)


async def count_campaign_codes(
    db: Database, campaign: Campaign, *, redeemed: bool | None, assigned: bool | None
) -> int:
    """Unfiltered, the campaign's own counter; filtered, a count of its rows."""
    if redeemed is None and assigned is None:
        return campaign.code_count
    async with db.single_statement() as session:
        return await coupons.count_campaign_codes(
            session, campaign.id, redeemed=redeemed, assigned=assigned
        )
