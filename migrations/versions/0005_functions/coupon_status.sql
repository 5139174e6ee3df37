-- coupon_status: a coupon's effective status, on the database's clock. The one home of
-- the rule (the contract's "Status"): every read and every redemption asks it.
--
-- The first of INACTIVE, EXPIRED, EXHAUSTED that applies, else ACTIVE. A campaign's code
-- also takes its campaign's status (k: the coupon's campaign, a null row for a coupon
-- without one): a paused campaign pauses its codes, a spent budget exhausts them. Live
-- holds do not change a status: they refuse the next use instead. A plain expression of
-- its arguments, so PostgreSQL inlines it into the query that calls it.
CREATE OR REPLACE FUNCTION coupon_status(c coupons, k campaigns) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN c.status = 'INACTIVE' OR campaign_status(k) = 'INACTIVE' THEN 'INACTIVE'
        WHEN c.status = 'EXPIRED' OR c.valid_until <= now()
            OR campaign_status(k) = 'EXPIRED' THEN 'EXPIRED'
        WHEN c.status = 'EXHAUSTED' OR c.current_total_uses >= c.max_total_uses
            OR campaign_status(k) = 'EXHAUSTED' THEN 'EXHAUSTED'
        ELSE 'ACTIVE'
    END
$$;
