-- The limit for W2: the service's own redemption function, one round trip per redemption,
-- on the one hot coupon, a new user and order each time.
\set n random(1, 2000000000)
SELECT outcome FROM coupon_redeem('REDEEM', 'BENCH-HOT', :run::text || '-pg-' || :client_id || '-' || :n, :run::text || '-pg-' || :client_id || '-' || :n, 50.00, '198.51.100.7', 'pgbench', ARRAY['user:' || :run::text || '-pg-' || :client_id || '-' || :n, 'ip:198.51.100.7'], 10, interval '60 seconds', NULL);
