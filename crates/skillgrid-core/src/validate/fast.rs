//! The typed fast path for the big bodies: bulk, skill to agents, and a skill set's PUT and
//! PATCH.
//!
//! Parsing into a `serde_json::Value` costs about five times a typed parse (docs/PERFORMANCE.md), so these
//! bodies are first read straight into domain types by strict serde visitors: only the fields
//! of each schema, each at most once, each of exactly its JSON type; ids parsed from borrowed
//! text; then the semantic rules (scale, levels, dates, duplicates, catalog, limits) on the
//! typed values. No pointer or message is ever built here: at the first thing the fast path
//! does not accept it gives up (`None`), and the caller runs the all-errors walk over a
//! `Value`, so every error report is the walk's. Whatever the fast path accepts, the walk
//! accepts with the same result; `tests/fast_path_props.rs` checks it on generated bodies.
//!
//! This module knows the rules ([`super::rules`]) but not the walk: choosing between the two
//! is [`super::entry`]'s.

use super::fields::{number_in_string, parse_uuid, timestamp, Num};
use super::json::strip_bom;
use super::rules::{
    bulk_mode, level_value, precondition_header, within_scale, BulkLimits, BulkRequest, ItemResult,
    SkillRules, SkillSetBody, AGENTS_ROOT, AGENT_ENTRY, ASSIGNMENT, BULK_ITEM, BULK_ROOT,
    MERGE_ROOT, REPLACE_ROOT,
};
use super::warnings;
use crate::model::{
    AgentId, AgentWrite, Assignment, BulkMode, Given, Precondition, SkillId, SkillSetWrite,
};
use crate::timestamp::Timestamp;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use skillgrid_api::ProficiencyScale;
use std::fmt;
use uuid::Uuid;

/// `POST /agents/skills/bulk`, when the body is entirely valid.
pub fn bulk(bytes: &[u8], rules: &SkillRules, limits: &BulkLimits) -> Option<BulkRequest> {
    let cx = &mut Cx::new(rules);
    let raw = whole(bytes, BulkRoot { cx, limits })?;
    let mode = raw.mode;
    if !distinct(raw.items.iter().map(|i| i.agent)) {
        return None;
    }
    let mut items = Vec::with_capacity(raw.items.len());
    let mut agent_ids = Vec::with_capacity(raw.items.len());
    for it in raw.items {
        let item = it.into_item(mode)?;
        agent_ids.push(Some(item.agent_id));
        items.push(Ok(item));
    }
    Some(BulkRequest {
        mode,
        atomic: raw.atomic,
        items,
        agent_ids,
    })
}

/// What a streamed bulk body turned out to be (see [`bulk_streamed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamedBulk {
    pub mode: BulkMode,
    pub atomic: bool,
    /// Items handed over.
    pub items: usize,
}

/// `mode` and `atomic` as a reader of `bytes` knows them when it reaches `items` (the
/// defaults, `merge` and atomic, for those not given before it): what a streamed write of the
/// body must assume ([`bulk_streamed`]). `None` when the body does not start as a bulk request
/// whose `items` is reached with only valid `mode` and `atomic` before it.
pub fn bulk_head(bytes: &[u8]) -> Option<(BulkMode, bool)> {
    let mut de = serde_json::Deserializer::from_slice(strip_bom(bytes));
    let mut head = None;
    // Stops at `items` with an error of its own: `head` says whether it got there.
    let _ = HeadRoot(&mut head).deserialize(&mut de);
    head
}

/// [`bulk`], handing the items to `sink` as they are read, in chunks of at most `chunk`, so
/// that a write can start while the rest of the body is still being read. Items are read in
/// the mode and atomicity `assumed` (from [`bulk_head`]).
///
/// `Some` exactly when [`bulk`] accepts the body with that mode and atomicity: then the items
/// handed over, in order, are [`bulk`]'s. `None` when it does not, or when `sink` refuses a
/// chunk (returns false); items handed over before are then to be dropped, and the body
/// answered by [`super::entry::bulk_body`].
pub fn bulk_streamed(
    bytes: &[u8],
    rules: &SkillRules,
    limits: &BulkLimits,
    assumed: (BulkMode, bool),
    chunk: usize,
    sink: &mut dyn FnMut(Vec<AgentWrite>) -> bool,
) -> Option<StreamedBulk> {
    let cx = &mut Cx::new(rules);
    let root = StreamRoot {
        items: StreamItems {
            cx,
            limits,
            mode: assumed.0,
            chunk: chunk.max(1),
            sink,
        },
    };
    let got = whole(bytes, root)?;
    (got.mode == assumed.0 && got.atomic == assumed.1).then_some(got)
}

/// The request-wide part of a bulk body (root, `mode`, `atomic`) when it is valid, with its
/// items left as raw JSON, each to be read on its own ([`ItemReader`]). `None` when the root
/// is not an object of only those fields, each once and valid, with `items` among them.
pub fn bulk_raw_items(bytes: &[u8]) -> Option<RawItemsBulk<'_>> {
    whole(bytes, RawRoot)
}

/// Reads bulk items one at a time, sharing what one item learned of the catalog with the next.
pub struct ItemReader<'a> {
    cx: Cx<'a>,
}

impl<'a> ItemReader<'a> {
    pub fn new(rules: &'a SkillRules<'a>) -> Self {
        ItemReader { cx: Cx::new(rules) }
    }

    /// The item in `text` read in `mode`, when it is entirely valid on its own (whether its
    /// agent repeats another item's is the caller's to check).
    pub fn item(&mut self, text: &[u8], mode: BulkMode) -> Option<AgentWrite> {
        whole(text, Item(&mut self.cx)).and_then(|it| it.into_item(mode))
    }
}

/// `POST /admin/skills/{skillId}/agents`, when the body is entirely valid.
pub fn skill_to_agents(
    bytes: &[u8],
    skill_id: SkillId,
    rules: &SkillRules,
    limits: &BulkLimits,
) -> Option<Vec<ItemResult>> {
    let max = limits.max_items.min(limits.max_assignments);
    let entries = whole(bytes, AgentsRoot { rules, max })?;
    if !distinct(entries.iter().map(|e| e.skill_id))
        || warnings::refuses(rules.warnings, rules.scale, &entries)
    {
        return None;
    }
    let items = entries
        .into_iter()
        .map(|e| {
            // The entry's id is the agent's (see `Entry`).
            let agent_id = AgentId::new(e.skill_id.get());
            let item = AgentWrite {
                agent_id,
                write: SkillSetWrite::Merge {
                    upsert: vec![Assignment { skill_id, ..e }],
                    remove: vec![],
                },
                if_match: None,
            };
            (Ok(item), Some(agent_id))
        })
        .collect();
    Some(items)
}

/// `PUT …/skills` (`replace`) or `PATCH …/skills`, when the body is entirely valid.
pub fn skill_set(bytes: &[u8], rules: &SkillRules, replace: bool) -> Option<SkillSetBody> {
    let cx = &mut Cx::new(rules);
    let body = whole(bytes, SetRoot { cx, replace })?;
    let ids = body.upsert.iter().map(|a| a.skill_id);
    distinct(ids.chain(body.remove.iter().copied())).then_some(body)
}

/// What the visitors of one body share: the rules, a scratch list reused by every `skills`
/// array, and a small cache of catalog lookups (a bulk body names the same few skills again
/// and again).
struct Cx<'a> {
    rules: &'a SkillRules<'a>,
    scratch: Vec<Assignment>,
    seen: [Option<(SkillId, Catalog)>; 64],
}

#[derive(Clone, Copy, PartialEq)]
enum Catalog {
    Missing,
    Inactive,
    Active,
}

impl<'a> Cx<'a> {
    fn new(rules: &'a SkillRules<'a>) -> Self {
        Cx {
            rules,
            scratch: Vec::new(),
            seen: [None; 64],
        }
    }

    fn catalog(&mut self, id: SkillId) -> Catalog {
        let slot = &mut self.seen[(id.get().as_u128() % 64) as usize];
        match *slot {
            Some((s, c)) if s == id => c,
            _ => {
                let c = match self.rules.catalog.get(&id) {
                    None => Catalog::Missing,
                    Some(c) if c.active => Catalog::Active,
                    Some(_) => Catalog::Inactive,
                };
                *slot = Some((id, c));
                c
            }
        }
    }
}

/// Runs `seed` over the whole of `bytes` (after a byte-order mark, if any; trailing
/// whitespace only).
fn whole<'de, S: DeserializeSeed<'de>>(bytes: &'de [u8], seed: S) -> Option<S::Value> {
    let mut de = serde_json::Deserializer::from_slice(strip_bom(bytes));
    let v = seed.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(v)
}

/// Gives up: the walk decides (and finds the words for what is wrong).
fn give_up<E: de::Error>() -> E {
    E::custom("not on the fast path")
}

/// True when no id repeats.
fn distinct<T: Copy + Ord + From<Uuid>>(ids: impl Iterator<Item = T> + Clone) -> bool {
    const SMALL: usize = 32;
    if ids.clone().nth(SMALL).is_none() {
        let mut v = [T::from(Uuid::nil()); SMALL];
        for (i, id) in ids.enumerate() {
            if v[..i].contains(&id) {
                return false;
            }
            v[i] = id;
        }
        return true;
    }
    let mut v: Vec<T> = ids.collect();
    v.sort_unstable();
    v.windows(2).all(|w| w[0] != w[1])
}

/// Each key of one object: the index of a field of `fields`, at most once; any other key or a
/// repeated one gives up (the walk reports a repeated key).
fn next_field<'de, A: MapAccess<'de>>(
    m: &mut A,
    fields: &'static [&'static str],
    seen: &mut u32,
) -> Result<Option<usize>, A::Error> {
    let Some(i) = m.next_key_seed(Key(fields))? else {
        return Ok(None);
    };
    if *seen & (1 << i) != 0 {
        return Err(give_up());
    }
    *seen |= 1 << i;
    Ok(Some(i))
}

/// A seed that hands itself, as its own visitor, to one `deserialize_*` method.
macro_rules! seed {
    ($t:ty => $v:ty, $method:ident) => {
        impl<'de> DeserializeSeed<'de> for $t {
            type Value = $v;
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<$v, D::Error> {
                d.$method(self)
            }
        }
    };
}

/// Implements `expecting` (never shown: the fast path's errors are never reported).
macro_rules! expecting {
    ($what:literal) => {
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str($what)
        }
    };
}

struct Key(&'static [&'static str]);

seed!(Key => usize, deserialize_identifier);

impl<'de> Visitor<'de> for Key {
    type Value = usize;
    expecting!("a field name");
    fn visit_str<E: de::Error>(self, s: &str) -> Result<usize, E> {
        self.0.iter().position(|f| *f == s).ok_or_else(give_up)
    }
}

/// A hyphenated UUID string (escaped text too: it is parsed without being kept).
struct Id;

seed!(Id => Uuid, deserialize_str);

impl<'de> Visitor<'de> for Id {
    type Value = Uuid;
    expecting!("a UUID");
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Uuid, E> {
        parse_uuid(s).ok_or_else(give_up)
    }
}

/// An integer within the scale, or a level name in any case (as the walk reads `proficiency`), and
/// which of the two it was.
struct Proficiency<'a>(&'a ProficiencyScale);

impl Proficiency<'_> {
    fn within<E: de::Error>(&self, i: i64) -> Result<(i64, Given), E> {
        if within_scale(self.0, i) {
            Ok((i, Given::Number))
        } else {
            Err(give_up())
        }
    }
}

seed!(Proficiency<'_> => (i64, Given), deserialize_any);

impl<'de> Visitor<'de> for Proficiency<'_> {
    type Value = (i64, Given);
    expecting!("a proficiency");
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Self::Value, E> {
        self.within(i)
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Self::Value, E> {
        self.within(i64::try_from(u).map_err(|_| give_up())?)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        match number_in_string(s) {
            Num::Other => level_value(self.0, s.trim())
                .map(|v| (v, Given::Level))
                .ok_or_else(give_up),
            _ => Err(give_up()),
        }
    }
}

/// An RFC 3339 timestamp or null.
struct Time;

seed!(Time => Option<Timestamp>, deserialize_any);

impl<'de> Visitor<'de> for Time {
    type Value = Option<Timestamp>;
    expecting!("a timestamp or null");
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        timestamp(s).map(Some).ok_or_else(give_up)
    }
}

/// Exactly `true` or `false`.
struct Bool;

seed!(Bool => bool, deserialize_bool);

impl<'de> Visitor<'de> for Bool {
    type Value = bool;
    expecting!("a boolean");
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<bool, E> {
        Ok(b)
    }
}

/// `mode`: exactly `"merge"` or `"replace"`.
struct Mode;

seed!(Mode => BulkMode, deserialize_str);

impl<'de> Visitor<'de> for Mode {
    type Value = BulkMode;
    expecting!("a mode");
    fn visit_str<E: de::Error>(self, s: &str) -> Result<BulkMode, E> {
        bulk_mode(s).ok_or_else(give_up)
    }
}

/// `ifMatch`: an ETag string, read as the `If-Match` header is.
struct IfMatch;

seed!(IfMatch => Precondition, deserialize_str);

impl<'de> Visitor<'de> for IfMatch {
    type Value = Precondition;
    expecting!("an ETag");
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Precondition, E> {
        match precondition_header(Some(s)) {
            Ok(Some(p)) => Ok(p),
            _ => Err(give_up()),
        }
    }
}

/// An object whose fields are an id, `proficiency`, `effectiveDate` and `expirationDate`, in
/// that order in `fields`: an ASSIGNMENT (the id is `skillId`) or an agent entry of the
/// skill-to-agents body (the id is `agentId`, returned in `skill_id`). The id is required.
struct Entry<'a> {
    fields: &'static [&'static str],
    scale: &'a ProficiencyScale,
}

seed!(Entry<'_> => Assignment, deserialize_map);

impl<'de> Visitor<'de> for Entry<'_> {
    type Value = Assignment;
    expecting!("an assignment");
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Assignment, A::Error> {
        let mut a = Assignment::omitted(SkillId::new(Uuid::nil()), self.scale.default);
        let mut seen = 0;
        while let Some(f) = next_field(&mut m, self.fields, &mut seen)? {
            match f {
                0 => a.skill_id = SkillId::new(m.next_value_seed(Id)?),
                1 => (a.proficiency, a.given) = m.next_value_seed(Proficiency(self.scale))?,
                2 => a.effective = m.next_value_seed(Time)?,
                _ => a.expires = m.next_value_seed(Time)?,
            }
        }
        if seen & 1 == 0 {
            return Err(give_up());
        }
        if let (Some(from), Some(to)) = (a.effective, a.expires) {
            if to <= from {
                return Err(give_up());
            }
        }
        Ok(a)
    }
}

/// An array of ASSIGNMENTs, each naming an active skill of the catalog, at most
/// `max_skills_per_agent` of them. Duplicates are the caller's to check.
struct Assignments<'c, 'a>(&'c mut Cx<'a>);

seed!(Assignments<'_, '_> => Vec<Assignment>, deserialize_seq);

impl<'de> Visitor<'de> for Assignments<'_, '_> {
    type Value = Vec<Assignment>;
    expecting!("an array of assignments");
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
        let cx = self.0;
        let rules = cx.rules;
        // Collected in the scratch list, then copied once into a list of exactly its length.
        let mut out = std::mem::take(&mut cx.scratch);
        out.clear();
        let entry = || Entry {
            fields: ASSIGNMENT.fields,
            scale: rules.scale,
        };
        while let Some(a) = s.next_element_seed(entry())? {
            if out.len() as u64 >= rules.max_skills_per_agent
                || cx.catalog(a.skill_id) != Catalog::Active
            {
                return Err(give_up());
            }
            out.push(a);
        }
        // Refused under `reject`: the walk reports it.
        if warnings::refuses(rules.warnings, rules.scale, &out) {
            return Err(give_up());
        }
        let list = out.to_vec();
        cx.scratch = out;
        Ok(list)
    }
}

/// `remove`: ids of skills of the catalog (inactive ones too).
struct Removals<'c, 'a>(&'c mut Cx<'a>);

seed!(Removals<'_, '_> => Vec<SkillId>, deserialize_seq);

impl<'de> Visitor<'de> for Removals<'_, '_> {
    type Value = Vec<SkillId>;
    expecting!("an array of skill ids");
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(id) = s.next_element_seed(Id)? {
            let id = SkillId::new(id);
            if self.0.catalog(id) == Catalog::Missing {
                return Err(give_up());
            }
            out.push(id);
        }
        Ok(out)
    }
}

/// One bulk item before `mode` is known (it may come after `items` in the body).
struct RawItem {
    agent: AgentId,
    skills: Option<Vec<Assignment>>,
    remove: Option<Vec<SkillId>>,
    if_match: Option<Precondition>,
}

impl RawItem {
    /// The item in this mode, unless the mode refuses it (`remove`, or no `skills`, in
    /// replace mode).
    fn into_item(self, mode: BulkMode) -> Option<AgentWrite> {
        let write = match mode {
            BulkMode::Replace if self.remove.is_some() => return None,
            BulkMode::Replace => SkillSetWrite::Replace(self.skills?),
            BulkMode::Merge => SkillSetWrite::Merge {
                upsert: self.skills.unwrap_or_default(),
                remove: self.remove.unwrap_or_default(),
            },
        };
        Some(AgentWrite {
            agent_id: self.agent,
            write,
            if_match: self.if_match,
        })
    }
}

struct Item<'c, 'a>(&'c mut Cx<'a>);

seed!(Item<'_, '_> => RawItem, deserialize_map);

impl<'de> Visitor<'de> for Item<'_, '_> {
    type Value = RawItem;
    expecting!("a bulk item");
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<RawItem, A::Error> {
        let mut agent = None;
        let mut item = RawItem {
            agent: AgentId::new(Uuid::nil()),
            skills: None,
            remove: None,
            if_match: None,
        };
        let mut seen = 0;
        while let Some(f) = next_field(&mut m, BULK_ITEM.fields, &mut seen)? {
            match f {
                0 => agent = Some(AgentId::new(m.next_value_seed(Id)?)),
                1 => item.skills = Some(m.next_value_seed(Assignments(&mut *self.0))?),
                2 => item.remove = Some(m.next_value_seed(Removals(&mut *self.0))?),
                _ => item.if_match = Some(m.next_value_seed(IfMatch)?),
            }
        }
        item.agent = agent.ok_or_else(give_up)?;
        let skills = item.skills.as_deref().unwrap_or_default();
        let remove = item.remove.as_deref().unwrap_or_default();
        let ids = skills.iter().map(|a| a.skill_id);
        if !distinct(ids.chain(remove.iter().copied())) {
            return Err(give_up());
        }
        Ok(item)
    }
}

/// `items`, within the request-wide limits.
struct Items<'c, 'a> {
    cx: &'c mut Cx<'a>,
    limits: &'c BulkLimits,
}

seed!(Items<'_, '_> => Vec<RawItem>, deserialize_seq);

impl<'de> Visitor<'de> for Items<'_, '_> {
    type Value = Vec<RawItem>;
    expecting!("an array of bulk items");
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        let mut total: u64 = 0;
        while let Some(it) = s.next_element_seed(Item(&mut *self.cx))? {
            total += it.skills.as_ref().map_or(0, Vec::len) as u64;
            total += it.remove.as_ref().map_or(0, Vec::len) as u64;
            if out.len() as u64 >= self.limits.max_items || total > self.limits.max_assignments {
                return Err(give_up());
            }
            out.push(it);
        }
        Ok(out)
    }
}

struct RawBulk {
    mode: BulkMode,
    atomic: bool,
    items: Vec<RawItem>,
}

struct BulkRoot<'c, 'a> {
    cx: &'c mut Cx<'a>,
    limits: &'c BulkLimits,
}

seed!(BulkRoot<'_, '_> => RawBulk, deserialize_map);

impl<'de> Visitor<'de> for BulkRoot<'_, '_> {
    type Value = RawBulk;
    expecting!("a bulk request");
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<RawBulk, A::Error> {
        let mut mode = BulkMode::Merge;
        let mut atomic = true;
        let mut items = None;
        let mut seen = 0;
        while let Some(f) = next_field(&mut m, BULK_ROOT.fields, &mut seen)? {
            match f {
                0 => mode = m.next_value_seed(Mode)?,
                1 => atomic = m.next_value_seed(Bool)?,
                _ => {
                    items = Some(m.next_value_seed(Items {
                        cx: &mut *self.cx,
                        limits: self.limits,
                    })?)
                }
            }
        }
        Ok(RawBulk {
            mode,
            atomic,
            items: items.ok_or_else(give_up)?,
        })
    }
}

/// The root of a bulk body up to `items`: `Some((mode, atomic))` in the slot once `items` is
/// reached with valid `mode` and `atomic` (or their defaults) before it.
struct HeadRoot<'h>(&'h mut Option<(BulkMode, bool)>);

seed!(HeadRoot<'_> => (), deserialize_map);

impl<'de> Visitor<'de> for HeadRoot<'_> {
    type Value = ();
    expecting!("a bulk request");
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
        let (mut mode, mut atomic) = (BulkMode::Merge, true);
        let mut seen = 0;
        while let Some(f) = next_field(&mut m, BULK_ROOT.fields, &mut seen)? {
            match f {
                0 => mode = m.next_value_seed(Mode)?,
                1 => atomic = m.next_value_seed(Bool)?,
                _ => {
                    *self.0 = Some((mode, atomic));
                    // Nothing after this is read here.
                    return Err(give_up());
                }
            }
        }
        Ok(())
    }
}

/// A bulk body whose items go to a sink as they are read ([`bulk_streamed`]).
struct StreamRoot<'c, 'a, 's> {
    items: StreamItems<'c, 'a, 's>,
}

seed!(StreamRoot<'_, '_, '_> => StreamedBulk, deserialize_map);

impl<'de> Visitor<'de> for StreamRoot<'_, '_, '_> {
    type Value = StreamedBulk;
    expecting!("a bulk request");
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<StreamedBulk, A::Error> {
        let mut got = StreamedBulk {
            mode: BulkMode::Merge,
            atomic: true,
            items: 0,
        };
        let mut items = Some(self.items);
        let mut seen = 0;
        while let Some(f) = next_field(&mut m, BULK_ROOT.fields, &mut seen)? {
            match f {
                0 => got.mode = m.next_value_seed(Mode)?,
                1 => got.atomic = m.next_value_seed(Bool)?,
                // `next_field` lets `items` come once only.
                _ => got.items = m.next_value_seed(items.take().ok_or_else(give_up)?)?,
            }
        }
        if seen & 0b100 == 0 {
            return Err(give_up());
        }
        Ok(got)
    }
}

/// `items`, each read in `mode`, within the request-wide limits, no agent twice; handed to
/// `sink` `chunk` at a time. The number of items.
struct StreamItems<'c, 'a, 's> {
    cx: &'c mut Cx<'a>,
    limits: &'c BulkLimits,
    mode: BulkMode,
    chunk: usize,
    sink: &'s mut dyn FnMut(Vec<AgentWrite>) -> bool,
}

seed!(StreamItems<'_, '_, '_> => usize, deserialize_seq);

impl<'de> Visitor<'de> for StreamItems<'_, '_, '_> {
    type Value = usize;
    expecting!("an array of bulk items");
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<usize, A::Error> {
        let mut agents = std::collections::HashSet::new();
        let (mut count, mut total) = (0u64, 0u64);
        let mut out = Vec::with_capacity(self.chunk);
        while let Some(it) = s.next_element_seed(Item(&mut *self.cx))? {
            total += it.skills.as_ref().map_or(0, Vec::len) as u64;
            total += it.remove.as_ref().map_or(0, Vec::len) as u64;
            count += 1;
            if count > self.limits.max_items
                || total > self.limits.max_assignments
                || !agents.insert(it.agent)
            {
                return Err(give_up());
            }
            out.push(it.into_item(self.mode).ok_or_else(give_up)?);
            if out.len() == self.chunk {
                let full = std::mem::replace(&mut out, Vec::with_capacity(self.chunk));
                if !(self.sink)(full) {
                    return Err(give_up());
                }
            }
        }
        if !out.is_empty() && !(self.sink)(out) {
            return Err(give_up());
        }
        Ok(count as usize)
    }
}

/// A bulk request whose items are left as raw JSON, each to be read on its own.
pub struct RawItemsBulk<'de> {
    pub mode: BulkMode,
    pub atomic: bool,
    pub items: Vec<&'de RawValue>,
}

struct RawRoot;

impl<'de> DeserializeSeed<'de> for RawRoot {
    type Value = RawItemsBulk<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RawRoot {
    type Value = RawItemsBulk<'de>;
    expecting!("a bulk request");
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut root = RawItemsBulk {
            mode: BulkMode::Merge,
            atomic: true,
            items: Vec::new(),
        };
        let mut seen = 0;
        while let Some(f) = next_field(&mut m, BULK_ROOT.fields, &mut seen)? {
            match f {
                0 => root.mode = m.next_value_seed(Mode)?,
                1 => root.atomic = m.next_value_seed(Bool)?,
                _ => root.items = m.next_value()?,
            }
        }
        if seen & 0b100 == 0 {
            return Err(give_up());
        }
        Ok(root)
    }
}

/// `{"agents": [...]}` of the skill-to-agents body, at most `max` entries.
#[derive(Clone, Copy)]
struct AgentsRoot<'a, 'r> {
    rules: &'a SkillRules<'r>,
    max: u64,
}

seed!(AgentsRoot<'_, '_> => Vec<Assignment>, deserialize_map);

impl<'de> Visitor<'de> for AgentsRoot<'_, '_> {
    type Value = Vec<Assignment>;
    expecting!("a skill-to-agents request");
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut agents = None;
        let mut seen = 0;
        while next_field(&mut m, AGENTS_ROOT.fields, &mut seen)?.is_some() {
            agents = Some(m.next_value_seed(AgentEntries(self))?);
        }
        agents.ok_or_else(give_up)
    }
}

struct AgentEntries<'a, 'r>(AgentsRoot<'a, 'r>);

seed!(AgentEntries<'_, '_> => Vec<Assignment>, deserialize_seq);

impl<'de> Visitor<'de> for AgentEntries<'_, '_> {
    type Value = Vec<Assignment>;
    expecting!("an array of agent entries");
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        let entry = || Entry {
            fields: AGENT_ENTRY.fields,
            scale: self.0.rules.scale,
        };
        while let Some(e) = s.next_element_seed(entry())? {
            if out.len() as u64 >= self.0.max {
                return Err(give_up());
            }
            out.push(e);
        }
        Ok(out)
    }
}

/// A skill set's body: a bare array of ASSIGNMENTs, or `{"skills": [...]}` (PUT) or
/// `{"skills": [...], "remove": [...]}` (PATCH, both optional).
struct SetRoot<'c, 'a> {
    cx: &'c mut Cx<'a>,
    replace: bool,
}

seed!(SetRoot<'_, '_> => SkillSetBody, deserialize_any);

impl<'de> Visitor<'de> for SetRoot<'_, '_> {
    type Value = SkillSetBody;
    expecting!("a skill set");
    fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<SkillSetBody, A::Error> {
        Ok(SkillSetBody {
            upsert: Assignments(self.cx).visit_seq(s)?,
            remove: Vec::new(),
            list_pointer: "",
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<SkillSetBody, A::Error> {
        let fields = if self.replace {
            REPLACE_ROOT.fields
        } else {
            MERGE_ROOT.fields
        };
        let mut body = SkillSetBody {
            upsert: Vec::new(),
            remove: Vec::new(),
            list_pointer: "",
        };
        let mut seen = 0;
        while let Some(f) = next_field(&mut m, fields, &mut seen)? {
            if f == 0 {
                body.upsert = m.next_value_seed(Assignments(&mut *self.cx))?;
                body.list_pointer = "/skills";
            } else {
                body.remove = m.next_value_seed(Removals(&mut *self.cx))?;
            }
        }
        if self.replace && seen == 0 {
            return Err(give_up());
        }
        Ok(body)
    }
}
