-- Each API client's rate-limit token bucket, shared by every server process on this database,
-- so that N instances behind a balancer grant a client one budget, not N. Requests take tokens
-- with one statement (see `rate.rs`): the refill is computed there from the stored time, on the
-- database's clock, so the processes' clocks never matter.
--
-- UNLOGGED: a bucket is worth nothing after a crash (the table is emptied then, and every
-- bucket starts full again), and a write that skips the WAL costs no flush at commit. One row
-- per client that ever sent a request: the table grows with the number of clients, not with
-- traffic. FILLFACTOR leaves room on each page for the next version of its rows, so updates
-- stay on the page (HOT) instead of growing the table and its index.
CREATE UNLOGGED TABLE rate_buckets (
    client_uuid UUID PRIMARY KEY,
    -- The bucket's sizes: when the organization's `rateLimit` changes, the bucket starts full.
    per_minute  BIGINT NOT NULL,
    burst       BIGINT NOT NULL,
    -- Tokens left after the last request (fractional: the bucket refills continuously).
    tokens      DOUBLE PRECISION NOT NULL,
    -- How many tokens the last statement took (what it returns).
    granted     BIGINT NOT NULL,
    -- When `tokens` was last computed.
    at          TIMESTAMPTZ NOT NULL
) WITH (fillfactor = 50);
