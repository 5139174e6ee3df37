"""Every paged list of the schema, and the scope its cursors are bound to."""

from __future__ import annotations

from dataclasses import dataclass

from graphql_api.domain.pagination import ListScope


@dataclass(frozen=True, slots=True)
class PagedList:
    name: str  # the field as documents spell it
    owner: str  # the type that has the field
    argument: str | None  # the argument whose value chooses the rows, if any
    by_parent: bool = False  # whether the parent object chooses the rows
    numbered: bool = False  # cursors hold a position number (encode_feed_cursor)

    def scope(self, *chosen_by: str) -> ListScope:
        """The cursor scope for this list with these argument (or parent) values."""
        return ListScope(f"{self.owner}.{self.name}", chosen_by)


USER_COUPONS = PagedList("userCoupons", "Query", "userId")
ACTIVE_CAMPAIGNS = PagedList("activeCampaigns", "Query", None)
USER_USAGES = PagedList("userUsages", "Query", "userId")
COUPON_USAGES = PagedList("usages", "Coupon", None, by_parent=True)
CAMPAIGNS = PagedList("campaigns", "Query", None)
# Chosen by the campaign and by the `redeemed` and `assigned` filters.
CAMPAIGN_CODES = PagedList("codes", "Campaign", None, by_parent=True)
# Oldest first; any `types` filter may follow any cursor (positions are the feed's own).
EVENTS = PagedList("events", "Query", None, numbered=True)
WEBHOOK_ENDPOINTS = PagedList("webhookEndpoints", "Query", None)
WEBHOOK_DELIVERIES = PagedList("deliveries", "WebhookEndpoint", None, by_parent=True, numbered=True)

PAGED_LISTS = {
    paged.name: paged
    for paged in (
        USER_COUPONS,
        ACTIVE_CAMPAIGNS,
        USER_USAGES,
        COUPON_USAGES,
        CAMPAIGNS,
        CAMPAIGN_CODES,
        EVENTS,
        WEBHOOK_ENDPOINTS,
        WEBHOOK_DELIVERIES,
    )
}
