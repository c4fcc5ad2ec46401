//! The audit trail as both backends store it: one row per agent per write (`audit_sets`),
//! holding that agent's entries of the write packed into one binary value.
//!
//! A bulk write of 10,000 agents × 10 skills records 100,000 entries. Stored one row each, with
//! the request's columns repeated on every row and two indexes, they cost more than the
//! assignments themselves; stored per agent they are 10,000 narrow rows of about 20 bytes per
//! entry. What the API shows is unchanged: one entry per changed assignment, each with its own
//! id.
//!
//! - **Entries** (binary, the first byte of the value is [`BINARY`]): per entry the skill's
//!   16-byte id, the action (1 added, 2 updated, 3 removed), a byte of flags saying which
//!   values follow, then for each side present its proficiency and times as zigzag varints,
//!   times relative to the row's `at`. The `after` side's `updatedAt` is left out when it is
//!   `at`, as it is for every entry a write records.
//! - **Entries of a large write** (the first byte is [`LISTED`]): the same, but the skill is a
//!   varint, its place in the list of skills its write names (`audit_writes.skills`, 16 bytes
//!   each), and the row's `at`, request, client and agent id are its write's (see migration
//!   0004 on SQLite, 0020 on PostgreSQL). An entry takes about 8 bytes instead of 23.
//! - **Rows moved in by the migration** (0003 on SQLite, 0002 on PostgreSQL) hold a text form
//!   SQL could write, one entry each:
//!   `skill,action,before_proficiency,before_effective,before_expires,before_updated,after_proficiency,after_effective,after_expires,after_updated`
//!   (the skill as 32 hex digits, absent values empty).
//! - **Ids:** the row has a random base id; entry `i` of the row has the base with `i` XORed
//!   into its last two bytes, so entry 0 keeps the base (rows moved in by the migration kept
//!   their entry's id as the base).
//! - **Positions** order the entries for paging: `row id << 16 | index`. A row holds at most
//!   65,536 entries; an agent with more changes in one write gets several rows.
//! - **Read with SQL:** the view `audit_entries` (migration 0008 on SQLite, 0020 on
//!   PostgreSQL) unpacks all three forms into one row per entry for operators. It repeats
//!   this module's reading in SQL, so a change to a form needs a new migration replacing the
//!   view; each backend's `the_audit_entries_view_lists_what_the_store_lists` test compares
//!   the two.

use crate::common::{self, AgentRow};
use crate::*;

/// Bits of a position that hold the index within a row.
const INDEX_BITS: u32 = 16;
/// Entries per row at most.
pub(crate) const ROW_ENTRIES: usize = 1 << INDEX_BITS;

/// The position of entry `index` of row `row`.
pub(crate) fn position(row: i64, index: usize) -> i64 {
    (row << INDEX_BITS) | index as i64
}

/// The row a position is in.
pub(crate) fn row_of(position: i64) -> i64 {
    position >> INDEX_BITS
}

/// The position of a cursor from before migration 0003, which named one row of the old table
/// of one entry per row; those rows moved with their id, as entry 0.
pub fn legacy_position(old_id: i64) -> i64 {
    old_id.clamp(i64::MIN >> INDEX_BITS, i64::MAX >> INDEX_BITS) << INDEX_BITS
}

/// The id of entry `index` of a row whose base id is `base`.
pub(crate) fn entry_id(base: Uuid, index: usize) -> Uuid {
    let mut b = *base.as_bytes();
    let i = index as u16;
    b[14] ^= (i >> 8) as u8;
    b[15] ^= i as u8;
    Uuid::from_bytes(b)
}

/// The skills the entries of one write name, in the order first named: entries in the
/// [`LISTED`] form name a skill by its place here.
#[derive(Default)]
pub(crate) struct SkillList {
    ids: Vec<Uuid>,
    places: foldhash::HashMap<Uuid, u32>,
}

impl SkillList {
    fn place(&mut self, id: Uuid) -> u32 {
        let next = self.ids.len() as u32;
        *self.places.entry(id).or_insert_with(|| {
            self.ids.push(id);
            next
        })
    }

    /// As stored: the ids one after another.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        self.ids.iter().flat_map(|id| *id.as_bytes()).collect()
    }
}

/// One row to write: an agent's entries of one write.
pub(crate) struct AuditSet {
    pub agent_pk: i64,
    pub agent: Uuid,
    pub uuid: Uuid,
    pub entries: Vec<u8>,
    /// How many entries `entries` holds.
    pub count: i64,
}

/// How entries name their skill: whole ([`Inline`], the [`BINARY`] form) or by place in their
/// write's list (a `RefCell<SkillList>`, the [`LISTED`] form).
pub(crate) trait SkillNames: Copy {
    const FORM: u8;
    /// About how many bytes an entry takes.
    const ENTRY_BYTES: usize;
    fn put(self, out: &mut Vec<u8>, skill: SkillId);
}

/// Skills written whole, 16 bytes each.
#[derive(Clone, Copy)]
pub(crate) struct Inline;

impl SkillNames for Inline {
    const FORM: u8 = BINARY;
    const ENTRY_BYTES: usize = 24;
    fn put(self, out: &mut Vec<u8>, skill: SkillId) {
        out.extend_from_slice(skill.get().as_bytes());
    }
}

impl SkillNames for &std::cell::RefCell<SkillList> {
    const FORM: u8 = LISTED;
    const ENTRY_BYTES: usize = 10;
    fn put(self, out: &mut Vec<u8>, skill: SkillId) {
        unsigned_varint(out, self.borrow_mut().place(skill.get()).into());
    }
}

/// The rows recording `writes`: per agent, its added, then updated, then removed assignments,
/// their skills named as `names` does.
pub(crate) fn audit_sets<'a, N: SkillNames + 'a>(
    writes: &'a [(&'a AgentWrite, &'a Plan)],
    agents: &'a foldhash::HashMap<AgentId, AgentRow>,
    now: Timestamp,
    names: N,
) -> impl Iterator<Item = AuditSet> + 'a {
    writes.iter().flat_map(move |(it, plan)| {
        let agent_pk = agents[&it.agent_id].pk;
        let added = plan
            .added
            .iter()
            .map(move |a| (a.skill_id, ACTION_ADDED, None, Some(common::stored(a, now))));
        let updated = plan.updated.iter().map(move |(old, a)| {
            (
                a.skill_id,
                ACTION_UPDATED,
                Some(*old),
                Some(common::stored(a, now)),
            )
        });
        let removed = plan
            .removed
            .iter()
            .map(|old| (old.skill_id, ACTION_REMOVED, Some(*old), None));
        let mut entries = added.chain(updated).chain(removed).peekable();
        std::iter::from_fn(move || {
            entries.peek()?;
            let n = plan.added.len() + plan.updated.len() + plan.removed.len();
            let mut packed = Vec::with_capacity(1 + N::ENTRY_BYTES * n.min(ROW_ENTRIES));
            packed.push(N::FORM);
            let mut count = 0;
            for (skill, action, before, after) in entries.by_ref() {
                names.put(&mut packed, skill);
                push_entry(&mut packed, now.0, action, before.as_ref(), after.as_ref());
                count += 1;
                if count == ROW_ENTRIES {
                    break;
                }
            }
            Some(AuditSet {
                agent_pk,
                agent: it.agent_id.get(),
                uuid: Uuid::now_v7(),
                entries: packed,
                count: count as i64,
            })
        })
    })
}

/// The first byte of entries in the binary form (the text form starts with a hex digit).
const BINARY: u8 = 1;
/// The first byte of entries that name skills by their place in their write's list.
const LISTED: u8 = 2;

const ACTION_ADDED: u8 = 1;
const ACTION_UPDATED: u8 = 2;
const ACTION_REMOVED: u8 = 3;

/// The flags of an entry that say which values of one side (before or after the change)
/// follow: the side itself, its effective time, its expiry.
#[derive(Clone, Copy)]
struct Side {
    present: u8,
    effective: u8,
    expires: u8,
}

const BEFORE: Side = Side {
    present: 1,
    effective: 2,
    expires: 4,
};
const AFTER: Side = Side {
    present: 8,
    effective: 16,
    expires: 32,
};
/// The after side was updated at the row's `at` (its `updatedAt` is left out).
const AFTER_AT: u8 = 64;

impl Side {
    /// The flags of `a` on this side.
    fn flags(self, a: &StoredAssignment) -> u8 {
        let flag = |flag, set: bool| if set { flag } else { 0 };
        self.present
            | flag(self.effective, a.effective.is_some())
            | flag(self.expires, a.expires.is_some())
    }
}

/// An entry after its skill: action, flags and values.
fn push_entry(
    out: &mut Vec<u8>,
    at: i64,
    action: u8,
    before: Option<&StoredAssignment>,
    after: Option<&StoredAssignment>,
) {
    out.push(action);
    let mut flags = before.map_or(0, |b| BEFORE.flags(b)) | after.map_or(0, |a| AFTER.flags(a));
    if after.is_some_and(|a| a.updated_at.0 == at) {
        flags |= AFTER_AT;
    }
    out.push(flags);
    for (side, is_after) in [(before, false), (after, true)] {
        let Some(a) = side else { continue };
        varint(out, a.proficiency);
        for t in [a.effective, a.expires].into_iter().flatten() {
            varint(out, t.0.wrapping_sub(at));
        }
        if !(is_after && flags & AFTER_AT != 0) {
            varint(out, a.updated_at.0.wrapping_sub(at));
        }
    }
}

/// A zigzag LEB128 varint.
fn varint(out: &mut Vec<u8>, v: i64) {
    unsigned_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// A LEB128 varint.
fn unsigned_varint(out: &mut Vec<u8>, mut z: u64) {
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// Reads what [`varint`] wrote.
fn read_varint(b: &[u8], at: &mut usize) -> Option<i64> {
    let z = read_unsigned_varint(b, at)?;
    Some(((z >> 1) as i64) ^ -((z & 1) as i64))
}

/// Reads what [`unsigned_varint`] wrote.
fn read_unsigned_varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut z: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at)?;
        *at += 1;
        z |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(z);
        }
    }
    None
}

/// A stored row as read back, with its entries still packed.
pub(crate) struct StoredSet {
    pub id: i64,
    pub uuid: Uuid,
    pub at: i64,
    pub request_id: String,
    pub client: Uuid,
    pub agent: Uuid,
    pub entries: Vec<u8>,
    /// The skills its write names, for entries in the [`LISTED`] form.
    pub skills: Option<Vec<u8>>,
}

/// One entry before it becomes a record: skill, action, before, after.
type Entry = (
    SkillId,
    u8,
    Option<StoredAssignment>,
    Option<StoredAssignment>,
);

impl StoredSet {
    /// The row's entries, in the order they were recorded.
    pub(crate) fn records(&self) -> Result<Vec<AuditRecord>> {
        Ok(self.unpack()?.into_iter().map(|(_, r)| r).collect())
    }

    /// The row's entries, each with its position, in the order they were recorded.
    fn unpack(&self) -> Result<Vec<(i64, AuditRecord)>> {
        let entries = match self.entries.first() {
            Some(&BINARY | &LISTED) => self.binary_entries(),
            _ => self.text_entries(),
        }
        .ok_or_else(|| {
            StoreError::Other(anyhow::anyhow!(
                "unreadable audit entries in row {}",
                self.id
            ))
        })?;
        Ok(entries
            .into_iter()
            .enumerate()
            .map(|(i, (skill_id, action, before, after))| {
                let record = AuditRecord {
                    id: entry_id(self.uuid, i),
                    at: Timestamp(self.at),
                    request_id: self.request_id.clone(),
                    client_id: self.client.into(),
                    agent_id: self.agent.into(),
                    skill_id,
                    action: match action {
                        ACTION_ADDED => AuditAction::Added,
                        ACTION_UPDATED => AuditAction::Updated,
                        _ => AuditAction::Removed,
                    },
                    before,
                    after,
                };
                (position(self.id, i), record)
            })
            .collect())
    }

    /// Entries in the [`BINARY`] or [`LISTED`] form.
    fn binary_entries(&self) -> Option<Vec<Entry>> {
        let b = &self.entries;
        let listed = match b.first() {
            Some(&LISTED) => Some(self.skills.as_deref()?),
            _ => None,
        };
        let mut at = 1;
        let mut out = Vec::new();
        while at < b.len() {
            let skill_id = SkillId::new(match listed {
                Some(list) => {
                    let place = usize::try_from(read_unsigned_varint(b, &mut at)?).ok()?;
                    let from = place.checked_mul(16)?;
                    Uuid::from_slice(list.get(from..from.checked_add(16)?)?).ok()?
                }
                None => {
                    let id = Uuid::from_slice(b.get(at..at + 16)?).ok()?;
                    at += 16;
                    id
                }
            });
            let action = *b.get(at)?;
            let flags = *b.get(at + 1)?;
            at += 2;
            if !(ACTION_ADDED..=ACTION_REMOVED).contains(&action) || flags & 0x80 != 0 {
                return None;
            }
            let mut side = |side: Side, updated_at_row: bool| {
                if flags & side.present == 0 {
                    return Some(None);
                }
                let proficiency = read_varint(b, &mut at)?;
                let mut time = |flag: u8| -> Option<Option<Timestamp>> {
                    if flags & flag == 0 {
                        return Some(None);
                    }
                    Some(Some(Timestamp(
                        read_varint(b, &mut at)?.wrapping_add(self.at),
                    )))
                };
                let effective = time(side.effective)?;
                let expires = time(side.expires)?;
                let updated_at = if updated_at_row {
                    Timestamp(self.at)
                } else {
                    Timestamp(read_varint(b, &mut at)?.wrapping_add(self.at))
                };
                Some(Some(StoredAssignment {
                    skill_id,
                    proficiency,
                    effective,
                    expires,
                    updated_at,
                }))
            };
            let before = side(BEFORE, false)?;
            let after = side(AFTER, flags & AFTER_AT != 0)?;
            out.push((skill_id, action, before, after));
        }
        Some(out)
    }

    /// The text form of rows moved in by the migration.
    fn text_entries(&self) -> Option<Vec<Entry>> {
        let text = std::str::from_utf8(&self.entries).ok()?;
        text.split(';')
            .map(|packed| {
                let f: Vec<&str> = packed.split(',').collect();
                if f.len() != 10 {
                    return None;
                }
                let skill_id = SkillId::new(Uuid::try_parse(f[0]).ok()?);
                let action = match f[1] {
                    "1" => ACTION_ADDED,
                    "2" => ACTION_UPDATED,
                    "3" => ACTION_REMOVED,
                    _ => return None,
                };
                let int = |s: &str| -> Option<Option<i64>> {
                    if s.is_empty() {
                        Some(None)
                    } else {
                        s.parse().ok().map(Some)
                    }
                };
                let side = |s: &[&str]| -> Option<Option<StoredAssignment>> {
                    Some(match int(s[0])? {
                        None => None,
                        Some(proficiency) => Some(StoredAssignment {
                            skill_id,
                            proficiency,
                            effective: int(s[1])?.map(Timestamp),
                            expires: int(s[2])?.map(Timestamp),
                            updated_at: Timestamp(int(s[3])?.unwrap_or(0)),
                        }),
                    })
                };
                Some((skill_id, action, side(&f[2..6])?, side(&f[6..10])?))
            })
            .collect()
    }
}

/// The order of a page of entries.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// Oldest first, after the position of the cursor.
    Ascending,
    /// Newest first, before the position of the cursor.
    Descending,
}

/// A page of entries in `order` from the cursor `after`, from rows in that order by id
/// starting at the row of the cursor. Reads rows only until the page is full.
pub(crate) fn page(
    rows: impl IntoIterator<Item = Result<StoredSet>>,
    after: Option<i64>,
    limit: u32,
    order: Order,
) -> Result<Paged<AuditRecord>> {
    let wanted = |pos: i64| match (after, order) {
        (None, _) => true,
        (Some(cursor), Order::Ascending) => pos > cursor,
        (Some(cursor), Order::Descending) => pos < cursor,
    };
    let mut out = Vec::new();
    for row in rows {
        let mut entries = row?.unpack()?;
        if order == Order::Descending {
            entries.reverse();
        }
        out.extend(entries.into_iter().filter(|(pos, _)| wanted(*pos)));
        if out.len() > limit as usize {
            break;
        }
    }
    out.truncate(limit as usize + 1);
    Ok(common::paged(out, limit))
}

/// A row of `audit_sets` read with the columns `id, uuid, at, request_id, client_uuid,
/// agent_uuid, entries, skills`, in that order, on either backend (`skills`: its write's list,
/// or NULL).
/// A backend's parts of the audit feed's statement (see `per_backend/trail.rs`).
pub(crate) struct FeedSql {
    /// The columns [`stored_set`] reads, of the rows `s` of `audit_sets`, to be finished by a
    /// `WHERE`.
    pub select: &'static str,
    /// A row's time.
    pub at: &'static str,
    /// The id of a row's client.
    pub client: &'static str,
    /// Whether a row may hold an entry of a skill, given as `{bytes}` (its 16 bytes) and
    /// `{hex}` (its 32 lowercase hex digits): never false for a row that does.
    pub names_skill: &'static str,
}

/// A page of the feed, newest first, from `rows` (read newest first, `full` when the statement
/// returned as many as it asked for): the entries before position `after` of `skill` (any
/// when `None`). When the rows run out before the page is full but more may follow, the next
/// page starts below the last row read.
pub(crate) fn feed_page(
    rows: impl IntoIterator<Item = Result<StoredSet>>,
    full: bool,
    after: Option<i64>,
    skill: Option<SkillId>,
    limit: u32,
) -> Result<Paged<AuditRecord>> {
    let mut out = Vec::new();
    let mut last_row = None;
    for row in rows {
        let row = row?;
        last_row = Some(row.id);
        let mut entries = row.unpack()?;
        entries.reverse();
        out.extend(entries.into_iter().filter(|(pos, r)| {
            after.is_none_or(|cursor| *pos < cursor) && skill.is_none_or(|k| r.skill_id == k)
        }));
        if out.len() > limit as usize {
            out.truncate(limit as usize + 1);
            return Ok(common::paged(out, limit));
        }
    }
    Ok(Paged {
        items: out.into_iter().map(|(_, r)| r).collect(),
        next: last_row.filter(|_| full).map(|row| position(row, 0)),
    })
}

pub(crate) fn stored_set<R>(r: &R) -> Result<StoredSet>
where
    R: sqlx::Row,
    for<'r> StoredColumns: sqlx::FromRow<'r, R>,
{
    let (id, uuid, at, request_id, client, agent, entries, skills) = sqlx::FromRow::from_row(r)?;
    Ok(StoredSet {
        id,
        uuid,
        at,
        request_id,
        client,
        agent,
        entries,
        skills,
    })
}

/// The columns [`stored_set`] reads, in their order.
type StoredColumns = (i64, Uuid, i64, String, Uuid, Uuid, Vec<u8>, Option<Vec<u8>>);

/// Rows to read for a page of `limit` entries: the cursor's row may have nothing left, and
/// every other row has at least one entry.
pub(crate) fn rows_for(limit: u32) -> i64 {
    limit as i64 + 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(id: i64, entries: impl Into<Vec<u8>>) -> StoredSet {
        StoredSet {
            id,
            uuid: Uuid::from_u128(0xabc0),
            at: 5,
            request_id: "r".into(),
            client: Uuid::from_u128(1),
            agent: Uuid::from_u128(2),
            entries: entries.into(),
            skills: None,
        }
    }

    fn asg(p: i64, eff: Option<i64>, exp: Option<i64>, upd: i64) -> StoredAssignment {
        StoredAssignment {
            skill_id: SkillId::new(Uuid::from_u128(0x1234)),
            proficiency: p,
            effective: eff.map(Timestamp),
            expires: exp.map(Timestamp),
            updated_at: Timestamp(upd),
        }
    }

    #[test]
    fn binary_entries_round_trip_with_every_value_present_or_not() {
        let at = 1_750_000_000_000;
        let sides = [
            None,
            Some(asg(0, None, None, at)),
            Some(asg(-3, Some(i64::MIN), Some(i64::MAX), at - 86_400_000)),
            Some(asg(i64::MAX, Some(at + 1), None, i64::MIN)),
            Some(asg(i64::MIN, None, Some(-1), 0)),
        ];
        let mut want = Vec::new();
        let mut ends = std::collections::HashSet::new();
        let mut packed = vec![BINARY];
        for (i, before) in sides.iter().enumerate() {
            for after in &sides {
                let action = [ACTION_ADDED, ACTION_UPDATED, ACTION_REMOVED][i % 3];
                let skill = SkillId::new(Uuid::from_u128(0x1234));
                Inline.put(&mut packed, skill);
                push_entry(&mut packed, at, action, before.as_ref(), after.as_ref());
                ends.insert(packed.len());
                want.push((skill, action, *before, *after));
            }
        }
        let row = StoredSet {
            at,
            ..set(9, packed.clone())
        };
        assert_eq!(row.binary_entries(), Some(want.clone()));
        let got = row.unpack().unwrap();
        assert_eq!(got.len(), want.len());
        assert_eq!(got[1].0, position(9, 1));
        assert_eq!(got[1].1.id, Uuid::from_u128(0xabc1));
        assert!(matches!(got[0].1.action, AuditAction::Added));
        // A typical entry (a proficiency changed an hour after the last change) takes 25 bytes.
        let mut one = vec![BINARY];
        let old = asg(40, None, None, at - 3_600_000);
        let new = asg(90, None, None, at);
        Inline.put(&mut one, old.skill_id);
        push_entry(&mut one, at, ACTION_UPDATED, Some(&old), Some(&new));
        assert_eq!(one.len(), 1 + 25);
        // Cut anywhere but between entries, or with a bad action or flag, it is refused, not
        // misread.
        for cut in 2..packed.len() {
            let r = StoredSet {
                at,
                ..set(1, packed[..cut].to_vec())
            };
            assert_eq!(r.unpack().is_ok(), ends.contains(&cut), "cut at {cut}");
        }
        let mut bad = one.clone();
        bad[17] = 4;
        assert!(set(1, bad).unpack().is_err());
        let mut bad = one.clone();
        bad[18] |= 0x80;
        assert!(set(1, bad).unpack().is_err());
    }

    /// Entries that name skills by their place in their write's list read back with the
    /// skills of that list; without the list, or with a place past its end, they are refused.
    #[test]
    fn listed_entries_read_with_their_writes_skills() {
        let at = 1_750_000_000_000;
        let skills: Vec<SkillId> = (0..200)
            .map(|i| SkillId::new(Uuid::from_u128(0x5000 + i)))
            .collect();
        let list = std::cell::RefCell::new(SkillList::default());
        let mut packed = vec![LISTED];
        let mut want = Vec::new();
        // Places past 127 take two bytes; a skill named again keeps its place.
        for (n, skill) in skills.iter().chain(&skills[..3]).enumerate() {
            let after = StoredAssignment {
                skill_id: *skill,
                ..asg(n as i64, None, None, at)
            };
            (&list).put(&mut packed, *skill);
            push_entry(&mut packed, at, ACTION_ADDED, None, Some(&after));
            want.push((*skill, ACTION_ADDED, None, Some(after)));
        }
        let stored = list.borrow().to_bytes();
        assert_eq!(stored.len(), 16 * skills.len());
        let row = StoredSet {
            at,
            skills: Some(stored.clone()),
            ..set(3, packed.clone())
        };
        assert_eq!(row.binary_entries(), Some(want));
        // A typical entry: one byte of place, then action, flags and one value.
        let mut one = vec![LISTED];
        (&list).put(&mut one, skills[5]);
        push_entry(
            &mut one,
            at,
            ACTION_UPDATED,
            Some(&asg(40, None, None, at - 3_600_000)),
            Some(&asg(90, None, None, at)),
        );
        assert_eq!(one.len(), 1 + 10);
        assert!(set(3, packed.clone()).unpack().is_err(), "no list");
        let short = StoredSet {
            skills: Some(stored[..16 * 100].to_vec()),
            ..set(3, packed)
        };
        assert!(short.unpack().is_err(), "a place past the list's end");
    }

    #[test]
    fn text_entries_of_migrated_rows_read() {
        let packed = "00000000000000000000000000001234,2,40,,-7,3,90,1,,5;00000000000000000000000000001234,3,40,,-7,3,,,,";
        let got = set(9, packed).unpack().unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1.before, Some(asg(40, None, Some(-7), 3)));
        assert_eq!(got[0].1.after, Some(asg(90, Some(1), None, 5)));
        assert!(matches!(got[1].1.action, AuditAction::Removed));
        assert_eq!(got[1].1.after, None);
        for bad in [
            "",
            "x,1,,,,,,,,",
            "00000000000000000000000000001234,4,,,,,,,,",
            "00000000000000000000000000001234,1,,,,,1,,",
            "00000000000000000000000000001234,1,,,,,1,,,5,6",
            "00000000000000000000000000001234,1,,,,,z,,,5",
        ] {
            assert!(set(1, bad).unpack().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn entry_ids_differ_within_a_row_and_keep_the_base_at_zero() {
        let base = Uuid::now_v7();
        assert_eq!(entry_id(base, 0), base);
        let ids: std::collections::HashSet<Uuid> =
            (0..ROW_ENTRIES).map(|i| entry_id(base, i)).collect();
        assert_eq!(ids.len(), ROW_ENTRIES);
    }

    #[test]
    fn pages_follow_positions_across_rows_both_ways() {
        let e = "00000000000000000000000000000001,1,,,,,1,,,5";
        let rows = || {
            vec![
                set(1, format!("{e};{e};{e}")),
                set(2, e),
                set(3, format!("{e};{e}")),
            ]
        };
        let asc = page(rows().into_iter().map(Ok), None, 4, Order::Ascending).unwrap();
        assert_eq!(asc.items.len(), 4);
        assert_eq!(asc.next, Some(position(2, 0)));
        let rest: Vec<_> = rows().into_iter().filter(|r| r.id >= 2).map(Ok).collect();
        let asc2 = page(rest, asc.next, 4, Order::Ascending).unwrap();
        assert_eq!(asc2.items.len(), 2);
        assert_eq!(asc2.next, None);

        let desc = page(rows().into_iter().rev().map(Ok), None, 2, Order::Descending).unwrap();
        assert_eq!(desc.next, Some(position(3, 0)));
        let rest: Vec<_> = rows()
            .into_iter()
            .rev()
            .filter(|r| r.id <= 3)
            .map(Ok)
            .collect();
        let desc2 = page(rest, desc.next, 2, Order::Descending).unwrap();
        assert_eq!(desc2.next, Some(position(1, 2)));
        assert_eq!(legacy_position(3), position(3, 0));
        // Any number a client makes up stays in range.
        assert_eq!(legacy_position(i64::MAX), (i64::MAX >> 16) << 16);
        assert!(legacy_position(i64::MIN) < 0);
    }
}

/// A database migrated from before 0003 must show the entries it held with the same ids,
/// values and order, and follow cursors handed out before. Run by each backend's tests on a
/// database it set up at the old schema with [`old_rows`] written as old-format rows.
#[cfg(test)]
pub(crate) mod migration_check {
    use super::*;

    pub const ORG: OrgId = OrgId::new(Uuid::from_u128(0x0a));
    pub const AGENT: AgentId = AgentId::new(Uuid::from_u128(0x0b));
    pub const CLIENT: ClientId = ClientId::new(Uuid::from_u128(0x0c));
    pub const SKILL: SkillId = SkillId::new(Uuid::from_u128(0x5c));

    /// `(id, uuid, action, before, after)` of the old rows, each side
    /// `(proficiency, effective, expires, updated)`.
    #[allow(clippy::type_complexity)]
    pub fn old_rows() -> Vec<(
        i64,
        Uuid,
        i64,
        Option<[Option<i64>; 4]>,
        Option<[Option<i64>; 4]>,
    )> {
        vec![
            (
                1,
                Uuid::from_u128(0x101),
                1,
                None,
                Some([Some(50), None, Some(-3), Some(1000)]),
            ),
            (
                2,
                Uuid::from_u128(0x102),
                2,
                Some([Some(50), None, Some(-3), Some(1000)]),
                Some([Some(90), Some(7), None, Some(2000)]),
            ),
            (
                5,
                Uuid::from_u128(0x105),
                3,
                Some([Some(90), Some(7), None, Some(2000)]),
                None,
            ),
        ]
    }

    /// The SQL value of an optional integer.
    fn lit(v: Option<i64>) -> String {
        v.map_or("NULL".into(), |v| v.to_string())
    }

    /// SQL that fills a database at the schema before the migration with an organization, an
    /// agent and [`old_rows`]; `uuid` writes a literal of a UUID, `yes` one of true.
    pub fn old_data(uuid: fn(Uuid) -> String, yes: &str) -> String {
        let mut sql = format!(
            "INSERT INTO orgs (id, uuid, name, name_key, settings, created_at) VALUES (1, {}, 'o', 'o', '{{}}', 0);
             INSERT INTO agents (id, uuid, org_id, email, email_key, name, active, version, created_at, updated_at)
               VALUES (1, {}, 1, 'a@x.io', 'a@x.io', 'A', {yes}, 3, 0, 0);",
            uuid(ORG.get()),
            uuid(AGENT.get())
        );
        for (id, u, action, before, after) in old_rows() {
            let [bp, be, bx, bu] = before.unwrap_or_default();
            let [ap, ae, ax, au] = after.unwrap_or_default();
            sql += &format!(
                "INSERT INTO audit (id, uuid, org_id, at, request_id, client_uuid, agent_id, skill_id, agent_uuid, skill_uuid, action,
                   before_proficiency, before_effective, before_expires, before_updated,
                   after_proficiency, after_effective, after_expires, after_updated)
                 VALUES ({id}, {}, 1, 1234, 'req-old', {}, 1, 9, {}, {}, {action}, {}, {}, {}, {}, {}, {}, {}, {});",
                uuid(u), uuid(CLIENT.get()), uuid(AGENT.get()), uuid(SKILL.get()),
                lit(bp), lit(be), lit(bx), lit(bu), lit(ap), lit(ae), lit(ax), lit(au)
            );
        }
        sql
    }

    /// A row of the `audit_entries` view as [`view_sql`] reads it: position, entry id, at,
    /// request id, client, agent, skill, action, then before and after as (proficiency,
    /// effective, expires, updated).
    pub type ViewRow = (
        i64,
        String,
        i64,
        String,
        String,
        String,
        String,
        String,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    );

    /// The query of every row of the view, in position order; `text` turns a uuid column
    /// into text (nothing on SQLite, where the view's uuids are text already).
    pub fn view_sql(text: &str) -> String {
        format!(
            "SELECT position, entry_id{text}, at, request_id, client_uuid{text}, agent_uuid{text},
               skill_uuid{text}, action, before_proficiency, before_effective, before_expires,
               before_updated, after_proficiency, after_effective, after_expires, after_updated
             FROM audit_entries ORDER BY position"
        )
    }

    /// A row of the view as compared: the first eight columns, then the values.
    pub type Compared = (
        (i64, String, i64, String, String, String, String, String),
        [Option<i64>; 8],
    );

    /// A [`ViewRow`] in the shape it is compared in (a tuple of 16 cannot be compared).
    pub fn compared(r: ViewRow) -> Compared {
        let (pos, id, at, req, client, agent, skill, action, bp, be, bx, bu, ap, ae, ax, au) = r;
        (
            (pos, id, at, req, client, agent, skill, action),
            [bp, be, bx, bu, ap, ae, ax, au],
        )
    }

    /// What the `audit_entries` view must list for the moved rows (in the text form).
    pub fn view_want() -> Vec<Compared> {
        old_rows()
            .into_iter()
            .map(|(id, uuid, action, before, after)| {
                let [bp, be, bx, bu] = before.unwrap_or_default();
                let [ap, ae, ax, au] = after.unwrap_or_default();
                (
                    (
                        legacy_position(id),
                        uuid.to_string(),
                        1234,
                        "req-old".into(),
                        CLIENT.to_string(),
                        AGENT.to_string(),
                        SKILL.to_string(),
                        ["added", "updated", "removed"][action as usize - 1].into(),
                    ),
                    [bp, be, bx, bu, ap, ae, ax, au],
                )
            })
            .collect()
    }

    pub async fn check(store: &dyn Store) {
        // The agent's version (its ETag) came through every migration too.
        assert_eq!(store.agent_skills(ORG, AGENT).await.unwrap().version, 3);
        let all = store
            .audit_log(
                ORG,
                None,
                PageRequest {
                    after: None,
                    limit: 10,
                },
            )
            .await
            .unwrap();
        assert_eq!(all.next, None);
        let want = old_rows();
        assert_eq!(all.items.len(), want.len());
        for (got, (_, id, action, before, after)) in all.items.iter().zip(&want) {
            assert_eq!(got.id, *id);
            assert_eq!(got.at, Timestamp(1234));
            assert_eq!(got.request_id, "req-old");
            assert_eq!(got.client_id, CLIENT);
            assert_eq!(got.agent_id, AGENT);
            assert_eq!(got.skill_id, SKILL);
            let code = match got.action {
                AuditAction::Added => 1,
                AuditAction::Updated => 2,
                AuditAction::Removed => 3,
            };
            assert_eq!(code, *action);
            let side = |s: &Option<[Option<i64>; 4]>| {
                s.map(|[p, e, x, u]| StoredAssignment {
                    skill_id: SKILL,
                    proficiency: p.unwrap(),
                    effective: e.map(Timestamp),
                    expires: x.map(Timestamp),
                    updated_at: Timestamp(u.unwrap()),
                })
            };
            assert_eq!(got.before, side(before));
            assert_eq!(got.after, side(after));
        }
        // A cursor from before the migration named the old row id of the last entry read.
        let page = |after, limit| PageRequest { after, limit };
        let rest = store
            .audit_log(ORG, None, page(Some(legacy_position(2)), 10))
            .await
            .unwrap();
        assert_eq!(rest.items.len(), 1);
        assert_eq!(rest.items[0].id, Uuid::from_u128(0x105));
        let older = store
            .agent_history(ORG, AGENT, page(Some(legacy_position(5)), 1))
            .await
            .unwrap();
        assert_eq!(older.items[0].id, Uuid::from_u128(0x102));
        let last = store
            .agent_history(ORG, AGENT, page(older.next, 5))
            .await
            .unwrap();
        assert_eq!(last.items.len(), 1);
        assert_eq!(last.items[0].id, Uuid::from_u128(0x101));
        assert_eq!(last.next, None);
    }
}
