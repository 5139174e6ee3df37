-- coupon_held_uses: a coupon's live holds, the ones that count against its limits now.
-- A HELD row past its expires_at no longer counts, whether or not the sweep has been.
CREATE OR REPLACE FUNCTION coupon_held_uses(c coupons) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT count(*)::integer FROM coupon_reservations r
    WHERE r.coupon_id = c.id AND r.status = 'HELD' AND r.expires_at > now()
$$;
