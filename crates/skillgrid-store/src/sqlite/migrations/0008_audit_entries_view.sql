-- audit_entries: the audit trail one row per entry, with plain columns, for operators who
-- read it with SQL. audit_sets stores an agent's entries of a write packed into one value
-- (formats, ids and positions: see src/audit.rs); this view unpacks them the way the store
-- does. Nothing reads it but people: the store keeps reading audit_sets.
--
-- Plain SQLite has no function that turns a byte into a number, so a byte is read by looking
-- its two hex digits up in byte_values. The packed value is walked one step at a time by
-- `fields`: each step reads one byte (or a whole 16-byte skill id) and, when that finishes a
-- field of an entry, outputs it as (entry index, slot, value). Slots: 0 skill, 1 action,
-- 2 flags, 3..6 before (proficiency, effective, expires, updated), 7..10 after (the same).
-- A slot the entry's flags leave out takes a step that reads nothing. Rows moved in by
-- migration 0003 hold the text form instead, which `tokens` splits at ',' and ';' into the
-- same slots. `entry` puts each entry's fields side by side, `rows_out` adds its row's values
-- (those of its write, on rows of a large write, and the skill its place in that write's list
-- names), and the last SELECT writes ids and times out in full.
--
-- Every query of the view unpacks every row of audit_sets (the walk cannot see a WHERE on
-- the view), so it suits inspection and exports, not the request path.
--
-- A later migration that drops, rebuilds or renames a table the view reads (audit_sets,
-- audit_writes, agents, orgs) must drop the view first and create it again: SQLite refuses
-- to rename a table into place while a view names one that is gone.
CREATE VIEW audit_entries AS
WITH RECURSIVE
byte_values(h, v) AS (
    SELECT '00', 0
    UNION ALL
    SELECT printf('%02X', v + 1), v + 1 FROM byte_values WHERE v < 255
),
-- Which flags an entry holds slot k under (mask all set, unless not set), and whether the
-- slot is one byte (action, flags) rather than a varint.
slots(k, mask, unless, byte) AS (
    VALUES (0, 0, 0, 0), (1, 0, 0, 1), (2, 0, 0, 1), (3, 1, 0, 0), (4, 2, 0, 0), (5, 4, 0, 0),
           (6, 1, 0, 0), (7, 8, 0, 0), (8, 16, 0, 0), (9, 32, 0, 0), (10, 8, 64, 0)
),
-- p: offset of the next byte; i: index of the entry being read; k: its slot being read;
-- acc, sh: the varint read so far and the shift of its next 7 bits; flags: the entry's flags.
-- w: 512 bytes of the value from offset base on, refilled from audit_sets as p moves on (a
-- step copies its row, so carrying the whole value would make a long row cost the square of
-- its length).
-- out_k, out_v: the slot this step finished, if the entry holds it, and its value (a varint
-- as read, before zigzag); out_skill: a skill id read whole, in hex.
fields(id, form, len, base, w, p, i, k, acc, sh, flags, out_i, out_k, out_v, out_skill) AS (
    SELECT id, CAST(hex(substr(entries, 1, 1)) AS INTEGER), length(entries), 0,
        substr(entries, 1, 512), 1, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL
    FROM audit_sets WHERE hex(substr(entries, 1, 1)) IN ('01', '02')
    UNION ALL
    SELECT f.id, f.form, f.len,
        CASE WHEN f.p - f.base > 480 THEN f.p ELSE f.base END,
        CASE WHEN f.p - f.base > 480 THEN substr(a.entries, f.p + 1, 512) ELSE f.w END,
        f.p + CASE
            WHEN NOT (f.flags & s.mask = s.mask AND f.flags & s.unless = 0) THEN 0
            WHEN f.k = 0 AND f.form = 1 THEN 16
            ELSE 1 END,
        CASE WHEN f.k = 10 AND (NOT (f.flags & s.mask = s.mask AND f.flags & s.unless = 0)
                                OR x.v < 128) THEN f.i + 1 ELSE f.i END,
        CASE
            WHEN NOT (f.flags & s.mask = s.mask AND f.flags & s.unless = 0)
              OR s.byte OR (f.k = 0 AND f.form = 1) OR x.v < 128
            THEN (f.k + 1) % 11
            ELSE f.k END,
        CASE WHEN NOT (f.flags & s.mask = s.mask AND f.flags & s.unless = 0)
              OR s.byte OR (f.k = 0 AND f.form = 1) OR x.v < 128
            THEN 0 ELSE f.acc | ((x.v & 127) << f.sh) END,
        CASE WHEN NOT (f.flags & s.mask = s.mask AND f.flags & s.unless = 0)
              OR s.byte OR (f.k = 0 AND f.form = 1) OR x.v < 128
            THEN 0 ELSE f.sh + 7 END,
        CASE WHEN f.k = 2 THEN x.v ELSE f.flags END,
        f.i,
        CASE
            WHEN NOT (f.flags & s.mask = s.mask AND f.flags & s.unless = 0) THEN NULL
            WHEN s.byte OR (f.k = 0 AND f.form = 1) OR x.v < 128 THEN f.k END,
        f.acc | ((x.v & 127) << f.sh),
        CASE WHEN f.k = 0 AND f.form = 1 THEN hex(substr(f.w, f.p - f.base + 1, 16)) END
    FROM fields f
    JOIN slots s ON s.k = f.k
    JOIN byte_values x ON x.h = hex(substr(f.w, f.p - f.base + 1, 1))
    JOIN audit_sets a ON a.id = f.id
    WHERE f.p < f.len
),
-- Rows in the text form: ';' between entries, ',' between their 10 fields (skill, action,
-- then each side's proficiency, effective, expires, updated), so token t is field t % 10 of
-- entry t / 10.
tokens(id, t, tok, rest) AS (
    SELECT id, -1, NULL, replace(CAST(entries AS TEXT), ';', ',') || ','
    FROM audit_sets WHERE hex(substr(entries, 1, 1)) NOT IN ('01', '02')
    UNION ALL
    SELECT id, t + 1, substr(rest, 1, instr(rest, ',') - 1), substr(rest, instr(rest, ',') + 1)
    FROM tokens
    WHERE rest <> ''
),
-- Every field of every entry: (row, entry index, slot, value, skill in hex, form: 0 for text).
parts(id, i, k, v, skill, form) AS (
    SELECT id, out_i, out_k,
        CASE WHEN out_k < 3 THEN out_v
             -- zigzag: the varint shifted right (logically), negated bitwise if it was odd
             WHEN out_v & 1 THEN ~((out_v >> 1) & 9223372036854775807)
             ELSE (out_v >> 1) & 9223372036854775807 END,
        out_skill, form
    FROM fields WHERE out_k IS NOT NULL
    UNION ALL
    SELECT id, t / 10, CASE WHEN t % 10 < 2 THEN t % 10 ELSE t % 10 + 1 END,
        CASE WHEN t % 10 > 0 THEN CAST(nullif(tok, '') AS INTEGER) END,
        CASE WHEN t % 10 = 0 THEN upper(tok) END, 0
    FROM tokens WHERE t >= 0
),
entry(id, i, form, skill, place, action, bp, be, bx, bu, ap, ae, ax, au) AS (
    SELECT id, i, max(form), max(skill), max(CASE k WHEN 0 THEN v END), max(CASE k WHEN 1 THEN v END),
        max(CASE k WHEN 3 THEN v END), max(CASE k WHEN 4 THEN v END),
        max(CASE k WHEN 5 THEN v END), max(CASE k WHEN 6 THEN v END),
        max(CASE k WHEN 7 THEN v END), max(CASE k WHEN 8 THEN v END),
        max(CASE k WHEN 9 THEN v END), max(CASE k WHEN 10 THEN v END)
    FROM parts GROUP BY id, i
),
-- Each entry with its row's values; times of the binary forms are relative to the row's at,
-- and the after side's updated time left out is at.
rows_out AS (
    SELECT s.id, n.i, o.uuid AS org, coalesce(s.at, w.at) AS at,
        coalesce(s.request_id, w.request_id) AS request_id,
        coalesce(s.client_uuid, w.client_uuid) AS client, coalesce(s.agent_uuid, a.uuid) AS agent,
        hex(s.uuid) AS base,
        coalesce(n.skill, hex(substr(w.skills, n.place * 16 + 1, 16))) AS skill,
        n.action, n.bp, n.ap,
        n.form <> 0 AS relative,
        CASE WHEN n.bp IS NOT NULL THEN n.be END AS be,
        CASE WHEN n.bp IS NOT NULL THEN n.bx END AS bx,
        CASE WHEN n.bp IS NOT NULL THEN coalesce(n.bu, 0) END AS bu,
        CASE WHEN n.ap IS NOT NULL THEN n.ae END AS ae,
        CASE WHEN n.ap IS NOT NULL THEN n.ax END AS ax,
        CASE WHEN n.ap IS NOT NULL THEN n.au END AS au
    FROM entry n
    JOIN audit_sets s ON s.id = n.id
    JOIN orgs o ON o.id = s.org_id
    LEFT JOIN audit_writes w ON w.id = s.write_id
    LEFT JOIN agents a ON a.id = s.agent_id
)
SELECT
    (f.id << 16) | f.i AS position,
    -- the row's base id with the index XORed into its last two bytes (SQLite has no XOR:
    -- a XOR b is (a | b) & ~(a & b))
    lower(substr(f.base, 1, 8) || '-' || substr(f.base, 9, 4) || '-' || substr(f.base, 13, 4)
        || '-' || substr(f.base, 17, 4) || '-' || substr(f.base, 21, 8)
        || printf('%04x', (x1.v * 256 + x2.v | f.i) & ~(x1.v * 256 + x2.v & f.i))) AS entry_id,
    lower(substr(hex(f.org), 1, 8) || '-' || substr(hex(f.org), 9, 4) || '-'
        || substr(hex(f.org), 13, 4) || '-' || substr(hex(f.org), 17, 4) || '-'
        || substr(hex(f.org), 21)) AS org_uuid,
    f.at,
    strftime('%Y-%m-%dT%H:%M:%fZ', f.at / 1000.0, 'unixepoch') AS at_utc,
    f.request_id,
    lower(substr(hex(f.client), 1, 8) || '-' || substr(hex(f.client), 9, 4) || '-'
        || substr(hex(f.client), 13, 4) || '-' || substr(hex(f.client), 17, 4) || '-'
        || substr(hex(f.client), 21)) AS client_uuid,
    lower(substr(hex(f.agent), 1, 8) || '-' || substr(hex(f.agent), 9, 4) || '-'
        || substr(hex(f.agent), 13, 4) || '-' || substr(hex(f.agent), 17, 4) || '-'
        || substr(hex(f.agent), 21)) AS agent_uuid,
    lower(substr(f.skill, 1, 8) || '-' || substr(f.skill, 9, 4) || '-' || substr(f.skill, 13, 4)
        || '-' || substr(f.skill, 17, 4) || '-' || substr(f.skill, 21)) AS skill_uuid,
    CASE f.action WHEN 1 THEN 'added' WHEN 2 THEN 'updated' WHEN 3 THEN 'removed' END AS action,
    f.bp AS before_proficiency,
    f.be + CASE WHEN f.relative THEN f.at ELSE 0 END AS before_effective,
    f.bx + CASE WHEN f.relative THEN f.at ELSE 0 END AS before_expires,
    f.bu + CASE WHEN f.relative THEN f.at ELSE 0 END AS before_updated,
    f.ap AS after_proficiency,
    f.ae + CASE WHEN f.relative THEN f.at ELSE 0 END AS after_effective,
    f.ax + CASE WHEN f.relative THEN f.at ELSE 0 END AS after_expires,
    CASE WHEN f.ap IS NULL THEN NULL
         WHEN f.relative THEN coalesce(f.au, 0) + f.at
         ELSE coalesce(f.au, 0) END AS after_updated
FROM rows_out f
JOIN byte_values x1 ON x1.h = substr(f.base, 29, 2)
JOIN byte_values x2 ON x2.h = substr(f.base, 31, 2);
