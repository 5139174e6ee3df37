-- coupon_usages_append_only: what a usage records never changes and is never deleted.
--
-- The one update allowed is writing a rollback beside it, once: rolled_back_at and
-- rollback_reason go from empty to set, and nothing else moves.
CREATE OR REPLACE FUNCTION coupon_usages_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.rolled_back_at IS NULL AND OLD.rollback_reason IS NULL
       AND NEW.rolled_back_at IS NOT NULL
       AND (to_jsonb(NEW) - 'rolled_back_at' - 'rollback_reason')
           = (to_jsonb(OLD) - 'rolled_back_at' - 'rollback_reason') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'coupon_usages is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
