-- coupon_redeem: the redemption checks of the contract and the write, in one round trip.
--
-- The coupon row is locked first, so every check after it sees every earlier redemption;
-- the row lock is released when the calling statement's transaction ends, so call it as a
-- statement of its own (autocommit) and the lock is held only while this function runs.
-- With p_dry_run it is validateCoupon: no lock and no write, except that an unknown code
-- is counted against the guessing limit, which is what makes guessing visible at all.
--
-- r_outcome is 'OK' or the error code; r_replayed marks a retry of a recorded order.
CREATE FUNCTION coupon_redeem(
    p_code text,
    p_user_id text,
    p_order_id text,
    p_order_value numeric,
    p_ip_address inet,
    p_user_agent text,
    p_guess_subjects text[],
    p_guess_limit integer,
    p_guess_window interval,
    p_dry_run boolean
) RETURNS TABLE (
    r_outcome text,
    r_replayed boolean,
    r_discount numeric,
    r_final_amount numeric,
    c_id uuid,
    c_code text,
    c_type text,
    c_discount_type text,
    c_discount_value numeric,
    c_max_discount_amount numeric,
    c_min_order_value numeric,
    c_description text,
    c_user_id text,
    c_valid_from timestamptz,
    c_valid_until timestamptz,
    c_max_uses_per_user integer,
    c_max_total_uses integer,
    c_current_total_uses integer,
    c_status text,
    c_created_by text,
    c_created_at timestamptz,
    c_updated_at timestamptz,
    u_id uuid,
    u_user_id text,
    u_order_id text,
    u_order_value numeric,
    u_discount_applied numeric,
    u_final_amount numeric,
    u_used_at timestamptz,
    u_ip_address inet,
    u_user_agent text
)
LANGUAGE plpgsql AS $$
DECLARE
    c coupons%ROWTYPE;
    u coupon_usages%ROWTYPE;
    v_user_uses integer;
    v_failures integer;
BEGIN
    r_replayed := false;

    -- Guessing: refused outright while any subject is over the limit in a running window.
    IF EXISTS (
        SELECT 1 FROM guess_counters g
        WHERE g.subject = ANY (p_guess_subjects)
          AND g.failures >= p_guess_limit
          AND g.window_started > now() - p_guess_window
    ) THEN
        r_outcome := 'RATE_LIMITED';
        RETURN NEXT;
        RETURN;
    END IF;

    -- 2. The code exists and, for a USER_SPECIFIC coupon, belongs to the user.
    IF p_dry_run THEN
        SELECT * INTO c FROM coupons WHERE code = p_code;
    ELSE
        SELECT * INTO c FROM coupons WHERE code = p_code FOR UPDATE;
    END IF;
    IF NOT FOUND OR (c.type = 'USER_SPECIFIC' AND c.user_id IS DISTINCT FROM p_user_id) THEN
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
        r_outcome := CASE WHEN v_failures > p_guess_limit THEN 'RATE_LIMITED' ELSE 'NOT_FOUND' END;
        RETURN NEXT;
        RETURN;
    END IF;

    -- 3. An order that already has a usage: a retry of it, or refused.
    IF p_order_id IS NOT NULL THEN
        SELECT * INTO u FROM coupon_usages WHERE order_id = p_order_id;
        IF FOUND THEN
            IF u.coupon_id = c.id AND u.user_id = p_user_id AND u.order_value = p_order_value THEN
                r_outcome := 'OK';
                r_replayed := true;
            ELSE
                r_outcome := 'ORDER_ALREADY_USED';
                u := NULL;  -- another redemption's record is not this caller's to see
            END IF;
        END IF;
    END IF;

    IF r_outcome IS NULL THEN
        -- 4 to 8: the first that fails is the answer.
        SELECT count(*) INTO v_user_uses
        FROM coupon_usages WHERE coupon_id = c.id AND user_id = p_user_id;
        r_outcome := CASE
            WHEN c.status = 'INACTIVE' THEN 'INACTIVE'
            WHEN c.valid_from IS NOT NULL AND now() < c.valid_from THEN 'NOT_YET_VALID'
            WHEN c.status = 'EXPIRED' OR (c.valid_until IS NOT NULL AND now() >= c.valid_until)
                THEN 'EXPIRED'
            WHEN p_order_value < c.min_order_value THEN 'MIN_ORDER_VALUE_NOT_MET'
            WHEN v_user_uses >= c.max_uses_per_user AND c.type = 'USER_SPECIFIC'
                THEN 'ALREADY_REDEEMED'
            WHEN v_user_uses >= c.max_uses_per_user THEN 'USER_LIMIT_REACHED'
            WHEN c.status = 'EXHAUSTED'
                OR (c.max_total_uses IS NOT NULL AND c.current_total_uses >= c.max_total_uses)
                THEN 'EXHAUSTED'
            ELSE 'OK'
        END;

        IF r_outcome = 'OK' THEN
            -- PERCENTAGE: order * percent / 100, rounded half-up (round() rounds half away
            -- from zero) to cents, capped; FIXED: the value. Never more than the order.
            IF c.discount_type = 'PERCENTAGE' THEN
                r_discount := round(p_order_value * c.discount_value / 100, 2);
                IF c.max_discount_amount IS NOT NULL THEN
                    r_discount := least(r_discount, c.max_discount_amount);
                END IF;
            ELSE
                r_discount := c.discount_value;
            END IF;
            r_discount := least(r_discount, p_order_value);
            r_final_amount := p_order_value - r_discount;
        END IF;

        IF r_outcome = 'OK' AND NOT p_dry_run THEN
            -- 9. The usage, the count and the status, in this one transaction. The order's
            -- unique index settles a race with another coupon's redemption of the order.
            INSERT INTO coupon_usages (coupon_id, user_id, order_id, order_value,
                                       discount_applied, final_amount, ip_address, user_agent)
            VALUES (c.id, p_user_id, p_order_id, p_order_value, r_discount, r_final_amount,
                    p_ip_address, p_user_agent)
            ON CONFLICT (order_id) DO NOTHING
            RETURNING * INTO u;
            IF FOUND THEN
                -- Guarded as well as locked: the count can never pass the limit.
                UPDATE coupons SET
                    current_total_uses = current_total_uses + 1,
                    status = CASE WHEN max_total_uses IS NOT NULL
                                       AND current_total_uses + 1 >= max_total_uses
                                  THEN 'EXHAUSTED' ELSE status END,
                    updated_at = now()
                WHERE id = c.id
                  AND (max_total_uses IS NULL OR current_total_uses < max_total_uses)
                RETURNING * INTO c;
                IF NOT FOUND THEN
                    RAISE EXCEPTION 'use count guard refused a checked redemption';
                END IF;
            ELSE
                -- Another coupon's redemption of this order committed while we checked.
                SELECT * INTO u FROM coupon_usages WHERE order_id = p_order_id;
                IF u.coupon_id = c.id AND u.user_id = p_user_id
                   AND u.order_value = p_order_value THEN
                    r_replayed := true;
                ELSE
                    r_outcome := 'ORDER_ALREADY_USED';
                    u := NULL;
                END IF;
            END IF;
        END IF;
    END IF;

    IF u.id IS NOT NULL THEN
        r_discount := u.discount_applied;
        r_final_amount := u.final_amount;
    ELSIF r_outcome <> 'OK' THEN
        r_discount := NULL;
        r_final_amount := NULL;
    END IF;
    c_id := c.id; c_code := c.code; c_type := c.type; c_discount_type := c.discount_type;
    c_discount_value := c.discount_value; c_max_discount_amount := c.max_discount_amount;
    c_min_order_value := c.min_order_value; c_description := c.description;
    c_user_id := c.user_id; c_valid_from := c.valid_from; c_valid_until := c.valid_until;
    c_max_uses_per_user := c.max_uses_per_user; c_max_total_uses := c.max_total_uses;
    c_current_total_uses := c.current_total_uses; c_status := c.status;
    c_created_by := c.created_by; c_created_at := c.created_at; c_updated_at := c.updated_at;
    u_id := u.id; u_user_id := u.user_id; u_order_id := u.order_id;
    u_order_value := u.order_value; u_discount_applied := u.discount_applied;
    u_final_amount := u.final_amount; u_used_at := u.used_at; u_ip_address := u.ip_address;
    u_user_agent := u.user_agent;
    RETURN NEXT;
END
$$;
