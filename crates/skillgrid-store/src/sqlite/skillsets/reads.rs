//! SQLite's reads of what skill-set writes store: the audit trail's rows (whose form
//! `crate::audit` documents), for the store's read paths rather than its writes. An agent's
//! set is read in `sqlite/hot.rs`.

/// The start of a read of audit entries: the columns `audit::stored_set` reads, of the rows
/// `s` of `audit_sets`. A row of a large write takes what it leaves out from its write's row
/// and from its agent (see migration 0004). A macro, so that `concat!` can finish it.
macro_rules! select_audit {
    () => {
        "SELECT s.id, s.uuid, coalesce(s.at, w.at), coalesce(s.request_id, w.request_id),
           coalesce(s.client_uuid, w.client_uuid), coalesce(s.agent_uuid, a.uuid), s.entries,
           w.skills
         FROM audit_sets s
         LEFT JOIN audit_writes w ON w.id = s.write_id
         LEFT JOIN agents a ON a.id = s.agent_id AND s.agent_uuid IS NULL"
    };
}

/// The organization's audit feed (see `per_backend/trail.rs`): a row's time and client come
/// from its write's row when it leaves them out; a skill is named in the row's entries (as 16
/// bytes, or as hex in the text form) or in its write's list.
pub(in crate::sqlite) const FEED: crate::audit::FeedSql = crate::audit::FeedSql {
    select: select_audit!(),
    at: "coalesce(s.at, w.at)",
    client: "coalesce(s.client_uuid, w.client_uuid)",
    names_skill: "(instr(s.entries, {bytes}) > 0 OR instr(w.skills, {bytes}) > 0
       OR instr(s.entries, {hex}) > 0)",
};

/// An agent's audit entries, newest first (see `per_backend/trail.rs`): `$1` the agent's key, `$2`
/// the last row, `$3` how many rows.
pub(in crate::sqlite) const AGENT_AUDIT: &str = concat!(
    select_audit!(),
    " WHERE s.agent_id = $1 AND s.id <= $2 ORDER BY s.id DESC LIMIT $3"
);

/// The organization's audit entries, oldest first (see `per_backend/trail.rs`): `$1` its id, `$2`
/// the first row, `$3` the earliest time, `$4` how many rows.
pub(in crate::sqlite) const ORG_AUDIT: &str = concat!(
    select_audit!(),
    " WHERE s.org_id = (SELECT id FROM orgs WHERE uuid = $1) AND s.id >= $2
       AND coalesce(s.at, w.at) >= $3
     ORDER BY s.id LIMIT $4"
);
