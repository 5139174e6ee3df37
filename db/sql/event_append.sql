-- event_append: the outbox. Records one event in the calling transaction, so the event
-- commits or vanishes with the change it reports (contract, "Events"). Called while the
-- change's own locks are held: events of one coupon are numbered (`sequence`) in the order
-- their changes took the coupon, which is the order the feed and webhooks keep
-- (services/events.py numbers them into `position` once committed).
--
-- PL/pgSQL, not SQL: its INSERT is planned once per connection, where a SQL function's is
-- planned again at every call from another function (a quarter of a hot coupon's rate,
-- measured with pgbench).
CREATE OR REPLACE FUNCTION event_append(
    p_type text, p_coupon_id uuid, p_campaign_id uuid, p_data jsonb
) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (type, coupon_id, campaign_id, data)
    VALUES (p_type, p_coupon_id, p_campaign_id, p_data);
END
$$;
