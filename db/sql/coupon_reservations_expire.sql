-- coupon_reservations_expire: the sweep. Writes EXPIRED on up to p_limit HELD rows whose
-- expires_at has passed and answers them (the facts `reservation.expired` events are made
-- of). Nothing waits for it: an expired hold stopped counting the moment it expired. Rows
-- another transaction holds (a redemption consuming its hold) are skipped, not waited for.
CREATE OR REPLACE FUNCTION coupon_reservations_expire(p_limit integer)
RETURNS SETOF coupon_reservations
LANGUAGE sql AS $$
    UPDATE coupon_reservations r SET status = 'EXPIRED', ended_at = now()
    WHERE r.id IN (
        SELECT d.id FROM coupon_reservations d
        WHERE d.status = 'HELD' AND d.expires_at <= now()
        ORDER BY d.expires_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    )
    RETURNING r.*
$$;
