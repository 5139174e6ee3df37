-- campaigns_never_deleted: a campaign, once made, stays; deactivate it instead.
--
-- Its codes, usages, holds and jobs refer to it, and the codes' campaign_id has no foreign
-- key (migration 0009: the per-row check was too dear for bulk code generation), so this
-- trigger, before any DELETE on campaigns, is what keeps every campaign_id naming a row.
CREATE OR REPLACE FUNCTION campaigns_never_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'campaigns are never deleted: deactivate the campaign instead'
        USING ERRCODE = 'restrict_violation';
END
$$;
