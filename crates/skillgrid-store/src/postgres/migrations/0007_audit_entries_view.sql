-- audit_entries: the audit trail one row per entry, with plain columns, for operators who
-- read it with SQL. audit_sets stores an agent's entries of a write packed into one value
-- (formats, ids and positions: see src/audit.rs); this view unpacks them the way the store
-- does. Nothing reads it but people: the store keeps reading audit_sets.
--
-- Each row of audit_sets is unpacked on its own (LATERAL), so a WHERE on the row's columns
-- (organization, agent, time) narrows the rows before any is unpacked. The binary form is
-- walked one step at a time by `fields`: each step reads one byte (or a whole 16-byte skill
-- id) and, when that finishes a field of an entry, outputs it as (entry index, slot, value).
-- Slots: 0 skill, 1 action, 2 flags, 3..6 before (proficiency, effective, expires, updated),
-- 7..10 after (the same). A slot the entry's flags leave out takes a step that reads nothing.
-- Rows moved in by migration 0002 hold the text form instead: ';' between entries, ','
-- between their fields.
--
-- A later migration that drops, rebuilds or renames a table the view reads (audit_sets,
-- orgs) must drop the view first and create it again: PostgreSQL refuses to drop a table a
-- view reads.
CREATE VIEW audit_entries AS
SELECT
    (s.id << 16) | n.i AS position,
    (substr(replace(s.uuid::text, '-', ''), 1, 28)
        || lpad(to_hex(((get_byte(uuid_send(s.uuid), 14) << 8) | get_byte(uuid_send(s.uuid), 15)) # n.i), 4, '0')
    )::uuid AS entry_id,
    o.uuid AS org_uuid,
    s.at,
    to_timestamp(s.at / 1000.0) AS at_time,
    s.request_id,
    s.client_uuid,
    s.agent_uuid,
    n.skill AS skill_uuid,
    CASE n.action WHEN 1 THEN 'added' WHEN 2 THEN 'updated' WHEN 3 THEN 'removed' END AS action,
    n.bp AS before_proficiency,
    CASE WHEN n.bp IS NOT NULL THEN n.be + n.base END AS before_effective,
    CASE WHEN n.bp IS NOT NULL THEN n.bx + n.base END AS before_expires,
    CASE WHEN n.bp IS NOT NULL THEN coalesce(n.bu, 0) + n.base END AS before_updated,
    n.ap AS after_proficiency,
    CASE WHEN n.ap IS NOT NULL THEN n.ae + n.base END AS after_effective,
    CASE WHEN n.ap IS NOT NULL THEN n.ax + n.base END AS after_expires,
    -- the binary form leaves the after side's updated time out when it is the row's at
    CASE WHEN n.ap IS NOT NULL THEN coalesce(n.au, 0) + n.base END AS after_updated
FROM audit_sets s
JOIN orgs o ON o.id = s.org_id
CROSS JOIN LATERAL (
    -- The binary form; its times are relative to the row's at (base).
    WITH RECURSIVE
    -- Which flags an entry holds slot k under (mask all set, unless not set), and whether
    -- the slot is one byte (action, flags) rather than a varint.
    slots(k, mask, unless, byte) AS (
        VALUES (0, 0, 0, true), (1, 0, 0, true), (2, 0, 0, true), (3, 1, 0, false),
               (4, 2, 0, false), (5, 4, 0, false), (6, 1, 0, false), (7, 8, 0, false),
               (8, 16, 0, false), (9, 32, 0, false), (10, 8, 64, false)
    ),
    -- p: offset of the next byte; i: index of the entry being read; k: its slot being read;
    -- acc, sh: the varint read so far and the shift of its next 7 bits; flags: the entry's
    -- flags. w: 512 bytes of the value from offset base on, refilled as p moves on (reading
    -- a byte of a long stored value can cost a read of all of it, so reading each byte from
    -- the value would make a long row cost the square of its length).
    -- out_k, out_v: the slot this step finished, if the entry holds it, and its value (a
    -- varint as read, before zigzag); out_skill: a skill id.
    fields(base, w, p, i, k, acc, sh, flags, out_i, out_k, out_v, out_skill) AS (
        SELECT 0, substring(s.entries FROM 1 FOR 512), 1, 0, 0, 0::bigint, 0, 0,
            NULL::int, NULL::int, NULL::bigint, NULL::uuid
        WHERE get_byte(s.entries, 0) = 1
        UNION ALL
        SELECT
            CASE WHEN f.p - f.base > 480 THEN f.p ELSE f.base END,
            CASE WHEN f.p - f.base > 480 THEN substring(s.entries FROM f.p + 1 FOR 512) ELSE f.w END,
            f.p + CASE WHEN NOT x.present THEN 0 WHEN f.k = 0 THEN 16 ELSE 1 END,
            CASE WHEN f.k = 10 AND x.done THEN f.i + 1 ELSE f.i END,
            CASE WHEN x.done THEN (f.k + 1) % 11 ELSE f.k END,
            CASE WHEN x.done THEN 0 ELSE x.u END,
            CASE WHEN x.done THEN 0 ELSE f.sh + 7 END,
            CASE WHEN f.k = 2 THEN x.b ELSE f.flags END,
            f.i,
            CASE WHEN x.present AND x.done THEN f.k END,
            x.u,
            CASE WHEN f.k = 0 THEN encode(substring(f.w FROM f.p - f.base + 1 FOR 16), 'hex')::uuid END
        FROM fields f
        JOIN slots sl ON sl.k = f.k
        CROSS JOIN LATERAL (
            SELECT b, u, present,
                -- the skill (whole), action and flags take one step; a varint ends at a byte
                -- below 128; a slot left out ends where it starts
                NOT present OR sl.byte OR b < 128 AS done
            FROM (SELECT get_byte(f.w, f.p - f.base) AS b,
                         f.acc | ((get_byte(f.w, f.p - f.base) & 127)::bigint << f.sh) AS u,
                         f.flags & sl.mask = sl.mask AND f.flags & sl.unless = 0 AS present) y
        ) x
        WHERE f.p < length(s.entries)
    )
    SELECT out_i AS i,
        (array_agg(out_skill) FILTER (WHERE out_k = 0))[1] AS skill,
        max(out_v) FILTER (WHERE out_k = 1) AS action,
        max(z) FILTER (WHERE out_k = 3) AS bp, max(z) FILTER (WHERE out_k = 4) AS be,
        max(z) FILTER (WHERE out_k = 5) AS bx, max(z) FILTER (WHERE out_k = 6) AS bu,
        max(z) FILTER (WHERE out_k = 7) AS ap, max(z) FILTER (WHERE out_k = 8) AS ae,
        max(z) FILTER (WHERE out_k = 9) AS ax,
        coalesce(max(z) FILTER (WHERE out_k = 10), 0) AS au,
        s.at AS base
    FROM fields
    -- zigzag: the varint shifted right (logically), negated bitwise if it was odd
    CROSS JOIN LATERAL (SELECT CASE WHEN out_v & 1 = 1
                                    THEN ~((out_v >> 1) & 9223372036854775807)
                                    ELSE (out_v >> 1) & 9223372036854775807 END AS z) zz
    WHERE out_k IS NOT NULL
    GROUP BY out_i
    UNION ALL
    -- The text form; its times are absolute.
    SELECT (t.n - 1)::int, f[1]::uuid, f[2]::bigint,
        nullif(f[3], '')::bigint, nullif(f[4], '')::bigint, nullif(f[5], '')::bigint,
        nullif(f[6], '')::bigint, nullif(f[7], '')::bigint, nullif(f[8], '')::bigint,
        nullif(f[9], '')::bigint, nullif(f[10], '')::bigint,
        0
    FROM unnest(string_to_array(
             CASE WHEN get_byte(s.entries, 0) <> 1 THEN convert_from(s.entries, 'UTF8') END, ';'
         )) WITH ORDINALITY AS t(entry, n)
    CROSS JOIN LATERAL string_to_array(t.entry, ',') AS f
) n;
