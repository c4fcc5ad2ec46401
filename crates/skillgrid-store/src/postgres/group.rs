//! Group commit of small skill-set writes on PostgreSQL (the queue is `crate::group`'s).
//!
//! A single-skill write is about ten statements, each a round trip and a turn of PostgreSQL's
//! executor, for one row. Grouped, the writes of one organization are written by the same
//! statements with many rows each, in one transaction: `skillsets::write_parts`, which keeps
//! each write all-or-nothing on its own. A transaction holds no agent twice, so writes of one
//! group to the same agent go to consecutive transactions, in the order they were queued.
//! Several groups may be written at once (`super::group_leaders`); they lock their agents in
//! id order, as every write does, and have no order between them, as concurrent requests
//! have none.

use super::skillsets::{self, Part};
use crate::group::{fail_all, Job};
use crate::*;
use sqlx::postgres::PgPool;
use std::collections::HashSet;

pub(super) async fn run(pool: PgPool, jobs: Vec<Job>) {
    for round in rounds(jobs) {
        let org = round[0].org;
        let parts: Vec<Part> = round
            .iter()
            .map(|j| Part {
                ctx: &j.ctx,
                items: &j.items,
                opts: j.opts,
                sink: None,
            })
            .collect();
        let results = skillsets::write_parts(&pool, org, &parts).await;
        match results {
            Ok(results) if results.len() == round.len() => {
                for (j, r) in round.into_iter().zip(results) {
                    j.answer(r);
                }
            }
            Ok(_) => fail_all(
                round,
                &StoreError::Other(anyhow::anyhow!("a grouped write was left unanswered")),
            ),
            Err(e) => fail_all(round, &e),
        }
    }
}

/// The jobs in transactions of one organization each, with no agent in two jobs of one
/// transaction. A job goes to the first transaction after every one that holds an earlier job
/// of its organization on one of its agents, so writes to one agent keep their order.
fn rounds(jobs: Vec<Job>) -> Vec<Vec<Job>> {
    let mut rounds: Vec<(OrgId, HashSet<AgentId>, Vec<Job>)> = Vec::new();
    for job in jobs {
        let agents: HashSet<AgentId> = job.items.iter().map(|it| it.agent_id).collect();
        // After the last round that shares an agent with this job (same organization).
        let after = rounds
            .iter()
            .rposition(|(org, held, _)| *org == job.org && !held.is_disjoint(&agents))
            .map_or(0, |i| i + 1);
        match rounds[after..]
            .iter_mut()
            .find(|(org, held, _)| *org == job.org && held.is_disjoint(&agents))
        {
            Some((_, held, round)) => {
                held.extend(agents);
                round.push(job);
            }
            None => rounds.push((job.org, agents, vec![job])),
        }
    }
    rounds.into_iter().map(|(_, _, round)| round).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use skillgrid_core::model::SkillSetWrite;
    use tokio::sync::oneshot;

    fn job(org: u128, agents: &[u128]) -> Job {
        let (reply, _) = oneshot::channel();
        Job {
            org: OrgId::new(Uuid::from_u128(org)),
            ctx: WriteContext {
                request_id: format!("{org}-{agents:?}"),
                client_id: ClientId::new(Uuid::nil()),
                now: Timestamp(0),
            },
            items: agents
                .iter()
                .map(|a| AgentWrite {
                    agent_id: AgentId::new(Uuid::from_u128(*a)),
                    write: SkillSetWrite::Merge {
                        upsert: vec![],
                        remove: vec![],
                    },
                    if_match: None,
                })
                .collect(),
            opts: WriteOptions {
                dry_run: false,
                atomic: true,
                max_skills_per_agent: 10,
                return_sets: true,
                inactive_ok: false,
            },
            reply,
        }
    }

    fn names(rounds: &[Vec<Job>]) -> Vec<Vec<String>> {
        rounds
            .iter()
            .map(|r| r.iter().map(|j| j.ctx.request_id.clone()).collect())
            .collect()
    }

    #[test]
    fn rounds_keep_each_agent_once_per_transaction_and_in_order() {
        let jobs = vec![
            job(1, &[1]),
            job(1, &[2]),
            job(1, &[1, 3]), // waits for the first
            job(2, &[1]),    // another organization: its own transaction
            job(1, &[4]),    // joins the first
            job(1, &[3]),    // after the third
            job(1, &[1]),    // after the third, beside the sixth
        ];
        assert_eq!(
            names(&rounds(jobs)),
            vec![
                vec!["1-[1]", "1-[2]", "1-[4]"],
                vec!["1-[1, 3]"],
                vec!["2-[1]"],
                vec!["1-[3]", "1-[1]"],
            ]
        );
    }
}
