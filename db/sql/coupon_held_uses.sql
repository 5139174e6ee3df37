-- coupon_held_uses: a coupon's live holds, the ones that count against its limits now.
-- A HELD row past its expires_at no longer counts, whether or not the sweep has been.
-- PL/pgSQL, not SQL: its plan is prepared once per connection, not once per query.
CREATE OR REPLACE FUNCTION coupon_held_uses(c coupons) RETURNS integer
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT count(*) FROM coupon_reservations r
        WHERE r.coupon_id = c.id AND r.status = 'HELD' AND r.expires_at > now()
    );
END
$$;
