-- event_coupon: a coupon as events carry it, named as the Coupon type's fields are, money as
-- Decimal strings. p_status is its status as the caller computed it (coupon_status).
CREATE OR REPLACE FUNCTION event_coupon(c coupons, p_status text) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object(
        'id', c.id,
        'code', c.code,
        'type', c.type,
        'status', p_status,
        'discountType', c.discount_type,
        'discountValue', c.discount_value::text,
        'maxDiscountAmount', c.max_discount_amount::text,
        'minOrderValue', c.min_order_value::text,
        'userId', c.user_id,
        'campaignId', c.campaign_id,
        'validFrom', event_time(c.valid_from),
        'validUntil', event_time(c.valid_until),
        'maxUsesPerUser', c.max_uses_per_user,
        'maxTotalUses', c.max_total_uses,
        'currentTotalUses', c.current_total_uses,
        'rolledBackUses', c.rolled_back_uses
    )
$$;
