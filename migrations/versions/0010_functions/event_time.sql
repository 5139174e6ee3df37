-- event_time: a moment as events write it, the DateTime scalar's ISO-8601 form in UTC
-- ("2026-12-01T05:42:03.123456+00:00"), whatever the session's time zone; NULL stays NULL.
CREATE OR REPLACE FUNCTION event_time(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
$$;
