-- campaign_held_uses: live holds on any of a campaign's codes (see coupon_held_uses).
CREATE OR REPLACE FUNCTION campaign_held_uses(k campaigns) RETURNS integer
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT count(*) FROM coupon_reservations r
        WHERE r.campaign_id = k.id AND r.status = 'HELD' AND r.expires_at > now()
    );
END
$$;
