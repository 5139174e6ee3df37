-- reservation_status: HELD until expires_at, EXPIRED from then on, whether or not the
-- sweep has written it down yet; REDEEMED and RELEASED as written.
CREATE OR REPLACE FUNCTION reservation_status(r coupon_reservations) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN r.status = 'HELD' AND r.expires_at <= now() THEN 'EXPIRED'
        ELSE r.status::text
    END
$$;
