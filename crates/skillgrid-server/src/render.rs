//! Records from the store, turned into the wire types of `skillgrid-api`.

use base64::Engine;
use foldhash::HashMap;
use skillgrid_api::{
    Agent, AssignmentOut, AuditEntry, Changes, EntryCode, ErrorEntry, Locator, ProficiencyScale,
    Skill, UpdatedAssignment,
};
use skillgrid_core::diff::Plan;
use skillgrid_core::model::{Assignment, CatalogSkill, ClientId, SkillId, StoredAssignment};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::{AgentRecord, AuditRecord, SkillRecord};
use std::cell::RefCell;
use std::io::{self, Write};
use uuid::Uuid;

pub fn skill(s: SkillRecord) -> Skill {
    Skill {
        id: s.id.get(),
        name: s.name,
        description: s.description,
        active: s.active,
        created_at: s.created_at.to_rfc3339(),
        updated_at: s.updated_at.to_rfc3339(),
    }
}

pub fn agent(a: AgentRecord) -> Agent {
    Agent {
        id: a.id.get(),
        email: a.email,
        name: a.name,
        external_id: a.external_id,
        active: a.active,
        created_at: a.created_at.to_rfc3339(),
        updated_at: a.updated_at.to_rfc3339(),
    }
}

/// Renders assignments: skill names from the catalog, `level` from the scale, `active` at `now`.
pub struct Renderer<'a> {
    pub scale: &'a ProficiencyScale,
    pub names: HashMap<SkillId, &'a str>,
    pub now: Timestamp,
}

impl<'a> Renderer<'a> {
    pub fn new(scale: &'a ProficiencyScale, catalog: &'a [CatalogSkill]) -> Self {
        Renderer {
            scale,
            names: catalog.iter().map(|c| (c.id, c.name.as_str())).collect(),
            now: Timestamp::now(),
        }
    }

    pub fn assignment(&self, a: &StoredAssignment) -> AssignmentOut {
        AssignmentOut {
            skill_id: a.skill_id.get(),
            skill_name: self.name(&a.skill_id).to_string(),
            proficiency: a.proficiency,
            level: self.scale.level_of(a.proficiency).map(String::from),
            effective_date: a.effective.map(Timestamp::to_rfc3339),
            expiration_date: a.expires.map(Timestamp::to_rfc3339),
            active: self.active(a),
            updated_at: a.updated_at.to_rfc3339(),
            sources: None,
        }
    }

    fn name(&self, skill: &SkillId) -> &str {
        self.names.get(skill).copied().unwrap_or("(deleted skill)")
    }

    /// `effectiveDate` ≤ now < `expirationDate`.
    fn active(&self, a: &StoredAssignment) -> bool {
        a.effective.is_none_or(|t| t <= self.now) && a.expires.is_none_or(|t| self.now < t)
    }

    fn new_assignment(&self, a: &Assignment, at: Timestamp) -> AssignmentOut {
        self.assignment(&stored(a, at))
    }

    /// A set, ordered by skill name (case-insensitively), then id.
    pub fn set(&self, skills: &[StoredAssignment]) -> Vec<AssignmentOut> {
        let mut out: Vec<AssignmentOut> = skills.iter().map(|a| self.assignment(a)).collect();
        out.sort_by(|a, b| {
            a.skill_name
                .to_lowercase()
                .cmp(&b.skill_name.to_lowercase())
                .then(a.skill_id.cmp(&b.skill_id))
        });
        out
    }

    pub fn changes(&self, plan: &Plan, at: Timestamp) -> Changes {
        Changes {
            added: plan
                .added
                .iter()
                .map(|a| self.new_assignment(a, at))
                .collect(),
            updated: plan
                .updated
                .iter()
                .map(|(old, new)| UpdatedAssignment {
                    skill_id: new.skill_id.get(),
                    before: self.assignment(old),
                    after: self.new_assignment(new, at),
                })
                .collect(),
            removed: plan.removed.iter().map(|a| self.assignment(a)).collect(),
        }
    }

    /// An audit entry; `users` maps the API clients of console users to the users (see
    /// `crate::console::api::users_by_client`).
    pub fn audit(&self, r: AuditRecord, users: &HashMap<ClientId, Uuid>) -> AuditEntry {
        AuditEntry {
            id: r.id,
            at: r.at.to_rfc3339(),
            request_id: r.request_id,
            user_id: users.get(&r.client_id).copied(),
            client_id: r.client_id.get(),
            agent_id: r.agent_id.get(),
            skill_id: r.skill_id.get(),
            action: r.action,
            before: r.before.as_ref().map(|a| self.assignment(a)),
            after: r.after.as_ref().map(|a| self.assignment(a)),
        }
    }
}

/// Writes the JSON of [`Changes`] by hand: byte for byte what serde writes for the wire types,
/// about three times as fast, with no string allocated per assignment. A bulk answer holds up
/// to hundreds of thousands of assignments; everything that is the same for every assignment
/// of a skill (its id and escaped name) is rendered once.
pub struct ChangesWriter<'a> {
    r: &'a Renderer<'a>,
    /// Per skill of the catalog: `{"skillId":"…","skillName":"…","proficiency":`, and
    /// `{"skillId":"…","before":` (an updated assignment's start).
    heads: HashMap<SkillId, (Vec<u8>, Vec<u8>)>,
    /// Per value of the scale, from its minimum: `85,"level":"Advanced"`.
    values: Vec<Vec<u8>>,
    /// The last two times written, as `"…"`: rows of one write share their time, and an
    /// updated assignment goes from its old time to the write's.
    times: RefCell<TimeCache>,
}

/// Scales wider than this have their `proficiency` and `level` written one at a time.
const MAX_PRERENDERED_VALUES: i64 = 1_000;

impl<'a> ChangesWriter<'a> {
    pub fn new(r: &'a Renderer<'a>) -> Self {
        let heads = r
            .names
            .iter()
            .map(|(id, name)| (*id, (head(id, name), updated_head(id))))
            .collect();
        let (min, max) = (r.scale.min, r.scale.max);
        let values = if max >= min && max - min < MAX_PRERENDERED_VALUES {
            (min..=max)
                .map(|v| {
                    let mut out = Vec::new();
                    let _ = value(&mut out, r, v);
                    out
                })
                .collect()
        } else {
            Vec::new()
        };
        ChangesWriter {
            r,
            heads,
            values,
            times: RefCell::new(TimeCache::default()),
        }
    }

    /// `{"added":[…],"updated":[…],"removed":[…]}` of `plan`, new values as of `at`.
    pub fn write(&self, w: &mut impl Write, plan: &Plan, at: Timestamp) -> io::Result<()> {
        w.write_all(b"{\"added\":[")?;
        for (i, a) in plan.added.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            self.assignment(w, &stored(a, at))?;
        }
        w.write_all(b"],\"updated\":[")?;
        for (i, (old, a)) in plan.updated.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            // One lookup for the three places the skill is named.
            match self.heads.get(&a.skill_id) {
                Some((head, start)) => {
                    w.write_all(start)?;
                    self.fields(w, head, old)?;
                    w.write_all(b",\"after\":")?;
                    self.fields(w, head, &stored(a, at))?;
                }
                None => {
                    w.write_all(&updated_head(&a.skill_id))?;
                    self.assignment(w, old)?;
                    w.write_all(b",\"after\":")?;
                    self.assignment(w, &stored(a, at))?;
                }
            }
            w.write_all(b"}")?;
        }
        w.write_all(b"],\"removed\":[")?;
        for (i, a) in plan.removed.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            self.assignment(w, a)?;
        }
        w.write_all(b"]}")
    }

    /// One ASSIGNMENT_OUT, as [`Renderer::assignment`] serialized.
    fn assignment(&self, w: &mut impl Write, a: &StoredAssignment) -> io::Result<()> {
        match self.heads.get(&a.skill_id) {
            Some((h, _)) => self.fields(w, h, a),
            None => self.fields(w, &head(&a.skill_id, self.r.name(&a.skill_id)), a),
        }
    }

    /// [`Self::assignment`] with its skill's `head` found.
    fn fields(&self, w: &mut impl Write, head: &[u8], a: &StoredAssignment) -> io::Result<()> {
        w.write_all(head)?;
        match usize::try_from(a.proficiency - self.r.scale.min)
            .ok()
            .and_then(|i| self.values.get(i))
        {
            Some(v) => w.write_all(v)?,
            None => value(w, self.r, a.proficiency)?,
        }
        w.write_all(b",\"effectiveDate\":")?;
        time(w, a.effective)?;
        w.write_all(b",\"expirationDate\":")?;
        time(w, a.expires)?;
        w.write_all(if self.r.active(a) {
            b",\"active\":true,\"updatedAt\":"
        } else {
            b",\"active\":false,\"updatedAt\":"
        })?;
        self.times.borrow_mut().write(w, a.updated_at)?;
        w.write_all(b"}")
    }
}

/// A few times already written out as JSON strings, the least recently made replaced first.
#[derive(Default)]
struct TimeCache {
    slots: [Option<(Timestamp, Vec<u8>)>; 2],
    next: usize,
}

impl TimeCache {
    /// Writes `t` as `"…"`.
    fn write(&mut self, w: &mut impl Write, t: Timestamp) -> io::Result<()> {
        if let Some((_, text)) = self.slots.iter().flatten().find(|(at, _)| *at == t) {
            return w.write_all(text);
        }
        let mut text = Vec::with_capacity(skillgrid_core::timestamp::RFC3339_LEN + 2);
        time(&mut text, Some(t))?;
        w.write_all(&text)?;
        self.slots[self.next] = Some((t, text));
        self.next = (self.next + 1) % self.slots.len();
        Ok(())
    }
}

/// `{"skillId":"…","before":`
fn updated_head(id: &SkillId) -> Vec<u8> {
    let mut h = b"{\"skillId\":".to_vec();
    let _ = uuid(&mut h, id);
    h.extend_from_slice(b",\"before\":");
    h
}

/// `85,"level":"Advanced"` (or `"level":null`).
fn value(w: &mut impl Write, r: &Renderer<'_>, proficiency: i64) -> io::Result<()> {
    w.write_all(itoa::Buffer::new().format(proficiency).as_bytes())?;
    w.write_all(b",\"level\":")?;
    match r.scale.level_of(proficiency) {
        Some(l) => serde_json::to_writer(&mut *w, l).map_err(io::Error::other),
        None => w.write_all(b"null"),
    }
}

fn stored(a: &Assignment, at: Timestamp) -> StoredAssignment {
    StoredAssignment {
        skill_id: a.skill_id,
        proficiency: a.proficiency,
        effective: a.effective,
        expires: a.expires,
        updated_at: at,
    }
}

fn head(id: &SkillId, name: &str) -> Vec<u8> {
    let mut h = b"{\"skillId\":".to_vec();
    let _ = uuid(&mut h, id);
    h.extend_from_slice(b",\"skillName\":");
    let _ = serde_json::to_writer(&mut h, name);
    h.extend_from_slice(b",\"proficiency\":");
    h
}

fn uuid(w: &mut impl Write, id: &SkillId) -> io::Result<()> {
    let mut buf = Uuid::encode_buffer();
    w.write_all(b"\"")?;
    w.write_all(id.get().hyphenated().encode_lower(&mut buf).as_bytes())?;
    w.write_all(b"\"")
}

fn time(w: &mut impl Write, t: Option<Timestamp>) -> io::Result<()> {
    let Some(t) = t else {
        return w.write_all(b"null");
    };
    let mut buf = [0; skillgrid_core::timestamp::RFC3339_LEN];
    match t.format_rfc3339(&mut buf) {
        Some(text) => {
            w.write_all(b"\"")?;
            w.write_all(text.as_bytes())?;
            w.write_all(b"\"")
        }
        None => serde_json::to_writer(&mut *w, &t.to_rfc3339()).map_err(io::Error::other),
    }
}

/// Cursors are opaque to clients: the position of the last row, base64url.
pub fn encode_cursor(pos: Option<i64>) -> Option<String> {
    pos.map(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("p{p}")))
}

pub fn decode_cursor(raw: Option<&str>) -> Result<Option<i64>, ErrorEntry> {
    decode_tagged(raw, |tag, n| (tag == 'p').then_some(n))
}

/// Audit cursors name an entry's position (see `skillgrid_store::legacy_position`), tagged
/// `a`; a `p` cursor handed out before the audit trail was stored per agent still reads.
pub fn encode_audit_cursor(pos: Option<i64>) -> Option<String> {
    pos.map(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("a{p}")))
}

pub fn decode_audit_cursor(raw: Option<&str>) -> Result<Option<i64>, ErrorEntry> {
    decode_tagged(raw, |tag, n| match tag {
        'a' => Some(n),
        'p' => Some(skillgrid_store::legacy_position(n)),
        _ => None,
    })
}

fn decode_tagged(
    raw: Option<&str>,
    read: impl Fn(char, i64) -> Option<i64>,
) -> Result<Option<i64>, ErrorEntry> {
    let Some(raw) = raw else { return Ok(None) };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            let mut c = s.chars();
            let tag = c.next()?;
            let n = c.as_str().parse::<i64>().ok()?;
            read(tag, n)
        })
        .map(Some)
        .ok_or_else(|| {
            ErrorEntry::new(
                Locator::Query("cursor".into()),
                EntryCode::InvalidFormat,
                "the cursor is not one this API returned",
            )
            .hint("pass the `nextCursor` of the previous page unchanged, or omit it to start over")
            .received(serde_json::Value::String(raw.chars().take(80).collect()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use skillgrid_core::timestamp::Timestamp;

    /// On the default scale, on a narrow one (values outside it are written one at a time)
    /// and on one too wide to prerender.
    #[test]
    fn the_written_changes_are_exactly_what_serde_writes() {
        let default = skillgrid_api::OrgSettings::default().proficiency_scale;
        let mut narrow = default.clone();
        (narrow.min, narrow.max, narrow.default) = (1, 5, 3);
        let mut wide = default.clone();
        wide.max = 5_000_000;
        for scale in [default, narrow, wide] {
            changes_as_serde_writes_them(&scale);
        }
    }

    fn changes_as_serde_writes_them(scale: &ProficiencyScale) {
        let id = || SkillId::new(Uuid::now_v7());
        let (a, b, c) = (id(), id(), id());
        let catalog = vec![CatalogSkill {
            id: a,
            name: "Billing \"EU\" \\ ünïcode\n".into(),
            active: true,
        }];
        let r = Renderer::new(scale, &catalog);
        let old = |id, p| StoredAssignment {
            skill_id: id,
            proficiency: p,
            effective: None,
            expires: Some(Timestamp(4_000_000_000_000)),
            updated_at: Timestamp(1_700_000_000_000 + p),
        };
        let new = |id, p| Assignment {
            skill_id: id,
            proficiency: p,
            effective: Some(Timestamp(if p == 0 {
                99_999_999_999_999
            } else {
                1_600_000_000_000
            })),
            expires: None,
            given: skillgrid_core::model::Given::Number,
        };
        let plan = Plan {
            added: vec![new(a, 80), new(c, 0)],
            updated: vec![(old(b, 20), new(b, 30)), (old(a, 3), new(a, 4))],
            removed: vec![old(c, 75), old(b, 20), old(a, 20)],
            ..Plan::default()
        };
        let at = Timestamp(1_750_000_000_000);
        // Byte for byte, field order included; `b` is not in the catalog (a deleted skill),
        // proficiency 0 has no level, and one assignment is not active yet.
        let mut fast = Vec::new();
        ChangesWriter::new(&r).write(&mut fast, &plan, at).unwrap();
        assert_eq!(
            String::from_utf8(fast).unwrap(),
            serde_json::to_string(&r.changes(&plan, at)).unwrap()
        );
    }
}
