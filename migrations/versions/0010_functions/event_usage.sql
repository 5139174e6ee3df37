-- event_usage: a redemption as events carry it (the Usage type's names): the audit trail.
CREATE OR REPLACE FUNCTION event_usage(u coupon_usages) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object(
        'id', u.id,
        'couponId', u.coupon_id,
        'campaignId', u.campaign_id,
        'userId', u.user_id,
        'orderId', u.order_id,
        'orderValue', u.order_value::text,
        'discountApplied', u.discount_applied::text,
        'finalAmount', u.final_amount::text,
        'usedAt', event_time(u.used_at),
        'ipAddress', host(u.ip_address),
        'userAgent', u.user_agent,
        'status', CASE WHEN u.rolled_back_at IS NULL THEN 'REDEEMED' ELSE 'ROLLED_BACK' END,
        'rolledBackAt', event_time(u.rolled_back_at),
        'rollbackReason', u.rollback_reason
    )
$$;
