//! The sizes and thresholds that tune the skill-set write path, in one place, each with the
//! reason for its value. Tests run with these same values: a test that needs a write to span
//! several chunks writes enough items to do so.

/// Writes of at most this many agents are queued and grouped with other small writes into one
/// transaction (group commit, `crate::group`); larger ones have a transaction of their own.
/// Sixteen covers the single-agent routes and small bulk requests, whose cost is dominated by
/// the transaction, not the rows.
pub(crate) const GROUP_SMALL: usize = 16;

/// At most this many queued writes are taken into one group: enough to share one commit among
/// many clients, few enough that one group's transaction stays short.
pub(crate) const GROUP_MAX: usize = 256;

/// SQLite: writes of more agents than this are pipelined over two threads, a planner and a
/// writer (`sqlite/skillsets/pipeline.rs`). Below it, the hand-over between the threads
/// costs more than the overlap gains.
pub(crate) const PIPELINE_FROM: usize = 64;

/// SQLite: agents planned per chunk of a pipelined write: small enough that the writer starts
/// soon, large enough that each hand-over carries thousands of rows.
pub(crate) const PLAN_CHUNK: usize = 256;

/// SQLite: planned chunks a pipelined write's planner may hand the writer before the writer
/// has taken them (the capacity of the channel between the two threads, in messages). Enough
/// for every chunk of the largest write the API takes (100,000 agents: 391 chunks), so that
/// the planner never waits for the writer there: when it is the faster, it goes on to its
/// share of the answer while the writer catches up. A larger write from another caller waits
/// for the writer rather than holding all its rows at once.
pub(crate) const PLANS_AHEAD: usize = 512;

/// SQLite: rows per multi-row statement of a pipelined write: one statement execution per
/// this many rows instead of per row.
pub(crate) const BATCH_ROWS: usize = 50;

/// PostgreSQL: rows per statement of a write (its columns are sent as arrays): bounds one
/// statement's parameters and memory while keeping round trips few.
pub(crate) const PG_CHUNK_ROWS: usize = 50_000;

/// PostgreSQL: a write recording more audit rows than this (one per agent whose set
/// changed) stores what they share once, in a row of `audit_writes`, and names skills by their
/// place in its list (see `crate::audit`): the same size of write SQLite pipelines. Below it,
/// that row and its statements cost more than the rows' repeated values.
pub(crate) const PG_LISTED_FROM: usize = PIPELINE_FROM;

/// A bulk body of at least this many bytes is validated while the store writes the items
/// accepted so far (`Store::write` of produced items), rather than whole before the write.
pub const STREAM_FROM_BYTES: usize = 64 * 1024;

/// Items per chunk handed from the validator to the store in such a write: as many agents as
/// the store plans at once.
pub const FEED_CHUNK: usize = PLAN_CHUNK;
