-- coupon_rollback: rollbackRedemption. The order's live redemption is marked ROLLED_BACK
-- (beside the usage: its amounts are never edited), and in the same transaction the use
-- goes back to the coupon, the user and the campaign, and the discount to the campaign's
-- money budget. An EXHAUSTED coupon or campaign is ACTIVE again while its window is open.
-- The redemption.rolled_back event is written in the same transaction.
--
-- Idempotent: an order whose redemption is already rolled back answers that usage again,
-- replayed, and changes nothing. An order with no redemption is NOT_FOUND. Locks in
-- coupon_redeem's order (the order, the coupon, the campaign).
CREATE OR REPLACE FUNCTION coupon_rollback(p_order_id text, p_reason text)
RETURNS TABLE (
    outcome text,
    replayed boolean,
    coupon coupons,
    coupon_status text,
    usage coupon_usages
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    c coupons%ROWTYPE;
    k campaigns%ROWTYPE;
    u coupon_usages%ROWTYPE;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('coupon-order:' || p_order_id, 0));
    replayed := false;

    SELECT * INTO u FROM coupon_usages WHERE order_id = p_order_id AND rolled_back_at IS NULL;
    IF NOT FOUND THEN
        SELECT * INTO u FROM coupon_usages WHERE order_id = p_order_id
        ORDER BY rolled_back_at DESC LIMIT 1;
        IF NOT FOUND THEN
            outcome := 'NOT_FOUND';
            RETURN NEXT;
            RETURN;
        END IF;
        SELECT * INTO c FROM coupons WHERE id = u.coupon_id;
        SELECT * INTO k FROM campaigns WHERE id = u.campaign_id;
        outcome := 'OK';
        replayed := true;
    ELSE
        PERFORM 1 FROM coupons WHERE id = u.coupon_id FOR UPDATE;
        PERFORM 1 FROM campaigns WHERE id = u.campaign_id FOR UPDATE;

        UPDATE coupon_usages SET rolled_back_at = now(), rollback_reason = p_reason
        WHERE id = u.id
        RETURNING * INTO u;
        UPDATE coupons SET
            current_total_uses = current_total_uses - 1,
            rolled_back_uses = rolled_back_uses + 1,
            status = CASE WHEN status = 'EXHAUSTED'
                               AND (valid_until IS NULL OR valid_until > now())
                          THEN 'ACTIVE' ELSE status END,
            updated_at = now()
        WHERE id = u.coupon_id
        RETURNING * INTO c;
        UPDATE campaigns SET
            total_uses = total_uses - 1,
            total_discount = total_discount - u.discount_applied,
            status = CASE WHEN status = 'EXHAUSTED'
                               AND (valid_until IS NULL OR valid_until > now())
                          THEN 'ACTIVE' ELSE status END,
            updated_at = now()
        WHERE id = u.campaign_id
        RETURNING * INTO k;
        PERFORM event_append('redemption.rolled_back', c.id, c.campaign_id, jsonb_build_object(
            'usage', event_usage(u),
            'coupon', event_coupon(c, coupon_status(c, k)),
            'campaign', event_campaign(k)));
        outcome := 'OK';
    END IF;
    coupon := c;
    coupon_status := coupon_status(c, k);
    usage := u;
    RETURN NEXT;
END
$$;
