-- What the audit rows of one large write share, stored once instead of on each of its rows:
-- when, which request, which client, and the skills its entries name (an entry then names its
-- skill by its place in that list, the listed form of src/audit.rs). Each of a
-- 100,000-assignment bulk write's 10,000 audit rows carried its own time, request id, client
-- id, agent id and 16-byte skill ids: about 6.4 MB of write-ahead log per write, a fifth of
-- what the assignments themselves cost. In the listed form, about 4 MB.
--
-- `last_set` is the highest id of the write's rows in audit_sets: pruning, which goes through
-- an organization's rows in id order, removes the write's row once it has removed that one.
CREATE TABLE audit_writes (
    id          BIGSERIAL PRIMARY KEY,
    org_id      BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    request_id  TEXT NOT NULL,
    client_uuid UUID NOT NULL,
    skills      BYTEA NOT NULL,     -- 16-byte skill ids, one after another
    last_set    BIGINT NOT NULL
);

CREATE INDEX audit_writes_by_org ON audit_writes (org_id, last_set);

-- The view reads audit_sets: dropped before the table changes, made again below.
DROP VIEW audit_entries;

-- A row of a large write leaves those values to its write: they become NULL-able and
-- write_id names the write (NULL on rows that hold them themselves, as every earlier row
-- does). agent_uuid is NULL on rows of a write: agents are never deleted, so their id is read
-- from agents. Adding a NULL-able column without a default rewrites nothing.
ALTER TABLE audit_sets
    ADD COLUMN write_id BIGINT,
    ALTER COLUMN at DROP NOT NULL,
    ALTER COLUMN request_id DROP NOT NULL,
    ALTER COLUMN client_uuid DROP NOT NULL,
    ALTER COLUMN agent_uuid DROP NOT NULL;

-- An event that refers to an audit row of a large write is given the write's skills with the
-- row's entries when audit retention removes the row first (see migration 0017).
ALTER TABLE events ADD COLUMN skills BYTEA;

-- audit_entries as migration 0007 made it, reading the listed form too: an entry's skill is
-- a varint there (slot 0 read like the other varints), its place in the write's list; the
-- row's time, request, client and agent come from its write and its agent when it leaves
-- them out. A later migration that drops, rebuilds or renames a table the view reads
-- (audit_sets, audit_writes, agents, orgs) must drop the view first and create it again.
CREATE VIEW audit_entries AS
SELECT
    (s.id << 16) | n.i AS position,
    (substr(replace(s.uuid::text, '-', ''), 1, 28)
        || lpad(to_hex(((get_byte(uuid_send(s.uuid), 14) << 8) | get_byte(uuid_send(s.uuid), 15)) # n.i), 4, '0')
    )::uuid AS entry_id,
    o.uuid AS org_uuid,
    coalesce(s.at, w.at) AS at,
    to_timestamp(coalesce(s.at, w.at) / 1000.0) AS at_time,
    coalesce(s.request_id, w.request_id) AS request_id,
    coalesce(s.client_uuid, w.client_uuid) AS client_uuid,
    coalesce(s.agent_uuid, a.uuid) AS agent_uuid,
    coalesce(n.skill, encode(substring(w.skills FROM (n.place * 16 + 1)::int FOR 16), 'hex')::uuid) AS skill_uuid,
    CASE n.action WHEN 1 THEN 'added' WHEN 2 THEN 'updated' WHEN 3 THEN 'removed' END AS action,
    n.bp AS before_proficiency,
    CASE WHEN n.bp IS NOT NULL THEN n.be + n.base END AS before_effective,
    CASE WHEN n.bp IS NOT NULL THEN n.bx + n.base END AS before_expires,
    CASE WHEN n.bp IS NOT NULL THEN coalesce(n.bu, 0) + n.base END AS before_updated,
    n.ap AS after_proficiency,
    CASE WHEN n.ap IS NOT NULL THEN n.ae + n.base END AS after_effective,
    CASE WHEN n.ap IS NOT NULL THEN n.ax + n.base END AS after_expires,
    -- the binary forms leave the after side's updated time out when it is the row's at
    CASE WHEN n.ap IS NOT NULL THEN coalesce(n.au, 0) + n.base END AS after_updated
FROM audit_sets s
JOIN orgs o ON o.id = s.org_id
LEFT JOIN audit_writes w ON w.id = s.write_id
LEFT JOIN agents a ON a.id = s.agent_id AND s.agent_uuid IS NULL
CROSS JOIN LATERAL (
    -- The binary forms (1: skills whole, 2: listed); their times are relative to the row's at
    -- (base).
    WITH RECURSIVE
    -- Which flags an entry holds slot k under (mask all set, unless not set), and whether
    -- the slot is one byte (action, flags) rather than a varint (or, slot 0 in form 1, a
    -- whole skill id).
    slots(k, mask, unless, byte) AS (
        VALUES (0, 0, 0, false), (1, 0, 0, true), (2, 0, 0, true), (3, 1, 0, false),
               (4, 2, 0, false), (5, 4, 0, false), (6, 1, 0, false), (7, 8, 0, false),
               (8, 16, 0, false), (9, 32, 0, false), (10, 8, 64, false)
    ),
    -- p: offset of the next byte; i: index of the entry being read; k: its slot being read;
    -- acc, sh: the varint read so far and the shift of its next 7 bits; flags: the entry's
    -- flags. w: 512 bytes of the value from offset base on, refilled as p moves on (reading
    -- a byte of a long stored value can cost a read of all of it, so reading each byte from
    -- the value would make a long row cost the square of its length).
    -- out_k, out_v: the slot this step finished, if the entry holds it, and its value (a
    -- varint as read, before zigzag); out_skill: a skill id read whole.
    fields(base, w, p, i, k, acc, sh, flags, out_i, out_k, out_v, out_skill) AS (
        SELECT 0, substring(s.entries FROM 1 FOR 512), 1, 0, 0, 0::bigint, 0, 0,
            NULL::int, NULL::int, NULL::bigint, NULL::uuid
        WHERE get_byte(s.entries, 0) IN (1, 2)
        UNION ALL
        SELECT
            CASE WHEN f.p - f.base > 480 THEN f.p ELSE f.base END,
            CASE WHEN f.p - f.base > 480 THEN substring(s.entries FROM f.p + 1 FOR 512) ELSE f.w END,
            f.p + CASE WHEN NOT x.present THEN 0 WHEN x.whole THEN 16 ELSE 1 END,
            CASE WHEN f.k = 10 AND x.done THEN f.i + 1 ELSE f.i END,
            CASE WHEN x.done THEN (f.k + 1) % 11 ELSE f.k END,
            CASE WHEN x.done THEN 0 ELSE x.u END,
            CASE WHEN x.done THEN 0 ELSE f.sh + 7 END,
            CASE WHEN f.k = 2 THEN x.b ELSE f.flags END,
            f.i,
            CASE WHEN x.present AND x.done THEN f.k END,
            x.u,
            CASE WHEN x.whole THEN encode(substring(f.w FROM f.p - f.base + 1 FOR 16), 'hex')::uuid END
        FROM fields f
        JOIN slots sl ON sl.k = f.k
        CROSS JOIN LATERAL (
            SELECT b, u, present, whole,
                -- a whole skill, the action and the flags take one step; a varint ends at a
                -- byte below 128; a slot left out ends where it starts
                NOT present OR sl.byte OR whole OR b < 128 AS done
            FROM (SELECT get_byte(f.w, f.p - f.base) AS b,
                         f.acc | ((get_byte(f.w, f.p - f.base) & 127)::bigint << f.sh) AS u,
                         f.flags & sl.mask = sl.mask AND f.flags & sl.unless = 0 AS present,
                         f.k = 0 AND get_byte(s.entries, 0) = 1 AS whole) y
        ) x
        WHERE f.p < length(s.entries)
    )
    SELECT out_i AS i,
        (array_agg(out_skill) FILTER (WHERE out_k = 0))[1] AS skill,
        -- the listed form's place, as read (not zigzag)
        max(out_v) FILTER (WHERE out_k = 0 AND out_skill IS NULL) AS place,
        max(out_v) FILTER (WHERE out_k = 1) AS action,
        max(z) FILTER (WHERE out_k = 3) AS bp, max(z) FILTER (WHERE out_k = 4) AS be,
        max(z) FILTER (WHERE out_k = 5) AS bx, max(z) FILTER (WHERE out_k = 6) AS bu,
        max(z) FILTER (WHERE out_k = 7) AS ap, max(z) FILTER (WHERE out_k = 8) AS ae,
        max(z) FILTER (WHERE out_k = 9) AS ax,
        coalesce(max(z) FILTER (WHERE out_k = 10), 0) AS au,
        coalesce(s.at, w.at) AS base
    FROM fields
    -- zigzag: the varint shifted right (logically), negated bitwise if it was odd
    CROSS JOIN LATERAL (SELECT CASE WHEN out_v & 1 = 1
                                    THEN ~((out_v >> 1) & 9223372036854775807)
                                    ELSE (out_v >> 1) & 9223372036854775807 END AS z) zz
    WHERE out_k IS NOT NULL
    GROUP BY out_i
    UNION ALL
    -- The text form; its times are absolute.
    SELECT (t.n - 1)::int, f[1]::uuid, NULL::bigint, f[2]::bigint,
        nullif(f[3], '')::bigint, nullif(f[4], '')::bigint, nullif(f[5], '')::bigint,
        nullif(f[6], '')::bigint, nullif(f[7], '')::bigint, nullif(f[8], '')::bigint,
        nullif(f[9], '')::bigint, nullif(f[10], '')::bigint,
        0
    FROM unnest(string_to_array(
             CASE WHEN get_byte(s.entries, 0) NOT IN (1, 2) THEN convert_from(s.entries, 'UTF8') END, ';'
         )) WITH ORDINALITY AS t(entry, n)
    CROSS JOIN LATERAL string_to_array(t.entry, ',') AS f
) n;
