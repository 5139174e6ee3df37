-- The limit for W3: the same function over 10,000 coupons (-D coupons=N), one round trip
-- per redemption.
\set n random(1, 2000000000)
\set c random(0, :coupons - 1)
SELECT outcome FROM coupon_redeem('REDEEM', 'BENCH-P' || lpad(:c::text, 5, '0'), :run::text || '-pg-' || :client_id || '-' || :n, :run::text || '-pg-' || :client_id || '-' || :n, 50.00, '198.51.100.7', 'pgbench', ARRAY['user:' || :run::text || '-pg-' || :client_id || '-' || :n, 'ip:198.51.100.7'], 10, interval '60 seconds', NULL);
