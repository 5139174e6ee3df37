-- event_reservation_ended: appends `p_type` (reservation.released or reservation.expired)
-- for hold `h` as it now is, naming its coupon and campaign. Not their counters or status:
-- ending a hold changes none of them, and they are read here without the coupon's lock,
-- so they could be older than those of an event numbered just before this one.
-- PL/pgSQL so that its statement is planned once per connection (see event_append).
CREATE OR REPLACE FUNCTION event_reservation_ended(p_type text, h coupon_reservations)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_code text;
BEGIN
    SELECT c.code INTO v_code FROM coupons c WHERE c.id = h.coupon_id;
    PERFORM event_append(p_type, h.coupon_id, h.campaign_id, jsonb_build_object(
        'reservation', event_reservation(h),
        'coupon', jsonb_build_object(
            'id', h.coupon_id, 'code', v_code, 'campaignId', h.campaign_id)));
END
$$;
