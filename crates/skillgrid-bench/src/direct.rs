//! `--scale-fill direct`: the scale run's fill written straight into the database, with the
//! server stopped, as the rows the server itself writes for the same agents and assignments.
//!
//! The server writes the first round of the fill through its bulk paths (`POST
//! /admin/users/bulk`, then `POST /agents/skills/bulk`). Its first [`TEMPLATE`] agents, one
//! for each value of `index % 100` (an agent's proficiencies repeat with that period), are
//! then copied into temporary tables of a connection the bench keeps open: the agents, their
//! assignments, skill-set versions, audit rows and the write's row they name,
//! administrative audit rows and events. Every later round is made from them with set-based
//! statements (`INSERT … SELECT` from `generate_series` on PostgreSQL, from a recursive CTE on
//! SQLite), one per table and request, in the requests the bulk API would have been sent:
//! agent `k` is a copy of the template agent `t` with `t ≡ k (mod 100)`, with its own key
//! (the next one, as the server's sequence would give it), id, email and name, and the rows
//! that name it a copy of the template's that name its template. Columns are read from the schema, so every column
//! the server writes is copied; only the keys, ids, request ids, event sequence numbers, the
//! agent's email and name (also inside the audit rows' JSON) are the copy's own. Times are the
//! template's: a copied round looks written in the same millisecond as the first one. The
//! event counter and PostgreSQL's sequences are moved on, and PostgreSQL's grown tables are
//! vacuumed and analyzed, as autovacuum would have done along a fill through the API.
//!
//! `tests/direct_fill.rs` fills the same agents both ways and compares the two databases.

use anyhow::{bail, Context, Result};
use sqlx::{Connection, Executor};
use std::collections::HashMap;
use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};
use uuid::Uuid;

/// Template agents: one per value of `index % 100`, the period of the fill's proficiencies
/// (`workload::proficiency`).
pub const TEMPLATE: usize = 100;
/// How the fill cuts its agents into requests.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Agents per round: one `POST /admin/users/bulk` creating them, then their skills.
    pub round: usize,
    /// Agents per `POST /agents/skills/bulk`.
    pub request: usize,
}

impl Shape {
    /// The scale run's: 10,000 agents a round (the default `maxItemsPerBulk`), 5,000 × 20
    /// assignments a skills request (the default `maxAssignmentsPerRequest`).
    pub const FILL: Shape = Shape {
        round: 10_000,
        request: 5_000,
    };
}
/// Both backends write a write of at most this many agents with audit rows of their own, not
/// naming a write's row (the store's `PIPELINE_FROM`); the template holds only the other form.
const SMALL_WRITE: usize = 64;

enum Conn {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

/// A connection to the scale database holding the template, and what the copies need.
pub struct Direct {
    conn: Conn,
    org: i64,
    /// The key of agent 0; agent `k`'s is `pk0 + k`.
    pk0: i64,
    /// The index of the first template agent: template agent `t` is agent `base + t`.
    base: i64,
    /// The column names of each table copied.
    columns: HashMap<&'static str, Vec<String>>,
    /// The first 12 hex digits of the copies' ids (a UUIDv7's milliseconds).
    millis: String,
}

/// The tables a fill writes, with the template's name of each. SQLite's `agent_versions`
/// exists on that backend alone.
const TABLES: [(&str, &str); 8] = [
    ("agents", "tmpl_agents"),
    ("assignments", "tmpl_assignments"),
    ("agent_versions", "tmpl_versions"),
    ("audit_sets", "tmpl_sets"),
    ("audit_writes", "tmpl_writes"),
    ("admin_audit", "tmpl_admin"),
    ("events", "tmpl_created"),
    ("events", "tmpl_changed"),
];

impl Direct {
    /// Connects to `database` after the server wrote agents `base..base + TEMPLATE` and gave
    /// them their skills in one write (and before anything else touched them), and copies
    /// them into the connection's temporary tables.
    pub async fn capture(database: &str, base: usize) -> Result<Direct> {
        let conn = if database.starts_with("sqlite:") {
            use std::str::FromStr;
            let opts = sqlx::sqlite::SqliteConnectOptions::from_str(database)?
                .busy_timeout(std::time::Duration::from_secs(30))
                .pragma("cache_size", "-262144")
                .pragma("temp_store", "memory");
            Conn::Sqlite(sqlx::SqliteConnection::connect_with(&opts).await?)
        } else {
            Conn::Postgres(sqlx::PgConnection::connect(database).await?)
        };
        let millis = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as u64;
        let mut d = Direct {
            conn,
            org: 0,
            pk0: 0,
            base: base as i64,
            columns: HashMap::new(),
            millis: format!("{:012x}", millis & 0xffff_ffff_ffff),
        };
        let (org, pk0) = d
            .pair("SELECT org_id, id FROM agents WHERE email_key = 'agent0@example.com'")
            .await
            .context("agent 0 of the fill is not in the database")?;
        d.org = org;
        d.pk0 = pk0;
        let first = pk0 + base as i64;
        let last = first + TEMPLATE as i64 - 1;
        let named = d
            .count(&format!(
                "SELECT count(*) FROM agents WHERE org_id = {org} AND id BETWEEN {first} AND {last}
                   AND email_key = 'agent' || (id - {pk0}) || '@example.com'
                   AND name = 'Agent ' || (id - {pk0})"
            ))
            .await?;
        if named != TEMPLATE as i64 {
            bail!(
                "agents {base} to {} of the fill do not have consecutive keys",
                base + TEMPLATE - 1
            );
        }
        for (table, _) in TABLES {
            let cols = d.table_columns(table).await?;
            d.columns.insert(table, cols);
        }
        let sqlite = d.is_sqlite();
        let agents = |g: &str| format!("{g}.org_id = {org} AND {g}.id BETWEEN {first} AND {last}");
        let by_agent = format!("x.agent_id BETWEEN {first} AND {last}");
        let mut make = vec![
            format!("CREATE TEMP TABLE tmpl_agents AS SELECT id - {first} AS t, x.* FROM agents x WHERE {}", agents("x")),
            format!("CREATE TEMP TABLE tmpl_assignments AS SELECT agent_id - {first} AS t, x.* FROM assignments x WHERE {by_agent}"),
            format!("CREATE TEMP TABLE tmpl_sets AS SELECT agent_id - {first} AS t, x.* FROM audit_sets x WHERE x.org_id = {org} AND {by_agent}"),
            format!("CREATE TEMP TABLE tmpl_admin AS SELECT g.id - {first} AS t, x.* FROM admin_audit x JOIN agents g ON g.uuid = x.subject_uuid WHERE x.org_id = {org} AND {}", agents("g")),
            format!("CREATE TEMP TABLE tmpl_created AS SELECT g.id - {first} AS t, x.* FROM events x JOIN agents g ON g.uuid = x.subject_uuid WHERE x.org_id = {org} AND x.kind <> 'assignment.changed' AND {}", agents("g")),
            format!("CREATE TEMP TABLE tmpl_changed AS SELECT g.id - {first} AS t, x.* FROM events x JOIN agents g ON g.uuid = x.subject_uuid WHERE x.org_id = {org} AND x.kind = 'assignment.changed' AND {}", agents("g")),
        ];
        make.push("CREATE TEMP TABLE tmpl_writes AS SELECT 0 AS t, x.* FROM audit_writes x WHERE x.id IN (SELECT write_id FROM tmpl_sets)".into());
        if sqlite {
            make.push(format!("CREATE TEMP TABLE tmpl_versions AS SELECT agent_id - {first} AS t, x.* FROM agent_versions x WHERE {by_agent}"));
        }
        for (_, tmpl) in TABLES {
            if sqlite || tmpl != "tmpl_versions" {
                make.push(format!("CREATE INDEX {tmpl}_t ON {tmpl} (t)"));
            }
        }
        for sql in make {
            d.exec(&sql).await?;
        }
        // One row of each kind per template agent: anything else means the template agents
        // were written otherwise than by one users request and one skills request.
        let n = TEMPLATE as i64;
        let mut want = vec![
            ("tmpl_agents", n),
            ("tmpl_assignments", n * crate::scale::SKILLS as i64),
            ("tmpl_sets", n),
            ("tmpl_admin", n),
            ("tmpl_created", n),
            ("tmpl_changed", n),
            ("tmpl_writes", 1),
        ];
        if sqlite {
            want.push(("tmpl_versions", n));
        }
        for (tmpl, n) in want {
            let got = d.count(&format!("SELECT count(*) FROM {tmpl}")).await?;
            if got != n {
                bail!("the template has {got} rows in {tmpl}, not {n}");
            }
        }
        // The audit documents name the agent by email and name: the copies rewrite them.
        let named = d
            .count(&format!(
                "SELECT count(*) FROM tmpl_admin WHERE after LIKE '%\"email\":\"agent' || (t + {base}) || '@example.com\"%'
                   AND after LIKE '%\"name\":\"Agent ' || (t + {base}) || '\"%'"
            ))
            .await?;
        if named != n {
            bail!("the template's audit rows do not hold the agents' emails and names as expected");
        }
        Ok(d)
    }

    /// Writes agents `from..to` of the fill with their 20 skills each, in the rounds and
    /// requests of `shape`, as the bulk API fill does; one transaction per round. The new
    /// agents' ids, in order.
    pub async fn fill(&mut self, from: usize, to: usize, shape: Shape) -> Result<Vec<Uuid>> {
        let next = self
            .count("SELECT coalesce(max(id), 0) + 1 FROM agents")
            .await?;
        if next != self.pk0 + from as i64 {
            bail!(
                "the next agent's key is {next}, not {} (agent 0's key and {from})",
                self.pk0 + from as i64
            );
        }
        let mut round = from;
        while round < to {
            let end = (round + shape.round).min(to);
            self.exec("BEGIN").await?;
            self.users(round, end).await?;
            let mut a = round;
            while a < end {
                let b = (a + shape.request).min(end);
                self.skills(a, b).await?;
                a = b;
            }
            self.exec("COMMIT").await?;
            round = end;
        }
        if !self.is_sqlite() {
            for table in ["agents", "audit_sets"] {
                self.exec(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                ))
                .await?;
            }
            // What autovacuum does along a fill through the API, done once at its end: hint
            // bits and the visibility map set, statistics of the grown tables; left to
            // autovacuum, it would run during the measurements that follow.
            self.exec("VACUUM (ANALYZE) agents, assignments, audit_sets, events, admin_audit")
                .await?;
            // And what the checkpointer does along it: the load wrote gigabytes in minutes,
            // which a checkpoint would otherwise write out (and the kernel flush) during the
            // first measured write.
            self.exec("CHECKPOINT").await?;
        } else {
            // What the server's checkpointer does along a fill through the API: the log copied
            // into the database file and emptied. Left as the load made it (tens of MB), the
            // restarted server would find it over its size limit and restart it at every tick
            // until a write cut it back, holding the measured writes up.
            self.exec("PRAGMA wal_checkpoint(TRUNCATE)").await?;
        }
        self.uuids(from, to).await
    }

    /// Ends the connection (its temporary tables go with it).
    pub async fn close(self) -> Result<()> {
        match self.conn {
            Conn::Sqlite(c) => c.close().await?,
            Conn::Postgres(c) => c.close().await?,
        }
        Ok(())
    }

    /// One `POST /admin/users/bulk` creating agents `a..b`: the agents, their administrative
    /// audit rows and their `agent.created` events.
    async fn users(&mut self, a: usize, b: usize) -> Result<()> {
        let rid = Uuid::now_v7().to_string();
        let pk0 = self.pk0;
        let uuid = self.new_uuid();
        let base = self.base;
        let json = |col: &str| {
            format!(
                "replace(replace(x.{col}, '\"email\":\"agent' || (x.t + {base}) || '@', '\"email\":\"agent' || s.k || '@'), '\"name\":\"Agent ' || (x.t + {base}) || '\"', '\"name\":\"Agent ' || s.k || '\"')"
            )
        };
        let agents = self.copy(
            "agents",
            "tmpl_agents",
            (a, b),
            &[
                ("id", Some(format!("{pk0} + s.k"))),
                ("uuid", Some(uuid.clone())),
                ("email", Some("'agent' || s.k || '@example.com'".into())),
                ("email_key", Some("'agent' || s.k || '@example.com'".into())),
                ("name", Some("'Agent ' || s.k".into())),
            ],
            "",
            "",
        );
        self.exec(&agents).await?;
        let admin = self.copy(
            "admin_audit",
            "tmpl_admin",
            (a, b),
            &[
                ("id", None),
                ("uuid", Some(uuid.clone())),
                ("request_id", Some(format!("'{rid}'"))),
                ("subject_uuid", Some("g.uuid".into())),
                ("before", Some(json("before"))),
                ("after", Some(json("after"))),
            ],
            &format!("JOIN agents g ON g.id = {pk0} + s.k"),
            "",
        );
        self.exec(&admin).await?;
        let first = self.take_sequence(b - a).await?;
        let events = self.copy(
            "events",
            "tmpl_created",
            (a, b),
            &[
                ("id", None),
                ("uuid", Some(uuid)),
                ("sequence", Some(format!("{first} + s.k - {a}"))),
                ("request_id", Some(format!("'{rid}'"))),
                ("subject_uuid", Some("g.uuid".into())),
                ("before", Some(json("before"))),
                ("after", Some(json("after"))),
            ],
            &format!("JOIN agents g ON g.id = {pk0} + s.k"),
            "",
        );
        self.exec(&events).await
    }

    /// One `POST /agents/skills/bulk` giving agents `a..b` their 20 skills: the assignments,
    /// the audit rows with the write's row they name, the agents' versions and
    /// the `assignment.changed` events.
    async fn skills(&mut self, a: usize, b: usize) -> Result<()> {
        let sqlite = self.is_sqlite();
        if b - a <= SMALL_WRITE {
            bail!(
                "a fill request of {} agents would take the store's small-write path, which the direct load does not copy; choose other --scale-sizes or --scale-fill api",
                b - a
            );
        }
        let rid = Uuid::now_v7().to_string();
        let pk0 = self.pk0;
        let uuid = self.new_uuid();
        let join = format!("JOIN agents g ON g.id = {pk0} + s.k");
        let set = self
            .count("SELECT coalesce(max(id), 0) + 1 FROM audit_sets")
            .await?;
        let cols: Vec<&String> = self.columns["audit_writes"]
            .iter()
            .filter(|c| *c != "id")
            .collect();
        let list = join_names(&cols);
        let exprs: Vec<String> = cols
            .iter()
            .map(|c| match c.as_str() {
                "request_id" => format!("'{rid}'"),
                // PostgreSQL's: the key of the write's last audit row, written below
                "last_set" => format!("{set} + {} - 1", b - a),
                c => format!("x.{c}"),
            })
            .collect();
        self.exec(&format!(
            "INSERT INTO audit_writes ({list}) SELECT {} FROM tmpl_writes x",
            exprs.join(", ")
        ))
        .await?;
        let write = self
            .count("SELECT max(id) FROM audit_writes")
            .await?
            .to_string();
        let kept = |col: &str, v: &str| format!("CASE WHEN x.{col} IS NULL THEN NULL ELSE {v} END");
        let sets = self.copy(
            "audit_sets",
            "tmpl_sets",
            (a, b),
            &[
                ("id", Some(format!("{set} + s.k - {a}"))),
                ("uuid", Some(uuid.clone())),
                ("request_id", Some(kept("request_id", &format!("'{rid}'")))),
                ("agent_id", Some("g.id".into())),
                ("agent_uuid", Some(kept("agent_uuid", "g.uuid"))),
                ("write_id", Some(kept("write_id", &write))),
            ],
            &join,
            "",
        );
        self.exec(&sets).await?;
        let assignments = self.copy(
            "assignments",
            "tmpl_assignments",
            (a, b),
            &[("agent_id", Some(format!("{pk0} + s.k")))],
            "",
            ", x.skill_id",
        );
        self.exec(&assignments).await?;
        if sqlite {
            let versions = self.copy(
                "agent_versions",
                "tmpl_versions",
                (a, b),
                &[("agent_id", Some(format!("{pk0} + s.k")))],
                "",
                "",
            );
            self.exec(&versions).await?;
        }
        let first = self.take_sequence(b - a).await?;
        let events = self.copy(
            "events",
            "tmpl_changed",
            (a, b),
            &[
                ("id", None),
                ("uuid", Some(uuid)),
                ("sequence", Some(format!("{first} + s.k - {a}"))),
                ("request_id", Some(format!("'{rid}'"))),
                ("subject_uuid", Some("g.uuid".into())),
                (
                    "audit_set_id",
                    Some(kept("audit_set_id", &format!("{set} + s.k - {a}"))),
                ),
            ],
            &join,
            "",
        );
        self.exec(&events).await
    }

    /// `INSERT INTO table … SELECT` of one row per agent `k` in `a..b` and template row `x` of
    /// agent `k % 100` (of `tmpl`): every column of the table copied from `x` but those of
    /// `own` (`None`: left to its default, the table's own key), in the order of `k`.
    fn copy(
        &self,
        table: &str,
        tmpl: &str,
        (a, b): (usize, usize),
        own: &[(&str, Option<String>)],
        join: &str,
        order: &str,
    ) -> String {
        let mut names = Vec::new();
        let mut exprs = Vec::new();
        for c in &self.columns[table] {
            match own.iter().find(|(name, _)| name == c) {
                Some((_, None)) => {}
                Some((_, Some(e))) => {
                    names.push(c);
                    exprs.push(e.clone());
                }
                None => {
                    names.push(c);
                    exprs.push(format!("x.{c}"));
                }
            }
        }
        let last = b - 1;
        let (t, base) = (TEMPLATE, self.base);
        let body = format!(
            "INSERT INTO {table} ({}) SELECT {} FROM s JOIN {tmpl} x ON x.t = (s.k - {base}) % {t} {join} ORDER BY s.k{order}",
            join_names(&names),
            exprs.join(", ")
        );
        if self.is_sqlite() {
            format!("WITH RECURSIVE s(k) AS (SELECT {a} UNION ALL SELECT k + 1 FROM s WHERE k < {last}) {body}")
        } else {
            format!("WITH s AS (SELECT k FROM generate_series({a}::bigint, {last}) AS g(k)) {body}")
        }
    }

    /// A fresh UUIDv7 for each row: the fill's milliseconds, random bits after them.
    fn new_uuid(&self) -> String {
        let m = &self.millis;
        if self.is_sqlite() {
            format!(
                "unhex('{m}' || '7' || substr(hex(randomblob(2)), 1, 3) || substr('89AB', 1 + (random() & 3), 1) || substr(hex(randomblob(8)), 1, 15))"
            )
        } else {
            format!(
                "overlay(gen_random_uuid()::text placing '{}-{}-7' from 1 for 15)::uuid",
                &m[..8],
                &m[8..]
            )
        }
    }

    /// Takes `n` event sequence numbers of the organization, as the server does for a write's
    /// events; the first.
    async fn take_sequence(&mut self, n: usize) -> Result<i64> {
        let org = self.org;
        let last = self
            .count(&format!(
                "SELECT last FROM event_counters WHERE org_id = {org}"
            ))
            .await?;
        self.exec(&format!(
            "UPDATE event_counters SET last = last + {n} WHERE org_id = {org}"
        ))
        .await?;
        Ok(last + 1)
    }

    /// The ids of agents `from..to`, in order.
    async fn uuids(&mut self, from: usize, to: usize) -> Result<Vec<Uuid>> {
        let (lo, hi) = (self.pk0 + from as i64, self.pk0 + to as i64 - 1);
        let sql = format!("SELECT uuid FROM agents WHERE id BETWEEN {lo} AND {hi} ORDER BY id");
        let out: Vec<Uuid> = match &mut self.conn {
            Conn::Sqlite(c) => {
                let rows: Vec<Vec<u8>> = sqlx::query_scalar(&sql).fetch_all(&mut *c).await?;
                rows.iter()
                    .map(|b| Uuid::from_slice(b))
                    .collect::<Result<_, _>>()?
            }
            Conn::Postgres(c) => sqlx::query_scalar(&sql).fetch_all(&mut *c).await?,
        };
        if out.len() != to - from {
            bail!("{} agents were written of {}", out.len(), to - from);
        }
        Ok(out)
    }

    async fn table_columns(&mut self, table: &str) -> Result<Vec<String>> {
        let cols: Vec<String> = match &mut self.conn {
            Conn::Sqlite(c) => {
                sqlx::query_scalar("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
                    .bind(table)
                    .fetch_all(&mut *c)
                    .await?
            }
            Conn::Postgres(c) => {
                sqlx::query_scalar(
                    "SELECT column_name::text FROM information_schema.columns
                     WHERE table_schema = current_schema() AND table_name = $1
                     ORDER BY ordinal_position",
                )
                .bind(table)
                .fetch_all(&mut *c)
                .await?
            }
        };
        Ok(cols)
    }

    fn is_sqlite(&self) -> bool {
        matches!(self.conn, Conn::Sqlite(_))
    }

    async fn exec(&mut self, sql: &str) -> Result<()> {
        let r = match &mut self.conn {
            Conn::Sqlite(c) => c.execute(sqlx::raw_sql(sql)).await.map(|_| ()),
            Conn::Postgres(c) => c.execute(sqlx::raw_sql(sql)).await.map(|_| ()),
        };
        r.with_context(|| format!("the direct load's statement failed: {}", short(sql)))
    }

    async fn count(&mut self, sql: &str) -> Result<i64> {
        let r = match &mut self.conn {
            Conn::Sqlite(c) => sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut *c).await,
            Conn::Postgres(c) => sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut *c).await,
        };
        r.with_context(|| format!("the direct load's query failed: {}", short(sql)))
    }

    async fn pair(&mut self, sql: &str) -> Result<(i64, i64)> {
        let r = match &mut self.conn {
            Conn::Sqlite(c) => {
                sqlx::query_as::<_, (i64, i64)>(sql)
                    .fetch_one(&mut *c)
                    .await
            }
            Conn::Postgres(c) => {
                sqlx::query_as::<_, (i64, i64)>(sql)
                    .fetch_one(&mut *c)
                    .await
            }
        };
        Ok(r?)
    }
}

fn join_names(names: &[&String]) -> String {
    let mut s = String::new();
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, "{n}");
    }
    s
}

fn short(sql: &str) -> String {
    sql.chars().take(300).collect()
}
