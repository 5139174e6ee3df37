-- uuid_v7: a version 7 UUID (RFC 9562): 48 bits of Unix time in milliseconds, the
-- version, 12 bits of `sequence`, the variant, then 62 random bits (gen_random_uuid's).
--
-- The time is the statement's start, moved on by `sequence / 4096` milliseconds, and the
-- 12 bits are `sequence % 4096` (RFC 9562's counter method, the time advanced when the
-- counter overflows): one statement's ids sort in the order of `sequence`. An import
-- passes each code's line number, so its codes keep the file's order (oldest first, for
-- exports and assignCode); generation passes nothing (0): its codes are random anyway.
-- `sequence` must be 0 or more (below 0 the version bits would be overwritten).
--
-- Bulk-written codes get these ids: a batch lands at the right edge of the primary key's
-- index instead of on random pages of it (a million codes: 49,000-62,000 codes/s with
-- random ids, ~64,000 with these). 62 random bits keep them as hard to guess as any id
-- here; they tell only the moment of writing, which createdAt tells anyway. One
-- expression, no FROM: PostgreSQL inlines it into the INSERT. PostgreSQL 18 has uuidv7().
CREATE OR REPLACE FUNCTION uuid_v7(sequence bigint DEFAULT 0) RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT encode(
        int8send(
            ((floor(extract(epoch FROM statement_timestamp()) * 1000)::bigint
              + sequence / 4096) << 16)
            | 28672                 -- 0x7000: version 7
            | (sequence % 4096)
        )
        || substring(uuid_send(gen_random_uuid()) FROM 9 FOR 8),  -- variant 10, 62 random bits
        'hex'
    )::uuid
$$;
