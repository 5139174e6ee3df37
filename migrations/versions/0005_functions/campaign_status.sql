-- campaign_status: a campaign's effective status, on the database's clock.
--
-- The first of INACTIVE, EXPIRED, EXHAUSTED that applies, else ACTIVE, whether or not a
-- row has been rewritten yet: a window that has closed reads EXPIRED at once, and a budget
-- of uses or of money that is spent reads EXHAUSTED. A campaign that has not started reads
-- ACTIVE (the enum has nothing else for it); redemptions answer NOT_YET_VALID. A null row
-- (a coupon without a campaign) reads null. A plain expression: PostgreSQL inlines it.
CREATE OR REPLACE FUNCTION campaign_status(k campaigns) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN k.id IS NULL THEN NULL
        WHEN k.status = 'INACTIVE' THEN 'INACTIVE'
        WHEN k.status = 'EXPIRED' OR k.valid_until <= now() THEN 'EXPIRED'
        WHEN k.status = 'EXHAUSTED'
            OR k.total_uses >= k.max_total_uses
            OR k.total_discount >= k.max_total_discount
            THEN 'EXHAUSTED'
        ELSE 'ACTIVE'
    END
$$;
