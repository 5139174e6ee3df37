-- coupon_release: releaseReservation. The order's newest reservation: HELD becomes
-- RELEASED and frees its use at once; one already RELEASED or EXPIRED is answered
-- unchanged (a HELD row past its expiry is written down as EXPIRED on the way);
-- REDEEMED is ALREADY_REDEEMED; an order with no reservation is NOT_FOUND. The change
-- writes its event (reservation.released, or reservation.expired) in the same transaction.
CREATE OR REPLACE FUNCTION coupon_release(p_order_id text)
RETURNS TABLE (outcome text, reservation coupon_reservations)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    h coupon_reservations%ROWTYPE;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('coupon-order:' || p_order_id, 0));
    SELECT * INTO h FROM coupon_reservations WHERE order_id = p_order_id
    ORDER BY created_at DESC, id DESC LIMIT 1
    FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'NOT_FOUND';
    ELSIF h.status = 'REDEEMED' THEN
        outcome := 'ALREADY_REDEEMED';
        h := NULL;
    ELSE
        IF h.status = 'HELD' THEN
            UPDATE coupon_reservations SET
                status = CASE WHEN expires_at > now() THEN 'RELEASED'
                              ELSE 'EXPIRED' END::reservation_status,
                ended_at = now()
            WHERE id = h.id
            RETURNING * INTO h;
            PERFORM event_reservation_ended(
                CASE WHEN h.status = 'RELEASED' THEN 'reservation.released'
                     ELSE 'reservation.expired' END, h);
        END IF;
        outcome := 'OK';
    END IF;
    reservation := h;
    RETURN NEXT;
END
$$;
