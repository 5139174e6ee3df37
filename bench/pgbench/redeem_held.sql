-- A hold, then the redemption that consumes it, over 10,000 coupons (-D coupons=N): run
-- with -r, the second statement's latency is what a redemption costs when it consumes a
-- hold, to compare with redeem_spread.sql's one statement.
\set n random(1, 2000000000)
\set c random(0, :coupons - 1)
SELECT outcome FROM coupon_redeem('RESERVE', 'BENCH-P' || lpad(:c::text, 5, '0'), :run::text || '-ph-' || :client_id || '-' || :n, :run::text || '-ph-' || :client_id || '-' || :n, 50.00, '198.51.100.7', 'pgbench', ARRAY['user:' || :run::text || '-ph-' || :client_id || '-' || :n, 'ip:198.51.100.7'], 10, interval '60 seconds', interval '15 minutes');
SELECT outcome FROM coupon_redeem('REDEEM', 'BENCH-P' || lpad(:c::text, 5, '0'), :run::text || '-ph-' || :client_id || '-' || :n, :run::text || '-ph-' || :client_id || '-' || :n, 50.00, '198.51.100.7', 'pgbench', ARRAY['user:' || :run::text || '-ph-' || :client_id || '-' || :n, 'ip:198.51.100.7'], 10, interval '60 seconds', NULL);
