-- event_reservation: a hold as events carry it (the Reservation type's names), with the
-- status the row holds (a HELD row's event is written when it is made).
CREATE OR REPLACE FUNCTION event_reservation(h coupon_reservations) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object(
        'id', h.id,
        'couponId', h.coupon_id,
        'campaignId', h.campaign_id,
        'userId', h.user_id,
        'orderId', h.order_id,
        'orderValue', h.order_value::text,
        'discountAmount', h.discount_amount::text,
        'finalAmount', h.final_amount::text,
        'status', h.status,
        'expiresAt', event_time(h.expires_at),
        'createdAt', event_time(h.created_at),
        'endedAt', event_time(h.ended_at),
        'usageId', h.usage_id
    )
$$;
