-- coupon_assign: assignCode. Binds one free code of the campaign to the user and answers
-- it; the user's code of this campaign again when they have one (replayed).
--
-- A free code is one of the campaign's codes that no user holds, that was never redeemed
-- (a rollback gives a use back but the code was seen: rolled_back_uses counts it), that
-- is not paused on its own, and that no live hold keeps for an order: the oldest first.
--
-- Locks, in the order the other functions take theirs (the advisory lock, then coupon
-- rows; the campaign row is read without one): the (campaign, user) pair, so that one
-- user's simultaneous calls run one after the other and the second finds the first's
-- code; then the picked code's row, SKIP LOCKED, so that simultaneous calls of different
-- users each take another code instead of waiting for the same one. A code's row lock is
-- also what coupon_redeem takes first: a hold or a redemption of the code waits for the
-- assignment and then finds the code belongs to someone (NOT_FOUND), or the assignment
-- finds the hold or the use and takes another code. The unique index on
-- (campaign_id, user_id) is the last word: a user holds at most one code of a campaign.
-- Locks last until the calling transaction ends: call it as a statement of its own.
--
-- outcome is 'OK' or the error code: NOT_FOUND (no such campaign), INACTIVE, EXPIRED,
-- EXHAUSTED (the campaign's, or no free code is left). A campaign whose window has not
-- opened hands out codes. coupon_status is the code's after the call.
CREATE OR REPLACE FUNCTION coupon_assign(p_campaign_id uuid, p_user_id text)
RETURNS TABLE (outcome text, replayed boolean, coupon coupons, coupon_status text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    c coupons%ROWTYPE;
    k campaigns%ROWTYPE;
    v_status text;
    v_passed uuid[] := '{}';  -- codes locked and found held: not free after all
BEGIN
    PERFORM pg_advisory_xact_lock(
        hashtextextended('coupon-assign:' || p_campaign_id || ':' || p_user_id, 0));

    SELECT * INTO k FROM campaigns WHERE id = p_campaign_id;
    IF NOT FOUND THEN
        outcome := 'NOT_FOUND';
        replayed := false;
        RETURN NEXT;
        RETURN;
    END IF;
    -- Under the pair's lock: a code an earlier call gave this user is committed by now.
    -- It is answered whatever the campaign's state since (its status says it): a retried
    -- call whose first answer was lost still learns the code the user holds.
    SELECT * INTO c FROM coupons
    WHERE campaign_id = p_campaign_id AND user_id = p_user_id;
    IF FOUND THEN
        outcome := 'OK';
        replayed := true;
        coupon := c;
        coupon_status := coupon_status(c, k);
        RETURN NEXT;
        RETURN;
    END IF;
    v_status := campaign_status(k);
    IF v_status <> 'ACTIVE' THEN
        outcome := v_status;
        replayed := false;
        RETURN NEXT;
        RETURN;
    END IF;

    LOOP
        -- The conditions are checked again on the newest row once it is locked, so a code
        -- another call has just assigned or redeemed is passed over.
        SELECT * INTO c FROM coupons f
        WHERE f.campaign_id = p_campaign_id AND f.user_id IS NULL
          AND f.current_total_uses = 0 AND f.rolled_back_uses = 0
          AND f.status = 'ACTIVE'
          AND f.id <> ALL (v_passed)
          AND NOT EXISTS (
              SELECT 1 FROM coupon_reservations r
              WHERE r.coupon_id = f.id AND r.status = 'HELD' AND r.expires_at > now()
          )
        ORDER BY f.created_at, f.id
        LIMIT 1
        FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            outcome := 'EXHAUSTED';
            replayed := false;
            RETURN NEXT;
            RETURN;
        END IF;
        -- A hold does not change the code's row: one made after this statement's snapshot
        -- and committed before the lock was taken shows only to a statement of its own.
        -- Holds made from now on wait for the lock and find the code assigned.
        EXIT WHEN NOT EXISTS (
            SELECT 1 FROM coupon_reservations r
            WHERE r.coupon_id = c.id AND r.status = 'HELD' AND r.expires_at > now()
        );
        v_passed := v_passed || c.id;
    END LOOP;

    UPDATE coupons SET user_id = p_user_id, updated_at = now()
    WHERE id = c.id
    RETURNING * INTO c;
    outcome := 'OK';
    replayed := false;
    coupon := c;
    coupon_status := coupon_status(c, k);
    RETURN NEXT;
END
$$;
