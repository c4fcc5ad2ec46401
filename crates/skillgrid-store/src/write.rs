//! The one call that writes skill sets: [`Store::write`](crate::Store::write).
//!
//! A write takes its items from a slice, or from a [`Producer`] that makes them while the
//! write runs (a large request's items, as its body is validated), and may hand every item's
//! outcome to an [`OutcomeSink`] as soon as they are all decided, so that work the caller does
//! after the write (rendering a large answer) can overlap the database's. A backend that
//! cannot overlap the producer collects the items first ([`Items::collect`]), and one that
//! cannot overlap the sink calls it after its commit ([`after_commit`]); the caller sees the
//! same outcomes either way.

use crate::{AgentWrite, ItemOutcome, WriteContext, WriteOptions, WriteResult};
use skillgrid_core::model::OrgId;
use std::borrow::Cow;

/// One call of [`Store::write`](crate::Store::write).
pub struct WriteRequest<'a> {
    pub org: OrgId,
    pub ctx: &'a WriteContext,
    pub items: Items<'a>,
    pub opts: WriteOptions,
    /// Where every item's outcome goes once all are decided, if anywhere.
    pub sink: Option<&'a OutcomeSink<'a>>,
}

impl<'a> WriteRequest<'a> {
    /// A write of `items` with no sink.
    pub fn new(org: OrgId, ctx: &'a WriteContext, items: Items<'a>, opts: WriteOptions) -> Self {
        WriteRequest {
            org,
            ctx,
            items,
            opts,
            sink: None,
        }
    }

    /// The same, with its outcomes handed to `sink`.
    pub fn sink(self, sink: &'a OutcomeSink<'a>) -> Self {
        WriteRequest {
            sink: Some(sink),
            ..self
        }
    }
}

/// Where a write's items come from.
pub enum Items<'a> {
    /// All of them, known before the write starts.
    Slice(&'a [AgentWrite]),
    /// Made while the write runs; see [`Producer`].
    Produced(Producer<'a>),
}

/// A function that hands a write's items to the sink it is given, a chunk at a time and in
/// order, and returns whether the write may be kept. The sink returns false once the write has
/// stopped (it failed) and takes nothing more; the producer should then stop too. It may run
/// on another thread than the caller's.
pub type Producer<'a> =
    Box<dyn FnOnce(&mut dyn FnMut(Vec<AgentWrite>) -> bool) -> bool + Send + 'a>;

/// Work done with a write's items and their outcomes, once every outcome is known and the
/// write is going ahead (not for a dry run, a write that changes nothing, or one that fails
/// before that point). A write whose commit then fails returns its error as usual, so the
/// sink's work must not be used before the write has returned.
///
/// A backend may call it while it is still writing, and more than once, from several threads
/// at the same time, to share the work among them: each call should take a share of what is
/// left and return when nothing is.
pub type OutcomeSink<'a> = dyn Fn(&[AgentWrite], &[ItemOutcome]) + Sync + 'a;

/// What [`Store::write`](crate::Store::write) did.
#[derive(Debug)]
pub struct Written {
    /// The items a producer made, in order (empty for a slice: the caller has them).
    pub produced: Vec<AgentWrite>,
    /// `None` when the producer said the write may not be kept: nothing was written.
    pub result: Option<WriteResult>,
}

impl<'a> Items<'a> {
    /// Every item, a producer's collected before anything is written, and whether the write
    /// may be kept: for a backend that writes the items in one go.
    pub(crate) fn collect(self) -> (Cow<'a, [AgentWrite]>, bool) {
        match self {
            Items::Slice(items) => (Cow::Borrowed(items), true),
            Items::Produced(produce) => {
                let mut items = Vec::new();
                let keep = produce(&mut |chunk| {
                    items.extend(chunk);
                    true
                });
                (Cow::Owned(items), keep)
            }
        }
    }
}

/// The end of a write that did not overlap: the sink gets the outcomes after the commit, and
/// the produced items (if any) go back to the caller.
pub(crate) fn after_commit(
    items: Cow<'_, [AgentWrite]>,
    result: Option<WriteResult>,
    sink: Option<&OutcomeSink<'_>>,
) -> Written {
    if let (Some(r), Some(sink)) = (&result, sink) {
        if r.committed {
            sink(&items, &r.items);
        }
    }
    let produced = match items {
        Cow::Owned(items) => items,
        Cow::Borrowed(_) => Vec::new(),
    };
    Written { produced, result }
}
