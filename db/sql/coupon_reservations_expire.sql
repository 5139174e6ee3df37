-- coupon_reservations_expire: the sweep. Writes EXPIRED on up to p_limit HELD rows whose
-- expires_at has passed, with a `reservation.expired` event for each in the same
-- transaction, and answers them. Nothing waits for it: an expired hold stopped counting the
-- moment it expired. Rows another transaction holds (a redemption consuming its hold) are
-- skipped, not waited for.
CREATE OR REPLACE FUNCTION coupon_reservations_expire(p_limit integer)
RETURNS SETOF coupon_reservations
LANGUAGE plpgsql AS $$
DECLARE
    h coupon_reservations%ROWTYPE;
BEGIN
    FOR h IN
        UPDATE coupon_reservations r SET status = 'EXPIRED', ended_at = now()
        WHERE r.id IN (
            SELECT d.id FROM coupon_reservations d
            WHERE d.status = 'HELD' AND d.expires_at <= now()
            ORDER BY d.expires_at
            LIMIT p_limit
            FOR UPDATE SKIP LOCKED
        )
        RETURNING r.*
    LOOP
        PERFORM event_reservation_ended('reservation.expired', h);
        RETURN NEXT h;
    END LOOP;
END
$$;
