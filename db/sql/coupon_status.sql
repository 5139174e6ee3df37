-- coupon_status: a coupon's effective status, on the database's clock. The one home of
-- the rule (the contract's "Status"): every read and every redemption asks it.
--
-- The first of INACTIVE, EXPIRED, EXHAUSTED that applies, else ACTIVE. A campaign's code
-- also takes its campaign's status: a paused campaign pauses its codes, a spent budget
-- exhausts them. Live holds do not change a status: they refuse the next use instead.
CREATE OR REPLACE FUNCTION coupon_status(c coupons) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN c.status = 'INACTIVE' OR s.campaign = 'INACTIVE' THEN 'INACTIVE'
        WHEN c.status = 'EXPIRED' OR c.valid_until <= now() OR s.campaign = 'EXPIRED'
            THEN 'EXPIRED'
        WHEN c.status = 'EXHAUSTED' OR c.current_total_uses >= c.max_total_uses
            OR s.campaign = 'EXHAUSTED'
            THEN 'EXHAUSTED'
        ELSE 'ACTIVE'
    END
    FROM (
        SELECT (SELECT campaign_status(k) FROM campaigns k WHERE k.id = c.campaign_id)
            AS campaign
    ) AS s
$$;
