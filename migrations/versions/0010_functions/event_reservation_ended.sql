-- event_reservation_ended: appends `p_type` (reservation.released or reservation.expired)
-- for hold `h` as it now is, with its coupon and campaign as they are (read, not locked:
-- ending a hold changes neither).
CREATE OR REPLACE FUNCTION event_reservation_ended(p_type text, h coupon_reservations)
RETURNS void
LANGUAGE sql AS $$
    SELECT event_append(p_type, c.id, c.campaign_id, jsonb_build_object(
        'reservation', event_reservation(h),
        'coupon', event_coupon(c, coupon_status(c, k)),
        'campaign', event_campaign(k)))
    FROM coupons c LEFT JOIN campaigns k ON k.id = c.campaign_id
    WHERE c.id = h.coupon_id
$$;
