-- event_campaign: a campaign as events carry it (the Campaign type's names), or JSON null
-- for a coupon of no campaign (k all NULL).
CREATE OR REPLACE FUNCTION event_campaign(k campaigns) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN k.id IS NULL THEN 'null'::jsonb ELSE jsonb_build_object(
        'id', k.id,
        'name', k.name,
        'status', campaign_status(k),
        'discountType', k.discount_type,
        'discountValue', k.discount_value::text,
        'maxDiscountAmount', k.max_discount_amount::text,
        'minOrderValue', k.min_order_value::text,
        'validFrom', event_time(k.valid_from),
        'validUntil', event_time(k.valid_until),
        'maxUsesPerCode', k.max_uses_per_code,
        'maxUsesPerUser', k.max_uses_per_user,
        'maxTotalUses', k.max_total_uses,
        'maxTotalDiscount', k.max_total_discount::text,
        'totalUses', k.total_uses,
        'totalDiscount', k.total_discount::text,
        'codeCount', k.code_count
    ) END
$$;
