//! The `audit_entries` view, checked the same way on every backend: after writes of every kind
//! (added, updated, removed; with and without dates; small and large), the view lists each
//! organization's entries exactly as `Store::audit_log` returns them, in the same order, with
//! the positions its cursors name.

use super::helpers::Org;
use skillgrid_core::api::AuditAction;
use skillgrid_core::model::{Assignment, SkillSetWrite, StoredAssignment};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::*;
use uuid::Uuid;

const HOUR: i64 = 3600 * 1000;
const DAY: i64 = 24 * HOUR;
/// The time of the first write: a real one, so that times are stored relative to it.
pub const T0: i64 = 1_750_000_000_000;
/// Agents of the large writes: more than a backend writes in its small-write path.
const MANY: usize = 70;
/// Skills of an organization: enough for one agent's entries of a write to take more than the
/// 512 bytes SQLite's view reads at a time.
const SKILLS: usize = 60;

/// A row of the view, its columns in the order of [`COLUMNS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewRow {
    pub position: i64,
    pub entry_id: Uuid,
    pub org: Uuid,
    pub at: i64,
    pub request_id: String,
    pub client: Uuid,
    pub agent: Uuid,
    pub skill: Uuid,
    pub action: String,
    /// proficiency, effective, expires, updated
    pub before: [Option<i64>; 4],
    pub after: [Option<i64>; 4],
}

impl ViewRow {
    /// A row read with [`COLUMNS`]; `uuid` reads a uuid column (text on SQLite).
    pub fn read<R>(r: &R, uuid: impl Fn(&R, usize) -> Uuid) -> ViewRow
    where
        R: sqlx::Row,
        usize: sqlx::ColumnIndex<R>,
        for<'q> i64: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
        for<'q> String: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
        for<'q> Option<i64>: sqlx::Decode<'q, R::Database> + sqlx::Type<R::Database>,
    {
        ViewRow {
            position: r.get(0),
            entry_id: uuid(r, 1),
            org: uuid(r, 2),
            at: r.get(3),
            request_id: r.get(4),
            client: uuid(r, 5),
            agent: uuid(r, 6),
            skill: uuid(r, 7),
            action: r.get(8),
            before: [r.get(9), r.get(10), r.get(11), r.get(12)],
            after: [r.get(13), r.get(14), r.get(15), r.get(16)],
        }
    }
}

/// The columns a backend's test reads into a [`ViewRow`], in its order.
pub const COLUMNS: &str = "position, entry_id, org_uuid, at, request_id, client_uuid, agent_uuid,
    skill_uuid, action, before_proficiency, before_effective, before_expires, before_updated,
    after_proficiency, after_effective, after_expires, after_updated";

fn assignment(skill: SkillId, p: i64, effective: Option<i64>, expires: Option<i64>) -> Assignment {
    Assignment {
        proficiency: p,
        effective: effective.map(Timestamp),
        expires: expires.map(Timestamp),
        ..Assignment::omitted(skill, 50)
    }
}

/// Writes of every kind to two organizations; returns their ids.
pub async fn write_every_kind(s: &dyn Store) -> [Uuid; 2] {
    let ours = Org::new(s, "ours", SKILLS, MANY).await;
    let theirs = Org::new(s, "theirs", SKILLS, 2).await;
    let [s1, s2, s3] = [ours.skills[0], ours.skills[1], ours.skills[2]];
    let extra = &ours.skills[3..];
    // Small: one agent gets a skill without dates, one with both, and many more.
    ours.write_at(s, &ours.agents[..1], T0, |_| {
        let mut set = vec![
            assignment(s1, 50, None, None),
            assignment(s2, 70, Some(T0 - HOUR), Some(T0 + DAY)),
        ];
        set.extend(extra[..30].iter().enumerate().map(|(n, k)| {
            assignment(*k, n as i64, Some(T0 + n as i64 * HOUR), Some(T0 + 9 * DAY))
        }));
        SkillSetWrite::Replace(set)
    })
    .await;
    // Small: updated (gaining a date), removed (with dates), added (without).
    ours.write_at(s, &ours.agents[..1], T0 + HOUR, |_| SkillSetWrite::Merge {
        upsert: vec![
            assignment(s1, 60, Some(T0 + 2 * HOUR), None),
            assignment(s3, 0, None, None),
        ],
        remove: vec![s2],
    })
    .await;
    // Large: every agent; the first has each of its skills updated, added or removed, and
    // many of them.
    ours.write_at(s, &ours.agents[..MANY], T0 + 2 * HOUR, |i| {
        let mut set = vec![
            assignment(s1, 10 + i as i64, None, Some(T0 + 3 * DAY)),
            assignment(s2, 20, Some(T0 - DAY), Some(T0 + 3 * DAY)),
        ];
        if i == 0 {
            set.extend(
                extra[10..]
                    .iter()
                    .enumerate()
                    .map(|(n, k)| assignment(*k, 100 - n as i64, None, Some(T0 + n as i64 * DAY))),
            );
        }
        SkillSetWrite::Replace(set)
    })
    .await;
    // Large: dates dropped, and assignments with dates removed.
    ours.write_at(s, &ours.agents[..MANY], T0 + 3 * HOUR, |_| {
        SkillSetWrite::Merge {
            upsert: vec![assignment(s2, 30, None, None)],
            remove: vec![s1],
        }
    })
    .await;
    let [t1, t2] = [theirs.skills[0], theirs.skills[1]];
    theirs
        .write_at(s, &theirs.agents[..2], T0 + HOUR, |_| {
            SkillSetWrite::Replace(vec![
                assignment(t1, 5, None, None),
                assignment(t2, 6, Some(T0), None),
            ])
        })
        .await;
    [ours.id.get(), theirs.id.get()]
}

/// The organization's entries as the store lists them, one page of one at a time so that
/// each comes with its position (the cursor of the page after it).
async fn store_rows(s: &dyn Store, org: Uuid) -> Vec<ViewRow> {
    let side = |a: &Option<StoredAssignment>| match a {
        None => [None; 4],
        Some(a) => [
            Some(a.proficiency),
            a.effective.map(|t| t.0),
            a.expires.map(|t| t.0),
            Some(a.updated_at.0),
        ],
    };
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .audit_log(org.into(), None, PageRequest { after, limit: 1 })
            .await
            .unwrap();
        let Some(e) = page.items.first() else {
            return out;
        };
        // The last entry has no cursor after it; it is compared without its position.
        let position = page.next.unwrap_or(i64::MIN);
        out.push(ViewRow {
            position,
            entry_id: e.id,
            org,
            at: e.at.0,
            request_id: e.request_id.clone(),
            client: e.client_id.get(),
            agent: e.agent_id.get(),
            skill: e.skill_id.get(),
            action: match e.action {
                AuditAction::Added => "added",
                AuditAction::Updated => "updated",
                AuditAction::Removed => "removed",
            }
            .into(),
            before: side(&e.before),
            after: side(&e.after),
        });
        match page.next {
            Some(n) => after = Some(n),
            None => return out,
        }
    }
}

/// After [`write_every_kind`], `view(org)` (the organization's rows of the view in position
/// order) is what the store lists, for each organization.
pub async fn view_lists_what_the_store_lists(
    s: &dyn Store,
    orgs: [Uuid; 2],
    mut view: impl AsyncFnMut(Uuid) -> Vec<ViewRow>,
) {
    for (n, org) in orgs.into_iter().enumerate() {
        let rows = view(org).await;
        if n == 0 {
            covers_every_kind(&rows);
        }
        view_matches_the_store(s, org, rows).await;
    }
}

/// `view`, the organization's rows of the view in position order, is what the store lists.
async fn view_matches_the_store(s: &dyn Store, org: Uuid, mut view: Vec<ViewRow>) {
    let want = store_rows(s, org).await;
    assert!(!want.is_empty());
    assert_eq!(view.len(), want.len(), "entries of {org}");
    assert!(view.windows(2).all(|w| w[0].position < w[1].position));
    // The store hands out no cursor after its last entry; compare that one without it.
    if let (Some(v), Some(w)) = (view.last_mut(), want.last()) {
        if w.position == i64::MIN {
            v.position = i64::MIN;
        }
    }
    for (n, (got, want)) in view.iter().zip(&want).enumerate() {
        assert_eq!(got, want, "entry {n} of {org}");
    }
}

/// The view of the organization the scenario wrote most to holds every action, with and
/// without dates on each side.
fn covers_every_kind(view: &[ViewRow]) {
    for action in ["added", "updated", "removed"] {
        assert!(view.iter().any(|r| r.action == action), "{action}");
    }
    for side in [|r: &ViewRow| r.before, |r: &ViewRow| r.after] {
        let dated = |r: &&ViewRow| side(r)[1].is_some() && side(r)[2].is_some();
        assert!(view
            .iter()
            .filter(|r| side(r)[0].is_some())
            .any(|r| dated(&r)));
        assert!(view
            .iter()
            .filter(|r| side(r)[0].is_some())
            .any(|r| !dated(&r)));
    }
}
