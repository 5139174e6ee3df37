-- coupon_redeem: the redemption checks of the contract and their write, in one round trip.
--
-- p_mode is what the caller asks for:
--   VALIDATE  validateCoupon: the checks, no lock and no write (but an unknown code is
--             counted against the guessing limit, which is what makes guessing visible);
--   RESERVE   reserveCoupon: the same checks, then a hold that lasts p_hold_for;
--   REDEEM    redeemCoupon: the same checks, then the usage, the counters and the status.
--             An order's own live hold is consumed: its use moves from held to redeemed.
--
-- Locks, always in this order, so that no two calls wait on each other in a cycle: the
-- order (a transaction-level advisory lock: an order has at most one live reservation or
-- redemption, and those are two tables that no unique index spans), the coupon's row, its
-- campaign's row. Under them every count below is exact: redeemed-and-not-rolled-back
-- plus live holds never passes a limit, for the code, the user and the campaign, and the
-- money spent plus the money held never passes the campaign's budget. Locks last until the
-- calling transaction ends: call it as a statement of its own (autocommit).
--
-- Every statement stays inside one campaign's rows (or one standalone coupon's), except
-- the order lock and the guessing counters: see the README's "Sharding by campaign".
--
-- Events (contract, "Events"), written here so that they commit with the change:
-- reservation.created (and reservation.expired for an order's lapsed hold written down on
-- the way), redemption.succeeded, and coupon.exhausted / campaign.exhausted when this use
-- is the one that wrote EXHAUSTED. VALIDATE writes none.
--
-- outcome is 'OK' or the error code; replayed marks an answer given before (a retried
-- order, a retried hold). coupon_status is the coupon's after the call (its live holds are
-- counted only when a client asks: coupon_held_uses).
CREATE OR REPLACE FUNCTION coupon_redeem(
    p_mode text,
    p_code text,
    p_user_id text,
    p_order_id text,
    p_order_value numeric,
    p_ip_address inet,
    p_user_agent text,
    p_guess_subjects text[],
    p_guess_limit integer,
    p_guess_window interval,
    p_hold_for interval
) RETURNS TABLE (
    outcome text,
    replayed boolean,
    discount numeric,
    final_amount numeric,
    coupon coupons,
    coupon_status text,
    usage coupon_usages,
    reservation coupon_reservations
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    c coupons%ROWTYPE;
    k campaigns%ROWTYPE;
    u coupon_usages%ROWTYPE;
    h coupon_reservations%ROWTYPE;
    v_writes boolean := p_mode <> 'VALIDATE';
    v_outcome text;
    v_replayed boolean := false;
    v_discount numeric;
    v_final numeric;
    v_status text;
    v_failures integer;
    v_own_hold uuid;            -- the order's live hold of this code and user
    v_held_terms boolean := false;  -- ... for this very order value: it stands for the checks
    v_user_uses integer;
    v_user_held integer;
    v_code_held integer;
    v_campaign_user_uses integer;
    v_campaign_user_held integer;
    v_campaign_held integer;
    v_campaign_held_money numeric;
    v_coupon_was text;
    v_campaign_was text;
    v_lapsed coupon_reservations%ROWTYPE;
BEGIN
    IF p_mode NOT IN ('VALIDATE', 'RESERVE', 'REDEEM') THEN
        RAISE EXCEPTION 'coupon_redeem: unknown mode %', p_mode;
    END IF;

    -- Guessing: refused outright while any subject is over the limit in a running window.
    IF EXISTS (
        SELECT 1 FROM guess_counters g
        WHERE g.subject = ANY (p_guess_subjects)
          AND g.failures >= p_guess_limit
          AND g.window_started > now() - p_guess_window
    ) THEN
        outcome := 'RATE_LIMITED';
        replayed := false;
        RETURN NEXT;
        RETURN;
    END IF;

    IF v_writes THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('coupon-order:' || p_order_id, 0));
    END IF;

    -- 2. The code exists and, when it belongs to a user, to this one.
    IF v_writes THEN
        SELECT * INTO c FROM coupons WHERE code = p_code FOR UPDATE;
    ELSE
        SELECT * INTO c FROM coupons WHERE code = p_code;
    END IF;
    IF NOT FOUND OR (c.user_id IS NOT NULL AND c.user_id <> p_user_id) THEN
        -- Counted in sorted order, so two attempts never wait on each other's rows.
        INSERT INTO guess_counters AS g (subject, window_started, failures)
        SELECT s, now(), 1 FROM unnest(p_guess_subjects) AS s ORDER BY s
        ON CONFLICT (subject) DO UPDATE SET
            window_started = CASE WHEN g.window_started <= now() - p_guess_window
                                  THEN now() ELSE g.window_started END,
            failures = CASE WHEN g.window_started <= now() - p_guess_window
                            THEN 1 ELSE g.failures + 1 END;
        SELECT max(g.failures) INTO v_failures
        FROM guess_counters g WHERE g.subject = ANY (p_guess_subjects);
        -- Past the limit, even attempts that passed the check together learn nothing.
        outcome := CASE WHEN v_failures > p_guess_limit THEN 'RATE_LIMITED' ELSE 'NOT_FOUND' END;
        replayed := false;
        RETURN NEXT;
        RETURN;
    END IF;
    IF c.campaign_id IS NOT NULL THEN
        IF v_writes THEN
            SELECT * INTO k FROM campaigns WHERE id = c.campaign_id FOR UPDATE;
        ELSE
            SELECT * INTO k FROM campaigns WHERE id = c.campaign_id;
        END IF;
    END IF;

    -- 3. The order: a live redemption, or a live hold.
    IF p_order_id IS NOT NULL THEN
        SELECT * INTO u FROM coupon_usages
        WHERE order_id = p_order_id AND rolled_back_at IS NULL;
        IF FOUND THEN
            IF u.coupon_id = c.id AND u.user_id = p_user_id AND u.order_value = p_order_value
               AND p_mode <> 'RESERVE' THEN
                v_outcome := 'OK';
                v_replayed := true;
            ELSE
                v_outcome := 'ORDER_ALREADY_USED';
                u := NULL;  -- another redemption's record is not this caller's to see
            END IF;
        ELSE
            IF v_writes THEN
                SELECT * INTO h FROM coupon_reservations
                WHERE order_id = p_order_id AND status = 'HELD' AND expires_at > now()
                FOR UPDATE;
            ELSE
                SELECT * INTO h FROM coupon_reservations
                WHERE order_id = p_order_id AND status = 'HELD' AND expires_at > now();
            END IF;
            IF h.id IS NOT NULL THEN
                IF h.coupon_id <> c.id OR h.user_id <> p_user_id THEN
                    v_outcome := 'ORDER_ALREADY_USED';
                    h := NULL;
                ELSIF p_mode = 'RESERVE' THEN
                    v_outcome := 'OK';  -- a retried hold: the same hold again
                    v_replayed := true;
                ELSE
                    v_own_hold := h.id;
                    v_held_terms := h.order_value = p_order_value;
                END IF;
            END IF;
        END IF;
    END IF;

    IF v_outcome IS NULL AND v_held_terms THEN
        -- The hold was checked and counted when it was made, and stands until it expires,
        -- even past the window's end (the customer was quoted it). Only a pause stops it:
        -- deactivating is how an admin stops a coupon at once.
        v_outcome := CASE WHEN coupon_status(c, k) = 'INACTIVE' THEN 'INACTIVE' ELSE 'OK' END;
        v_discount := h.discount_amount;
        v_final := h.final_amount;
    ELSIF v_outcome IS NULL THEN
        -- PERCENTAGE: order * percent / 100, rounded half-up (round() rounds half away
        -- from zero) to cents, capped; FIXED: the value. Never more than the order.
        IF c.discount_type = 'PERCENTAGE' THEN
            v_discount := round(p_order_value * c.discount_value / 100, 2);
            IF c.max_discount_amount IS NOT NULL THEN
                v_discount := least(v_discount, c.max_discount_amount);
            END IF;
        ELSE
            v_discount := c.discount_value;
        END IF;
        v_discount := least(v_discount, p_order_value);
        v_final := p_order_value - v_discount;

        -- Uses and live holds; the order's own hold is about to become this use.
        SELECT count(*) INTO v_user_uses FROM coupon_usages
        WHERE coupon_id = c.id AND user_id = p_user_id AND rolled_back_at IS NULL;
        SELECT count(*), count(*) FILTER (WHERE user_id = p_user_id)
        INTO v_code_held, v_user_held
        FROM coupon_reservations
        WHERE coupon_id = c.id AND status = 'HELD' AND expires_at > now()
          AND id IS DISTINCT FROM v_own_hold;
        IF k.id IS NOT NULL THEN
            SELECT count(*), count(*) FILTER (WHERE user_id = p_user_id),
                   coalesce(sum(discount_amount), 0)
            INTO v_campaign_held, v_campaign_user_held, v_campaign_held_money
            FROM coupon_reservations
            WHERE campaign_id = k.id AND status = 'HELD' AND expires_at > now()
              AND id IS DISTINCT FROM v_own_hold;
            IF k.max_uses_per_user IS NOT NULL THEN
                SELECT count(*) INTO v_campaign_user_uses FROM coupon_usages
                WHERE campaign_id = k.id AND user_id = p_user_id AND rolled_back_at IS NULL;
            END IF;
        END IF;

        -- 4 to 8: the first that fails is the answer. NULL limits compare to NULL: no limit.
        v_status := coupon_status(c, k);
        v_outcome := CASE
            WHEN v_status = 'INACTIVE' THEN 'INACTIVE'
            WHEN now() < c.valid_from OR now() < k.valid_from THEN 'NOT_YET_VALID'
            WHEN v_status = 'EXPIRED' THEN 'EXPIRED'
            WHEN p_order_value < c.min_order_value THEN 'MIN_ORDER_VALUE_NOT_MET'
            WHEN c.type = 'USER_SPECIFIC' AND v_user_uses + v_user_held >= c.max_uses_per_user
                THEN 'ALREADY_REDEEMED'
            WHEN c.type = 'TIME_SPECIFIC' AND v_user_uses + v_user_held >= c.max_uses_per_user
                THEN 'USER_LIMIT_REACHED'
            WHEN v_campaign_user_uses + v_campaign_user_held >= k.max_uses_per_user
                THEN 'USER_LIMIT_REACHED'
            WHEN v_status = 'EXHAUSTED' THEN 'EXHAUSTED'
            WHEN c.current_total_uses + v_code_held >= c.max_total_uses THEN 'EXHAUSTED'
            WHEN k.total_uses + v_campaign_held >= k.max_total_uses THEN 'EXHAUSTED'
            WHEN k.total_discount + v_campaign_held_money + v_discount > k.max_total_discount
                THEN 'EXHAUSTED'
            ELSE 'OK'
        END;
    END IF;

    IF v_outcome = 'OK' AND NOT v_replayed AND p_mode = 'RESERVE' THEN
        -- An expired hold of this order that the sweep has not reached is written down
        -- first: an order's one HELD row is the new one.
        UPDATE coupon_reservations SET status = 'EXPIRED', ended_at = now()
        WHERE order_id = p_order_id AND status = 'HELD' AND expires_at <= now()
        RETURNING * INTO v_lapsed;
        IF v_lapsed.id IS NOT NULL THEN
            PERFORM event_reservation_ended('reservation.expired', v_lapsed);
        END IF;
        INSERT INTO coupon_reservations (coupon_id, campaign_id, user_id, order_id,
                                         order_value, discount_amount, final_amount,
                                         expires_at, ip_address, user_agent)
        VALUES (c.id, c.campaign_id, p_user_id, p_order_id, p_order_value, v_discount,
                v_final, now() + p_hold_for, p_ip_address, p_user_agent)
        RETURNING * INTO h;
        PERFORM event_append('reservation.created', c.id, c.campaign_id, jsonb_build_object(
            'reservation', event_reservation(h),
            'coupon', event_coupon(c, coupon_status(c, k)),
            'campaign', event_campaign(k)));
    ELSIF v_outcome = 'OK' AND NOT v_replayed AND p_mode = 'REDEEM' THEN
        -- 9. The usage, the counters and the statuses, in this one transaction.
        INSERT INTO coupon_usages (coupon_id, campaign_id, user_id, order_id, order_value,
                                   discount_applied, final_amount, ip_address, user_agent)
        VALUES (c.id, c.campaign_id, p_user_id, p_order_id, p_order_value, v_discount,
                v_final, p_ip_address, p_user_agent)
        RETURNING * INTO u;
        v_coupon_was := c.status;
        v_campaign_was := k.status;
        -- Guarded as well as locked: the count can never pass the limit.
        UPDATE coupons SET
            current_total_uses = current_total_uses + 1,
            status = CASE WHEN status = 'ACTIVE' AND current_total_uses + 1 >= max_total_uses
                          THEN 'EXHAUSTED' ELSE status END,
            updated_at = now()
        WHERE id = c.id
          AND (max_total_uses IS NULL OR current_total_uses < max_total_uses)
        RETURNING * INTO c;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'use count guard refused a checked redemption';
        END IF;
        IF k.id IS NOT NULL THEN
            -- The table's CHECKs are the campaign's guard.
            UPDATE campaigns SET
                total_uses = total_uses + 1,
                total_discount = total_discount + v_discount,
                status = CASE WHEN status = 'ACTIVE'
                                   AND (total_uses + 1 >= max_total_uses
                                        OR total_discount + v_discount >= max_total_discount)
                              THEN 'EXHAUSTED' ELSE status END,
                updated_at = now()
            WHERE id = k.id
            RETURNING * INTO k;
        END IF;
        IF v_own_hold IS NOT NULL THEN
            UPDATE coupon_reservations
            SET status = 'REDEEMED', usage_id = u.id, ended_at = now()
            WHERE id = v_own_hold
            RETURNING * INTO h;
        END IF;
        v_status := coupon_status(c, k);
        PERFORM event_append('redemption.succeeded', c.id, c.campaign_id, jsonb_build_object(
            'usage', event_usage(u),
            'coupon', event_coupon(c, v_status),
            'campaign', event_campaign(k),
            'reservationId', h.id));
        IF c.status = 'EXHAUSTED' AND v_coupon_was <> 'EXHAUSTED' THEN
            PERFORM event_append('coupon.exhausted', c.id, c.campaign_id, jsonb_build_object(
                'coupon', event_coupon(c, v_status),
                'campaign', event_campaign(k),
                'usageId', u.id));
        END IF;
        IF k.status = 'EXHAUSTED' AND v_campaign_was <> 'EXHAUSTED' THEN
            PERFORM event_append('campaign.exhausted', NULL, k.id, jsonb_build_object(
                'campaign', event_campaign(k),
                'usageId', u.id));
        END IF;
    END IF;

    IF v_outcome <> 'OK' THEN
        v_discount := NULL;
        v_final := NULL;
        h := NULL;
    ELSIF u.id IS NOT NULL THEN
        v_discount := u.discount_applied;
        v_final := u.final_amount;
    ELSIF h.id IS NOT NULL AND p_mode = 'RESERVE' THEN
        -- The hold's own amounts (a retried hold answers what it was made with). A
        -- validation of a held order quotes the hold only for the held value (above).
        v_discount := h.discount_amount;
        v_final := h.final_amount;
    END IF;
    outcome := v_outcome;
    replayed := v_replayed;
    discount := v_discount;
    final_amount := v_final;
    coupon := c;
    coupon_status := coupon_status(c, k);
    usage := u;
    reservation := h;
    RETURN NEXT;
END
$$;
