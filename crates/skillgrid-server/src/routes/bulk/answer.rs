//! The answer of a bulk write, written by hand from the store's outcomes: byte for byte
//! what serde writes for [`skillgrid_api::BulkResponse`], without a tree of owned strings for
//! the changes of 100,000 assignments.
//!
//! A large answer (20–50 MB) is written beside the write, as soon as every item is decided,
//! into memory kept for large buffers (`crate::buffers`), and by two threads once the write
//! has committed (see [`Beside`]); it is sent, in pieces, only after the commit.

use super::failure;
use crate::buffers;
use crate::render::{ChangesWriter, Renderer};
use axum::body::Bytes;
use skillgrid_api::{
    BulkItemResult, BulkSummary, EntryCode, ErrorEntry, Problem, ProblemCode, ProficiencyScale,
    WarningPolicy,
};
use skillgrid_core::model::{AgentId, Assignment, CatalogSkill, SkillSetWrite};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_core::validate::warnings::{self, Finding};
use skillgrid_store::{AgentWrite, ItemOutcome};
use std::collections::HashMap;
use std::io::Write;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// Everything of a bulk answer but the store's outcomes, from which it is written.
#[derive(Clone)]
pub(super) struct AnswerParts {
    pub dry_run: bool,
    /// Items in the request.
    pub total: usize,
    pub request_id: String,
    /// Where the items are in the body: `/items` or `/agents`.
    pub base: &'static str,
    pub max: u64,
    /// Index in the request and agent of each item sent to the store, in the store's order.
    pub written: Vec<(usize, AgentId)>,
    /// Items that failed validation (non-atomic requests only): index, agent if its id was
    /// readable, and the problems.
    pub invalid: Vec<(usize, Option<AgentId>, Vec<ErrorEntry>)>,
    pub scale: ProficiencyScale,
    pub catalog: Vec<CatalogSkill>,
    pub at: Timestamp,
    /// The organization's `warnings` setting.
    pub policy: WarningPolicy,
    /// What to say about each item of `written` (same order) beside its changes, under the
    /// `warn` policy; empty otherwise.
    pub lint: Lint,
}

/// The warnings of a bulk answer: each item's findings, and the words of each kind of finding
/// written once (a bulk of 100,000 assignments may have tens of thousands of them).
#[derive(Clone, Default)]
pub(super) struct Lint {
    /// Per item of `written`, in the same order.
    pub items: Vec<ItemLint>,
    /// The JSON of each finding's warning after its pointer: `,"code":…}`.
    texts: HashMap<(EntryCode, i64), Box<[u8]>>,
}

/// The warnings of one written item known before the write, and whether it replaces the
/// agent's set with nothing (warned about once the store says what that removed).
#[derive(Clone, Default)]
pub(super) struct ItemLint {
    pub findings: Vec<Finding>,
    pub emptying: bool,
}

/// The [`Lint`] of the items `written` (index in the request, agent), whose writes are
/// `writes`. Items of a bulk request are judged one by one; the agents of one skill's
/// request (`/agents`) are one write of one skill, judged together.
pub(super) fn lint(
    scale: &ProficiencyScale,
    policy: WarningPolicy,
    base: &str,
    written: &[(usize, AgentId)],
    writes: &[AgentWrite],
) -> Lint {
    if policy != WarningPolicy::Warn {
        return Lint::default();
    }
    fn set_of(w: &AgentWrite) -> (&[Assignment], bool) {
        match &w.write {
            SkillSetWrite::Replace(set) => (set.as_slice(), set.is_empty()),
            SkillSetWrite::Merge { upsert, .. } => (upsert.as_slice(), false),
        }
    }
    let items: Vec<ItemLint> = if base == "/agents" {
        let set: Vec<Assignment> = writes.iter().flat_map(|w| set_of(w).0).copied().collect();
        let mut out = vec![ItemLint::default(); writes.len()];
        for f in warnings::findings(scale, &set) {
            out[f.at].findings.push(f);
        }
        out
    } else {
        writes
            .iter()
            .map(|w| {
                let (set, emptying) = set_of(w);
                ItemLint {
                    findings: warnings::findings(scale, set),
                    emptying,
                }
            })
            .collect()
    };
    debug_assert_eq!(items.len(), written.len());
    Lint::new(scale, items)
}

impl Lint {
    /// The lint of these items, each kind of finding worded once.
    pub fn new(scale: &ProficiencyScale, items: Vec<ItemLint>) -> Self {
        let mut texts = HashMap::new();
        for f in items.iter().flat_map(|i| &i.findings) {
            texts.entry((f.code, f.value)).or_insert_with(|| {
                let json = serde_json::to_vec(&f.entry(scale, String::new())).unwrap_or_default();
                json.strip_prefix(POINTER_FIRST).unwrap_or_default().into()
            });
        }
        Lint { items, texts }
    }
}

/// How a warning's JSON starts when its pointer is empty: `{"pointer":""`.
const POINTER_FIRST: &[u8] = b"{\"pointer\":\"\"";

impl AnswerParts {
    /// Writes `,"warnings":[…]` of item `k`, given its outcome, if it has any.
    fn write_warnings<W: Write>(
        &self,
        w: &mut W,
        k: usize,
        outcome: &ItemOutcome,
    ) -> std::io::Result<()> {
        let Some(lint) = self.lint.items.get(k) else {
            return Ok(());
        };
        let emptied = match outcome {
            ItemOutcome::Applied { plan, .. } if lint.emptying && !plan.removed.is_empty() => {
                Some(plan.removed.len())
            }
            _ => None,
        };
        if lint.findings.is_empty() && emptied.is_none() {
            return Ok(());
        }
        let (base, i) = (self.base, self.written[k].0);
        w.write_all(b",\"warnings\":[")?;
        for (n, f) in lint.findings.iter().enumerate() {
            if n > 0 {
                w.write_all(b",")?;
            }
            let pointer = if base == "/agents" {
                format!("{base}/{i}/proficiency")
            } else {
                format!("{base}/{i}/skills/{}/proficiency", f.at)
            };
            match self.lint.texts.get(&(f.code, f.value)) {
                Some(rest) => {
                    write!(w, "{{\"pointer\":\"{pointer}\"")?;
                    w.write_all(rest)?;
                }
                None => serde_json::to_writer(&mut *w, &f.entry(&self.scale, pointer))?,
            }
        }
        if let Some(removed) = emptied {
            if !lint.findings.is_empty() {
                w.write_all(b",")?;
            }
            let at = format!("{base}/{i}/skills");
            serde_json::to_writer(&mut *w, &warnings::emptied_set(&at, removed, self.dry_run))?;
        }
        w.write_all(b"]")
    }
}

/// Where one result of the answer comes from: the `k`th item sent to the store, or the `k`th
/// item that failed validation.
#[derive(Clone, Copy)]
enum Slot {
    Written(usize),
    Invalid(usize),
}

impl AnswerParts {
    /// About as many bytes as the answer takes, or more: room reserved up front is not copied
    /// as the answer grows, and what stays unused is never touched (so never resident).
    pub fn size_bound(outcomes: &[ItemOutcome]) -> usize {
        outcomes
            .iter()
            .map(|o| match o {
                ItemOutcome::Applied { plan, .. } => {
                    256 + 640 * plan.updated.len() + 320 * (plan.added.len() + plan.removed.len())
                }
                _ => 1024,
            })
            .sum()
    }

    /// The results in request order: each index is a written item or an invalid one.
    fn order(&self) -> Vec<Slot> {
        let mut order: Vec<Option<Slot>> = vec![None; self.total];
        for (k, (i, _)) in self.written.iter().enumerate() {
            order[*i] = Some(Slot::Written(k));
        }
        for (k, (i, _, _)) in self.invalid.iter().enumerate() {
            order[*i] = Some(Slot::Invalid(k));
        }
        order.into_iter().flatten().collect()
    }

    /// The answer's JSON, `outcomes` being the store's for `written`.
    pub fn write_json<W: Write>(&self, w: &mut W, outcomes: &[ItemOutcome]) -> std::io::Result<()> {
        self.write_head(w, outcomes)?;
        let r = Renderer::new(&self.scale, &self.catalog);
        let changes = ChangesWriter::new(&r);
        for (n, slot) in self.order().into_iter().enumerate() {
            if n > 0 {
                w.write_all(b",")?;
            }
            self.write_result(w, &changes, slot, outcomes)?;
        }
        w.write_all(TAIL)
    }

    /// What comes before the results: `{"dryRun":…,"summary":{…},"results":[`.
    fn write_head<W: Write>(&self, w: &mut W, outcomes: &[ItemOutcome]) -> std::io::Result<()> {
        let mut summary = BulkSummary {
            items: self.total as u64,
            ..Default::default()
        };
        for o in outcomes {
            if let ItemOutcome::Applied { plan, .. } = o {
                summary.succeeded += 1;
                summary.added += plan.added.len() as u64;
                summary.updated += plan.updated.len() as u64;
                summary.removed += plan.removed.len() as u64;
                summary.unchanged += plan.unchanged as u64;
            }
        }
        summary.failed = summary.items - summary.succeeded;
        write!(w, "{{\"dryRun\":{},\"summary\":", self.dry_run)?;
        serde_json::to_writer(&mut *w, &summary)?;
        w.write_all(b",\"results\":[")
    }

    /// One result.
    fn write_result<W: Write>(
        &self,
        w: &mut W,
        changes: &ChangesWriter<'_>,
        slot: Slot,
        outcomes: &[ItemOutcome],
    ) -> std::io::Result<()> {
        match slot {
            Slot::Written(k) => {
                let (index, agent_id) = self.written[k];
                match &outcomes[k] {
                    ItemOutcome::Applied { version, plan, .. } => {
                        write!(
                            w,
                            "{{\"index\":{index},\"agentId\":\"{agent_id}\",\"status\":200,\"version\":{version},\"changes\":"
                        )?;
                        changes.write(&mut *w, plan, self.at)?;
                        self.write_warnings(w, k, &outcomes[k])?;
                        w.write_all(b"}")
                    }
                    other => {
                        let (status, code, entry) =
                            failure(self.base, self.max, index, other, agent_id)
                                .expect("not applied");
                        let mut p =
                            Problem::new(code, entry.detail.clone()).with_errors(vec![entry]);
                        p.request_id = self.request_id.clone();
                        if let ItemOutcome::PreconditionFailed { current } = other {
                            p.current_version = Some(*current);
                        }
                        let result = BulkItemResult {
                            index: index as u64,
                            agent_id: Some(agent_id.get()),
                            status,
                            version: None,
                            changes: None,
                            warnings: Vec::new(),
                            problem: Some(p),
                        };
                        serde_json::to_writer(&mut *w, &result).map_err(std::io::Error::other)
                    }
                }
            }
            Slot::Invalid(k) => {
                // An item that failed validation (only non-atomic requests get here).
                let (index, agent_id, errors) = &self.invalid[k];
                let mut p = Problem::new(
                    ProblemCode::ValidationFailed,
                    format!("{} problems in this item; it was not written", errors.len()),
                )
                .with_errors(errors.clone());
                p.request_id = self.request_id.clone();
                let result = BulkItemResult {
                    index: *index as u64,
                    agent_id: agent_id.map(AgentId::get),
                    status: 400,
                    version: None,
                    changes: None,
                    warnings: Vec::new(),
                    problem: Some(p),
                };
                serde_json::to_writer(&mut *w, &result).map_err(std::io::Error::other)
            }
        }
    }
}

/// What ends the answer.
const TAIL: &[u8] = b"]}";

/// Results per piece of an answer written beside the write.
const SEGMENT: usize = 256;

/// A buffer of segments, and the range of each segment in it.
type Written = (buffers::Buffer, Vec<(usize, Range<usize>)>);

/// An answer written beside a write (the outcome sink of `Store::write`), by every thread
/// that calls [`Beside::write`]: its results in segments of [`SEGMENT`], the first caller
/// taking them from the front into one buffer, a second from the back into another, until
/// they meet. On SQLite the thread that plans a large write calls it once every item is
/// decided, and the writer's thread once it has committed: rendering 20–50 MB then takes the
/// two cores instead of one while nothing else is left to do.
pub(super) struct Beside<'p> {
    /// The parts, or a template whose `written` and `total` are filled from the items
    /// (a streamed write: they are known only once every item is).
    template: &'p AnswerParts,
    from_items: bool,
    parts: OnceLock<AnswerParts>,
    order: OnceLock<Vec<Slot>>,
    calls: AtomicUsize,
    /// Segments not yet taken: `front..back`.
    claims: Mutex<Range<usize>>,
    /// Each caller's buffer, with the range of each segment it wrote in it.
    written: Mutex<Vec<Written>>,
    failed: std::sync::atomic::AtomicBool,
}

impl<'p> Beside<'p> {
    /// For the parts of a write whose items are known up front.
    pub fn new(parts: &'p AnswerParts) -> Self {
        Self::with(parts, false)
    }

    /// For a streamed write: `written` and `total` come from the items.
    pub fn from_items(template: &'p AnswerParts) -> Self {
        Self::with(template, true)
    }

    fn with(template: &'p AnswerParts, from_items: bool) -> Self {
        Beside {
            template,
            from_items,
            parts: OnceLock::new(),
            order: OnceLock::new(),
            calls: AtomicUsize::new(0),
            claims: Mutex::new(0..usize::MAX),
            written: Mutex::new(Vec::new()),
            failed: Default::default(),
        }
    }

    fn parts(&self, items: &[AgentWrite]) -> &AnswerParts {
        if !self.from_items {
            return self.template;
        }
        self.parts.get_or_init(|| {
            let t = self.template;
            let written: Vec<(usize, AgentId)> =
                items.iter().map(|w| w.agent_id).enumerate().collect();
            AnswerParts {
                total: items.len(),
                lint: lint(&t.scale, t.policy, t.base, &written, items),
                written,
                ..t.clone()
            }
        })
    }

    /// Writes segments of the answer until none is left to take.
    pub fn write(&self, items: &[AgentWrite], outcomes: &[ItemOutcome]) {
        let parts = self.parts(items);
        let order = self.order.get_or_init(|| parts.order());
        let segments = order.len().div_ceil(SEGMENT);
        let from_back = self.calls.fetch_add(1, Ordering::Relaxed) > 0;
        let r = Renderer::new(&parts.scale, &parts.catalog);
        let changes = ChangesWriter::new(&r);
        let mut buf: Option<buffers::Buffer> = None;
        let mut ranges = Vec::new();
        loop {
            let segment = {
                let mut c = self.claims.lock().unwrap_or_else(|p| p.into_inner());
                c.end = c.end.min(segments);
                if c.start >= c.end {
                    break;
                }
                if from_back {
                    c.end -= 1;
                    c.end
                } else {
                    c.start += 1;
                    c.start - 1
                }
            };
            let out = buf.get_or_insert_with(|| buffers::take(AnswerParts::size_bound(outcomes)));
            let start = out.len();
            let first = segment * SEGMENT;
            let end = (first + SEGMENT).min(order.len());
            let mut done = Ok(());
            for (i, slot) in order[first..end].iter().enumerate() {
                if first + i > 0 {
                    out.push(b',');
                }
                done = parts.write_result(&mut **out, &changes, *slot, outcomes);
                if done.is_err() {
                    break;
                }
            }
            if done.is_err() {
                self.failed.store(true, Ordering::Relaxed);
                break;
            }
            ranges.push((segment, start..out.len()));
        }
        if let Some(out) = buf {
            let mut w = self.written.lock().unwrap_or_else(|p| p.into_inner());
            w.push((out, ranges));
        }
    }

    /// The whole answer in pieces, if every segment was written (else the caller writes it).
    pub fn finish(self, outcomes: &[ItemOutcome]) -> Option<Vec<Bytes>> {
        let segments = self.order.get()?.len().div_ceil(SEGMENT);
        if self.failed.into_inner() {
            return None;
        }
        let parts = if self.from_items {
            self.parts.get()?
        } else {
            self.template
        };
        let mut head = Vec::new();
        parts.write_head(&mut head, outcomes).ok()?;
        let mut pieces: Vec<Option<Bytes>> = vec![None; segments];
        for (buf, ranges) in self.written.into_inner().unwrap_or_else(|p| p.into_inner()) {
            let bytes = buffers::into_bytes(buf);
            for (segment, range) in ranges {
                pieces[segment] = Some(bytes.slice(range));
            }
        }
        let mut all = Vec::with_capacity(segments + 2);
        all.push(Bytes::from(head));
        for piece in pieces {
            all.push(piece?);
        }
        all.push(Bytes::from_static(TAIL));
        Some(all)
    }
}

/// The answer to a bulk write, written out already if it was written beside the store's work.
pub(super) struct BulkAnswer {
    pub parts: AnswerParts,
    pub outcomes: Vec<ItemOutcome>,
    pub rendered: Option<Vec<Bytes>>,
}

impl crate::idempotency::JsonAnswer for BulkAnswer {
    fn write_json<W: Write>(&self, w: &mut W) -> std::io::Result<()> {
        match &self.rendered {
            Some(pieces) => pieces.iter().try_for_each(|p| w.write_all(p)),
            None => self.parts.write_json(w, &self.outcomes),
        }
    }

    fn into_pieces(self) -> Result<Vec<Bytes>, Self> {
        match self.rendered {
            Some(pieces) => Ok(pieces),
            None => Err(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::precondition_entry;
    use super::*;
    use crate::idempotency::JsonAnswer;
    use skillgrid_api::{BulkResponse, EntryCode, OrgSettings};
    use skillgrid_core::diff::Plan;
    use skillgrid_core::model::{Given, SkillId, StoredAssignment};
    use uuid::Uuid;

    /// The hand-written answer is byte for byte what serde writes for the wire type.
    #[test]
    fn the_written_answer_is_the_wire_type_serialized() {
        let (a, b) = (SkillId::new(Uuid::now_v7()), SkillId::new(Uuid::now_v7()));
        let catalog = vec![CatalogSkill {
            id: a,
            name: "Tier \"2\" \\ Billing".into(),
            active: true,
        }];
        let old = StoredAssignment {
            skill_id: b,
            proficiency: 40,
            effective: Some(Timestamp(1_000)),
            expires: None,
            updated_at: Timestamp(2_000),
        };
        let new = Assignment {
            skill_id: a,
            proficiency: 90,
            effective: None,
            expires: Some(Timestamp(4_102_444_800_000)),
            given: Given::Number,
        };
        let plan = Plan {
            added: vec![new],
            updated: vec![(
                old,
                Assignment {
                    skill_id: b,
                    proficiency: 0,
                    ..new
                },
            )],
            removed: vec![old],
            ..Plan::default()
        };
        let new_agent = || AgentId::new(Uuid::now_v7());
        let (agent, other, invalid_agent) = (new_agent(), new_agent(), new_agent());
        let invalid = vec![ErrorEntry::at(
            "/items/1/skills/0/proficiency",
            EntryCode::OutOfRange,
            "too high",
        )];
        let finding = Finding {
            at: 0,
            code: EntryCode::OtherScale,
            value: 5,
        };
        let warned = finding.entry(
            &OrgSettings::default().proficiency_scale,
            "/items/0/skills/0/proficiency".into(),
        );
        let parts = AnswerParts {
            dry_run: false,
            total: 3,
            request_id: "req-1".into(),
            base: "/items",
            max: 50,
            written: vec![(0, agent), (2, other)],
            invalid: vec![(1, Some(invalid_agent), invalid.clone())],
            scale: OrgSettings::default().proficiency_scale,
            catalog: catalog.clone(),
            at: Timestamp(1_750_000_000_123),
            policy: WarningPolicy::Warn,
            lint: Lint::new(
                &OrgSettings::default().proficiency_scale,
                vec![
                    ItemLint {
                        findings: vec![finding],
                        emptying: true,
                    },
                    ItemLint::default(),
                ],
            ),
        };
        let outcomes = vec![
            ItemOutcome::Applied {
                version: 7,
                plan: plan.clone(),
                skills: Vec::new(),
            },
            ItemOutcome::PreconditionFailed { current: 4 },
        ];
        let r = Renderer::new(&parts.scale, &catalog);
        let problem = |code, detail: String, errors| {
            let mut p = Problem::new(code, detail).with_errors(errors);
            p.request_id = "req-1".into();
            p
        };
        let mut stale = problem(
            ProblemCode::PreconditionFailed,
            "the agent's skills are at version 4".into(),
            vec![precondition_entry("/items", 2, 4)],
        );
        stale.current_version = Some(4);
        let wire = BulkResponse {
            dry_run: false,
            summary: BulkSummary {
                items: 3,
                succeeded: 1,
                failed: 2,
                added: 1,
                updated: 1,
                removed: 1,
                unchanged: 0,
            },
            results: vec![
                BulkItemResult {
                    index: 0,
                    agent_id: Some(agent.get()),
                    status: 200,
                    version: Some(7),
                    changes: Some(r.changes(&plan, parts.at)),
                    warnings: vec![warned, warnings::emptied_set("/items/0/skills", 1, false)],
                    problem: None,
                },
                BulkItemResult {
                    index: 1,
                    agent_id: Some(invalid_agent.get()),
                    status: 400,
                    version: None,
                    changes: None,
                    warnings: Vec::new(),
                    problem: Some(problem(
                        ProblemCode::ValidationFailed,
                        "1 problems in this item; it was not written".into(),
                        invalid,
                    )),
                },
                BulkItemResult {
                    index: 2,
                    agent_id: Some(other.get()),
                    status: 412,
                    version: None,
                    changes: None,
                    warnings: Vec::new(),
                    problem: Some(stale),
                },
            ],
        };
        let answer = BulkAnswer {
            parts,
            outcomes,
            rendered: None,
        };
        let mut written = Vec::new();
        answer.write_json(&mut written).unwrap();
        assert_eq!(
            String::from_utf8(written.clone()).unwrap(),
            serde_json::to_string(&wire).unwrap()
        );
        // Written beside the store's work, the same bytes go out as they are.
        let beside = Beside::new(&answer.parts);
        beside.write(&[], &answer.outcomes);
        let pieces = beside.finish(&answer.outcomes).unwrap();
        let early = BulkAnswer {
            rendered: Some(pieces),
            ..answer
        };
        let mut out = Vec::new();
        early.write_json(&mut out).unwrap();
        assert_eq!(out, written);
        assert_eq!(early.into_pieces().ok().map(|p| p.concat()), Some(written));
    }

    /// An answer of many segments, written beside the write by one thread or by two at once
    /// (each taking segments from its end), or from the items of a streamed write, is the
    /// answer written in one go; one nobody wrote is not made up.
    #[test]
    fn an_answer_written_by_two_threads_is_the_answer_written_by_one() {
        let skill = SkillId::new(Uuid::now_v7());
        let catalog = vec![CatalogSkill {
            id: skill,
            name: "Billing".into(),
            active: true,
        }];
        let n = 3 * SEGMENT + 17;
        let agents: Vec<AgentId> = (0..n).map(|_| AgentId::new(Uuid::now_v7())).collect();
        let invalid_at = [5, SEGMENT, n - 1];
        let template = AnswerParts {
            dry_run: false,
            total: 0,
            request_id: "req-2".into(),
            base: "/items",
            max: 50,
            written: Vec::new(),
            invalid: Vec::new(),
            scale: OrgSettings::default().proficiency_scale,
            catalog,
            at: Timestamp(1_750_000_000_123),
            policy: WarningPolicy::Off,
            lint: Lint::default(),
        };
        let written: Vec<(usize, AgentId)> = (0..n)
            .filter(|i| !invalid_at.contains(i))
            .map(|i| (i, agents[i]))
            .collect();
        let parts = AnswerParts {
            total: n,
            written: written.clone(),
            invalid: invalid_at
                .iter()
                .map(|&i| (i, Some(agents[i]), Vec::new()))
                .collect(),
            ..template.clone()
        };
        let outcomes: Vec<ItemOutcome> = (0..written.len())
            .map(|k| match k % 7 {
                3 => ItemOutcome::NotFound,
                _ => ItemOutcome::Applied {
                    version: k as i64,
                    plan: Plan {
                        added: vec![Assignment {
                            skill_id: skill,
                            proficiency: (k % 100) as i64,
                            effective: None,
                            expires: None,
                            given: Given::Number,
                        }],
                        ..Plan::default()
                    },
                    skills: Vec::new(),
                },
            })
            .collect();
        let mut whole = Vec::new();
        parts.write_json(&mut whole, &outcomes).unwrap();
        let by = |threads: usize| {
            let beside = Beside::new(&parts);
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(|| beside.write(&[], &outcomes));
                }
            });
            beside.finish(&outcomes).unwrap().concat()
        };
        assert_eq!(by(1), whole);
        for _ in 0..20 {
            assert_eq!(by(2), whole);
        }
        // A streamed write: the items say which agent each result is for.
        let items: Vec<AgentWrite> = agents[..written.len()]
            .iter()
            .map(|a| AgentWrite {
                agent_id: *a,
                write: skillgrid_core::model::SkillSetWrite::Replace(Vec::new()),
                if_match: None,
            })
            .collect();
        let streamed = AnswerParts {
            total: items.len(),
            written: agents[..written.len()]
                .iter()
                .copied()
                .enumerate()
                .collect(),
            ..template.clone()
        };
        let mut expected = Vec::new();
        streamed.write_json(&mut expected, &outcomes).unwrap();
        let beside = Beside::from_items(&template);
        std::thread::scope(|s| {
            s.spawn(|| beside.write(&items, &outcomes));
            s.spawn(|| beside.write(&items, &outcomes));
        });
        assert_eq!(beside.finish(&outcomes).unwrap().concat(), expected);
        assert!(Beside::new(&parts).finish(&outcomes).is_none());
    }
}
