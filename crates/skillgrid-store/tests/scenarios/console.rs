//! What the console's skills and audit screens read: holders counted per skill in one call,
//! agents named by id,
//! and the audit feed, newest first, filtered by agent, skill, client and time and paged by
//! keyset, with nothing of another organization.

use super::db::TestDb;
use super::helpers::*;
use skillgrid_core::model::SkillPatch;
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::*;
use uuid::Uuid;

fn by_client(client: ClientId, now: i64) -> WriteContext {
    WriteContext {
        client_id: client,
        ..ctx(now)
    }
}

#[tokio::test]
async fn holders_are_counted_per_skill_of_the_organization() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let s = &*s;
    let org = new_org(s, "counts").await;
    let other = new_org(s, "other").await;
    let voice = new_skill(s, org, "voice").await;
    let chat = new_skill(s, org, "Chat").await;
    let email = new_skill(s, org, "E-mail").await;
    let theirs = new_skill(s, other, "Voice").await;
    let (a, b) = (
        new_agent(s, org, "a@x").await,
        new_agent(s, org, "b@x").await,
    );
    let c = new_agent(s, other, "c@x").await;
    s.write_skill_sets(
        org,
        &ctx(10),
        &[
            replace(a, vec![asg(voice, 50), asg(chat, 60)], None),
            replace(b, vec![asg(voice, 70)], None),
        ],
        opts(),
    )
    .await
    .unwrap();
    s.write_skill_sets(
        other,
        &ctx(10),
        &[replace(c, vec![asg(theirs, 50)], None)],
        opts(),
    )
    .await
    .unwrap();
    let off = SkillPatch {
        active: Some(false),
        ..Default::default()
    };
    s.update_skill(org, chat, &off, Timestamp(20))
        .await
        .unwrap();

    let counts = s.skill_holder_counts(org).await.unwrap();
    let seen: Vec<_> = counts
        .iter()
        .map(|k| (k.skill.id, k.skill.name.as_str(), k.skill.active, k.holders))
        .collect();
    assert_eq!(
        seen,
        [
            (chat, "Chat", false, 1),
            (email, "E-mail", true, 0),
            (voice, "voice", true, 2),
        ]
    );
    let theirs_seen: Vec<_> = s
        .skill_holder_counts(other)
        .await
        .unwrap()
        .iter()
        .map(|k| (k.skill.id, k.holders))
        .collect();
    assert_eq!(theirs_seen, [(theirs, 1)]);
    // Agents by id: only the organization's.
    let named = s.agents_by_ids(org, &[a, c, b]).await.unwrap();
    let mut ids: Vec<_> = named.iter().map(|g| g.id).collect();
    ids.sort();
    let mut ours = vec![a, b];
    ours.sort();
    assert_eq!(ids, ours);
    assert!(s.agents_by_ids(org, &[]).await.unwrap().is_empty());
    let nobody = new_org(s, "empty").await;
    assert!(s.skill_holder_counts(nobody).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_audit_feed_filters_and_pages_newest_first() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let s = &*s;
    let org = new_org(s, "feed").await;
    let other = new_org(s, "other").await;
    let voice = new_skill(s, org, "Voice").await;
    let chat = new_skill(s, org, "Chat").await;
    let (a, b) = (
        new_agent(s, org, "a@x").await,
        new_agent(s, org, "b@x").await,
    );
    let theirs = new_skill(s, other, "Voice").await;
    let c = new_agent(s, other, "c@x").await;
    let (ann, bob) = (ClientId::new(Uuid::now_v7()), ClientId::new(Uuid::now_v7()));
    // At 100, Ann gives a Voice and Chat, and b Voice; at 200 Bob changes a's Voice; at 300
    // Ann removes b's Voice. Another organization writes at 150 under Ann's id.
    s.write_skill_sets(
        org,
        &by_client(ann, 100),
        &[
            replace(a, vec![asg(voice, 10), asg(chat, 20)], None),
            replace(b, vec![asg(voice, 30)], None),
        ],
        opts(),
    )
    .await
    .unwrap();
    s.write_skill_sets(
        other,
        &by_client(ann, 150),
        &[replace(c, vec![asg(theirs, 5)], None)],
        opts(),
    )
    .await
    .unwrap();
    s.write_skill_sets(
        org,
        &by_client(bob, 200),
        &[merge(a, vec![asg(voice, 40)], vec![])],
        opts(),
    )
    .await
    .unwrap();
    s.write_skill_sets(
        org,
        &by_client(ann, 300),
        &[merge(b, vec![], vec![voice])],
        opts(),
    )
    .await
    .unwrap();

    let feed = |f: AuditFilter, after: Option<i64>, limit: u32| async move {
        let p = s
            .audit_feed(org, &f, PageRequest { after, limit })
            .await
            .unwrap();
        let seen: Vec<_> = p
            .items
            .iter()
            .map(|e| (e.at.0, e.agent_id, e.skill_id, e.client_id))
            .collect();
        (seen, p.next)
    };
    let all = AuditFilter::default();
    let (everything, next) = feed(all, None, 10).await;
    assert_eq!(next, None);
    assert_eq!(everything.len(), 5);
    let times: Vec<i64> = everything.iter().map(|e| e.0).collect();
    assert_eq!(times, [300, 200, 100, 100, 100], "newest first, ours only");

    // Paged two at a time, the pages are the whole feed in order.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let (items, next) = feed(all, after, 2).await;
        assert!(items.len() <= 2);
        paged.extend(items);
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(paged, everything);

    let only = |f: AuditFilter| async move { feed(f, None, 10).await.0 };
    let of_a = only(AuditFilter {
        agent: Some(a),
        ..all
    })
    .await;
    assert_eq!(of_a.len(), 3);
    assert!(of_a.iter().all(|e| e.1 == a));
    let of_chat = only(AuditFilter {
        skill: Some(chat),
        ..all
    })
    .await;
    assert_eq!(of_chat, [(100, a, chat, ann)]);
    let by_bob = only(AuditFilter {
        client: Some(bob),
        ..all
    })
    .await;
    assert_eq!(by_bob, [(200, a, voice, bob)]);
    let by_ann_on_voice = only(AuditFilter {
        client: Some(ann),
        skill: Some(voice),
        ..all
    })
    .await;
    assert_eq!(by_ann_on_voice.len(), 3);
    let between = only(AuditFilter {
        from: Some(Timestamp(150)),
        to: Some(Timestamp(300)),
        ..all
    })
    .await;
    assert_eq!(between.iter().map(|e| e.0).collect::<Vec<_>>(), [300, 200]);
    let up_to = only(AuditFilter {
        to: Some(Timestamp(299)),
        agent: Some(b),
        ..all
    })
    .await;
    assert_eq!(up_to, [(100, b, voice, ann)]);

    // Another organization's agent, skill or entries never show.
    assert!(only(AuditFilter {
        agent: Some(c),
        ..all
    })
    .await
    .is_empty());
    assert!(only(AuditFilter {
        skill: Some(theirs),
        ..all
    })
    .await
    .is_empty());

    // A skill filter pages through rows that hold other skills too, one entry a page.
    let mut voice_pages = Vec::new();
    let mut after = None;
    loop {
        let (items, next) = feed(
            AuditFilter {
                skill: Some(voice),
                ..all
            },
            after,
            1,
        )
        .await;
        voice_pages.extend(items);
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let expected: Vec<_> = everything.into_iter().filter(|e| e.2 == voice).collect();
    assert_eq!(voice_pages, expected);
}

/// A large write's entries (stored naming their skills by place in the write's list, on
/// SQLite) are found by skill as any others, page after page.
#[tokio::test]
async fn the_audit_feed_finds_a_skill_in_a_large_write() {
    let db = TestDb::new().await;
    let s = db.store().await;
    let s = &*s;
    let org = new_org(s, "large").await;
    let voice = new_skill(s, org, "Voice").await;
    let chat = new_skill(s, org, "Chat").await;
    let mut writes = Vec::new();
    for i in 0..70 {
        let agent = new_agent(s, org, &format!("a{i}@x")).await;
        let skill = if i % 2 == 0 { voice } else { chat };
        writes.push(replace(agent, vec![asg(skill, 10)], None));
    }
    s.write_skill_sets(org, &ctx(100), &writes, opts())
        .await
        .unwrap();
    let f = AuditFilter {
        skill: Some(chat),
        ..Default::default()
    };
    let (mut seen, mut after) = (Vec::new(), None);
    loop {
        let p = s
            .audit_feed(org, &f, PageRequest { after, limit: 10 })
            .await
            .unwrap();
        assert!(p.items.len() <= 10);
        seen.extend(p.items);
        match p.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len(), 35);
    assert!(seen.iter().all(|e| e.skill_id == chat));
    let mut agents: Vec<_> = seen.iter().map(|e| e.agent_id).collect();
    agents.dedup();
    assert_eq!(agents.len(), 35);
}
