-- event_reservation_ended: appends `p_type` (reservation.released or reservation.expired)
-- for hold `h` as it now is, naming its coupon and campaign. Not their counters or status:
-- ending a hold changes none of them, and they are read here without the coupon's lock,
-- so they could be older than those of an event numbered just before this one.
CREATE OR REPLACE FUNCTION event_reservation_ended(p_type text, h coupon_reservations)
RETURNS void
LANGUAGE sql AS $$
    SELECT event_append(p_type, c.id, c.campaign_id, jsonb_build_object(
        'reservation', event_reservation(h),
        'coupon', jsonb_build_object('id', c.id, 'code', c.code, 'campaignId', c.campaign_id)))
    FROM coupons c
    WHERE c.id = h.coupon_id
$$;
