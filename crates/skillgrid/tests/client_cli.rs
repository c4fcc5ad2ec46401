//! The client commands (`apply`, `plan`, `export`) of the real binary against a real server
//! on a loopback port over a temporary SQLite file.

use serde_json::json;
use skillgrid_client::{Client, NewAgent, NewSkill};
use std::process::Output;

struct App {
    base: String,
    client_id: String,
    client_secret: String,
    client: Client,
    store: skillgrid_store::DynStore,
    org_id: skillgrid_store::OrgId,
    dir: tempfile::TempDir,
    _server: skillgrid_testkit::TestServer,
    _db: skillgrid_testkit::TestDb,
}

async fn spawn_app() -> App {
    spawn_app_on(false).await
}

/// A server over SQLite, or over a fresh PostgreSQL database when `postgres`.
async fn spawn_app_on(postgres: bool) -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = skillgrid_testkit::test_db(postgres).await;
    let server = skillgrid_testkit::spawn_server(&db.url).await;
    let (base, store, boot) = (
        server.base.clone(),
        server.store.clone(),
        server.boot.clone(),
    );
    let client_id = boot.client_id.to_string();
    let client = Client::builder(&base, &client_id, &boot.client_secret)
        .no_proxy()
        .build()
        .unwrap();
    for name in ["Billing", "Sales", "Spanish"] {
        client.create_skill(&NewSkill::new(name)).await.unwrap();
    }
    for (email, name) in [
        ("ana@example.com", "Ana"),
        ("bo@example.com", "Bo"),
        ("cy@example.com", "Cy"),
    ] {
        client
            .create_agent(&NewAgent::new(email, name))
            .await
            .unwrap();
    }
    App {
        base,
        client_id,
        client_secret: boot.client_secret,
        client,
        store,
        org_id: boot.org_id,
        dir,
        _server: server,
        _db: db,
    }
}

impl App {
    fn write(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    /// Runs the binary off the async runtime (the server keeps serving meanwhile).
    async fn run(&self, args: &[&str]) -> Output {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_skillgrid"));
        cmd.args(args)
            .env("SKILLGRID_SERVER", &self.base)
            .env("SKILLGRID_CLIENT_ID", &self.client_id)
            .env("SKILLGRID_CLIENT_SECRET", &self.client_secret)
            .env("NO_PROXY", "127.0.0.1")
            .env("no_proxy", "127.0.0.1")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy");
        tokio::task::spawn_blocking(move || cmd.output().expect("run skillgrid"))
            .await
            .unwrap()
    }

    async fn audit(&self) -> Vec<skillgrid_api::AuditEntry> {
        self.client.all_audit(&Default::default()).await.unwrap()
    }

    async fn assignments(&self) -> Vec<(String, String, i64)> {
        let mut out = Vec::new();
        for a in self.client.all_agents(&Default::default()).await.unwrap() {
            for s in self.client.agent_skills(a.id).await.unwrap().skills {
                out.push((a.email.clone(), s.skill_name, s.proficiency));
            }
        }
        out.sort();
        out
    }
}

impl App {
    /// Changes the organization's settings in the store the server reads.
    async fn change_settings(&self, change: impl FnOnce(&mut skillgrid_api::OrgSettings)) {
        let mut settings = self.store.settings(self.org_id).await.unwrap();
        change(&mut settings);
        self.store
            .update_settings(self.org_id, &settings)
            .await
            .unwrap()
            .expect("settings stored");
    }

    /// The audit log as `(agent email, skill name)`, sorted.
    async fn audited(&self) -> Vec<(String, String)> {
        let agents: std::collections::HashMap<_, _> = self
            .client
            .all_agents(&Default::default())
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.id, a.email))
            .collect();
        let skills: std::collections::HashMap<_, _> = self
            .client
            .all_skills(&Default::default())
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect();
        let mut out: Vec<_> = self
            .audit()
            .await
            .iter()
            .map(|e| (agents[&e.agent_id].clone(), skills[&e.skill_id].clone()))
            .collect();
        out.sort();
        out
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json_of(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\n{}", stdout(o), stderr(o)))
}

/// The mistakes on stderr are exactly `wants`, in that order, each once.
fn assert_mistakes(o: &Output, wants: &[String]) {
    let err = stderr(o);
    let said: Vec<&str> = err
        .lines()
        .filter(|l| !l.starts_with("progress: "))
        .collect();
    assert_eq!(said.len(), wants.len(), "{err}");
    for (said, want) in said.iter().zip(wants) {
        assert!(
            said.starts_with(want.as_str()),
            "{want:?} expected, in:\n{err}"
        );
    }
}

/// The lines of the `--json` summary's `errors` or `warnings`, in order.
fn lines_of(v: &serde_json::Value, list: &str) -> Vec<u64> {
    v[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {v}"))
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect()
}

/// The `--json` summary has these values.
fn assert_summary(v: &serde_json::Value, want: &[(&str, serde_json::Value)]) {
    for (key, want) in want {
        assert_eq!(&v[key], want, "{key}: {v}");
    }
}

const GOOD: &str = "\
agent,skill,proficiency,expirationDate
ana@example.com,Billing,80,
ana@example.com,sales,Advanced,2030-01-01T00:00:00Z
bo@example.com,Spanish,30,
cy@example.com,Billing,,
";

#[tokio::test]
async fn apply_export_round_trip_and_plan_writes_nothing() {
    let app = spawn_app().await;
    let file = app.write("good.csv", GOOD);

    // plan: a readable diff, nothing written.
    let o = app.run(&["plan", &file]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("ana@example.com\n  + Billing 80"), "{out}");
    assert!(
        out.contains("  + Sales 75 (Advanced) until 2030-01-01"),
        "{out}"
    );
    assert!(out.contains("dry run: added 4"), "{out}");
    assert!(app.assignments().await.is_empty());
    let o = app.run(&["apply", &file, "--dry-run", "--json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json_of(&o)["added"], 4);
    assert!(app.assignments().await.is_empty());
    assert!(
        app.audit().await.is_empty(),
        "a dry run wrote to the audit log"
    );

    // apply in chunks of one agent.
    let o = app.run(&["apply", &file, "--chunk", "1", "--json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(
        (v["added"].clone(), v["chunks"].clone()),
        (4.into(), 3.into())
    );
    assert_eq!(v["failed"], 0);
    let applied = app.assignments().await;
    assert_eq!(applied.len(), 4);
    assert!(applied.contains(&("cy@example.com".into(), "Billing".into(), 50)));

    // export, then apply the export: everything unchanged.
    let o = app.run(&["export"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let csv = stdout(&o);
    assert!(
        csv.starts_with("agent,skill,proficiency,effectiveDate,expirationDate\n"),
        "{csv}"
    );
    assert!(
        csv.contains("ana@example.com,Sales,75,,2030-01-01T00:00:00.000Z"),
        "{csv}"
    );
    let exported = app.write("export.csv", &csv);
    let o = app
        .run(&["apply", &exported, "--mode", "replace", "--json"])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(v["unchanged"], 4, "{v}");
    assert_eq!(
        (v["added"].clone(), v["updated"].clone()),
        (0.into(), 0.into())
    );
    assert_eq!(app.assignments().await, applied);
    // The JSON export is bulk items that apply reads back.
    let o = app.run(&["export", "--format", "json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let items = json_of(&o);
    assert_eq!(items.as_array().unwrap().len(), 3, "{items}");
    assert_eq!(items[0]["agentId"], "ana@example.com", "{items}");
    assert_eq!(items[0]["skills"][1]["skillId"], "Sales", "{items}");
    let exported = app.write("export.json", &stdout(&o));
    let o = app.run(&["apply", &exported, "--json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json_of(&o)["unchanged"], 4);

    // plan shows updates as before -> after.
    let changed = app.write(
        "changed.csv",
        "agent,skill,proficiency\nbo@example.com,Spanish,Expert\n",
    );
    let o = app.run(&["plan", &changed]).await;
    assert!(
        stdout(&o).contains("bo@example.com\n  ~ Spanish 30 (Novice) -> 100 (Expert)"),
        "{}",
        stdout(&o)
    );
    assert_eq!(app.assignments().await, applied);
}

#[tokio::test]
async fn local_mistakes_are_reported_against_their_lines() {
    let app = spawn_app().await;
    let file = app.write(
        "bad.csv",
        "agent,skill,proficiency\n\
         ana@example.com,Billing,80\n\
         zed@example.com,Billing,10\n\
         bo@example.com,Karate,10\n\
         bo@example.com,Sales,12x\n\
         ana@example.com,billing,90\n\
         ,Sales,1\n\
         cy@example.com,Sales,Guru\n",
    );
    let wants = [
        format!("{file}:3: column agent: unknown agent email \"zed@example.com\""),
        format!("{file}:4: column skill: unknown skill name \"Karate\""),
        format!("{file}:5: column proficiency: bad number \"12x\""),
        format!("{file}:6: column skill: duplicate: agent \"ana@example.com\" and skill \"billing\" are already on line 2"),
        format!("{file}:7: column agent: missing value"),
        format!("{file}:8: column proficiency: unknown level \"Guru\""),
    ];
    // By default the file is all or nothing: the valid row is not written either.
    let o = app.run(&["apply", &file]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_mistakes(&o, &wants);
    assert_eq!(
        stdout(&o),
        "nothing written: 6 of 7 rows have mistakes; correct them and apply again, or write the rows without mistakes with --no-atomic\n\
         added 0, updated 0, removed 0, unchanged 0, failed 6, skipped 1\n"
    );
    assert!(app.assignments().await.is_empty());
    let o = app.run(&["apply", &file, "--no-atomic"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_mistakes(&o, &wants);
    assert_eq!(
        stdout(&o),
        "added 1, updated 0, removed 0, unchanged 0, failed 6\n"
    );
    // With --no-atomic the valid row was written.
    assert_eq!(
        app.assignments().await,
        vec![("ana@example.com".into(), "Billing".into(), 80)]
    );

    // File errors: exit 2.
    let nocol = app.write("nocol.csv", "agent,proficiency\nana@example.com,1\n");
    let o = app.run(&["apply", &nocol]).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!("{nocol}:1: column skill: missing column")),
        "{}",
        stderr(&o)
    );
    let o = app.run(&["apply", "/nonexistent/x.csv"]).await;
    assert_eq!(o.status.code(), Some(2));
    // Usage error: exit 2.
    let o = app.run(&["apply", &nocol, "--mode", "sideways"]).await;
    assert_eq!(o.status.code(), Some(2));
}

#[tokio::test]
async fn server_errors_map_back_to_lines_and_network_failure_is_3() {
    let app = spawn_app().await;
    let file = app.write(
        "range.csv",
        "agent,skill,proficiency,effectiveDate,expirationDate\n\
         ana@example.com,Billing,10,,\n\
         bo@example.com,Billing,20,,\n\
         bo@example.com,Sales,500,,\n\
         cy@example.com,Spanish,1,2030-01-01T00:00:00Z,2029-01-01T00:00:00Z\n",
    );
    // By default: nothing written, both server errors mapped to their lines and columns.
    let o = app.run(&["apply", &file, "--json"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{file}:4: column proficiency: proficiency 500")),
        "{err}"
    );
    assert!(err.contains("(out_of_range)"), "{err}");
    assert!(
        err.contains(&format!("{file}:5: column expirationDate: ")),
        "{err}"
    );
    assert!(err.contains("(invalid_date_range)"), "{err}");
    assert!(app.assignments().await.is_empty());
    let v = json_of(&o);
    assert_eq!(
        (v["failed"].clone(), v["skipped"].clone()),
        (2.into(), 2.into()),
        "{v}"
    );
    assert_eq!(v["errors"][0]["line"], 4, "{v}");
    assert_eq!(v["errors"][1]["line"], 5, "{v}");

    // Not atomic, in chunks of two agents: the valid agents are written.
    let o = app
        .run(&["apply", &file, "--no-atomic", "--chunk", "2"])
        .await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{file}:4: column proficiency: proficiency 500")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{file}:5: column expirationDate: ")),
        "{err}"
    );
    assert_eq!(
        app.assignments().await,
        vec![("ana@example.com".into(), "Billing".into(), 10)]
    );

    // Bad credentials and an unreachable server: exit 3.
    let o = app.run(&["apply", &file, "--client-secret", "wrong"]).await;
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let o = app.run(&["export", "--server", "http://127.0.0.1:1"]).await;
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

/// The client commands, each as `skillgrid ARGS…` needs to reach the sign-in.
const CLIENT_COMMANDS: &[&[&str]] = &[
    &["apply", "x.csv"],
    &["plan", "x.csv"],
    &["export"],
    &["skills", "list"],
    &["skills", "create", "--name", "X"],
    &["skills", "update", "X", "--name", "Y"],
    &["skills", "deactivate", "X"],
    &["agents", "list"],
    &[
        "agents",
        "create",
        "--email",
        "x@example.com",
        "--name",
        "X",
    ],
    &["agents", "update", "x@example.com", "--name", "Y"],
    &["agents", "deactivate", "x@example.com"],
];

/// The binary with the sign-in taken from `env` only, and a server no test listens on.
fn bare(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_skillgrid"));
    cmd.args(args)
        .env("SKILLGRID_SERVER", "http://127.0.0.1:1")
        .env_remove("SKILLGRID_CLIENT_ID")
        .env_remove("SKILLGRID_CLIENT_SECRET")
        .envs(env.iter().copied());
    cmd.output().expect("run skillgrid")
}

#[test]
fn help_shows_the_sign_in_as_optional_and_a_missing_id_is_a_usage_error() {
    let secret = "s3cret-value-never-shown";
    for c in CLIENT_COMMANDS {
        let mut args = c.to_vec();
        args.push("--help");
        for env in [
            &[][..],
            &[
                ("SKILLGRID_CLIENT_ID", "client-7"),
                ("SKILLGRID_CLIENT_SECRET", secret),
            ],
        ] {
            let o = bare(&args, env);
            assert_eq!(o.status.code(), Some(0), "{c:?}: {}", stderr(&o));
            let out = stdout(&o);
            let usage = out
                .lines()
                .find(|l| l.starts_with("Usage: "))
                .unwrap_or_else(|| panic!("{c:?}: no usage line in {out}"));
            assert!(
                !usage.contains("--client-id") && !usage.contains("--client-secret"),
                "{c:?}: {usage}"
            );
            assert!(usage.contains("[OPTIONS]"), "{c:?}: {usage}");
            assert!(
                out.contains("--client-id <CLIENT_ID>")
                    && out.contains("--client-secret <CLIENT_SECRET>"),
                "{c:?}: {out}"
            );
            assert!(!out.contains(secret), "{c:?} shows the secret: {out}");
            assert_eq!(
                out.contains("[env: SKILLGRID_CLIENT_ID=client-7]"),
                !env.is_empty(),
                "{c:?}: {out}"
            );
        }
    }
    assert!(stdout(&bare(&["apply", "--help"], &[]))
        .contains("Usage: skillgrid apply [OPTIONS] <FILE>\n"));

    // Neither flag nor variable: a usage error naming both, before any file or server is used.
    for c in CLIENT_COMMANDS {
        let o = bare(c, &[("SKILLGRID_CLIENT_SECRET", secret)]);
        assert_eq!(o.status.code(), Some(2), "{c:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("--client-id <CLIENT_ID>") && err.contains("SKILLGRID_CLIENT_ID"),
            "{c:?}: {err}"
        );
        assert!(!err.contains("SKILLGRID_CLIENT_SECRET"), "{c:?}: {err}");
        let o = bare(c, &[("SKILLGRID_CLIENT_ID", "client-7")]);
        assert_eq!(o.status.code(), Some(2), "{c:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("--client-secret <CLIENT_SECRET>")
                && err.contains("SKILLGRID_CLIENT_SECRET"),
            "{c:?}: {err}"
        );
    }
    // Given as flags, they are used: the sign-in then fails on the unreachable server (3).
    let o = bare(
        &[
            "skills",
            "list",
            "--client-id",
            "client-7",
            "--client-secret",
            secret,
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

#[tokio::test]
async fn every_command_help_has_an_example() {
    let app = spawn_app().await;
    let commands: &[&[&str]] = &[
        &["serve"],
        &["admin"],
        &["admin", "create-org"],
        &["admin", "create-client"],
        &["apply"],
        &["plan"],
        &["export"],
        &["validate"],
        &["skills"],
        &["skills", "list"],
        &["skills", "create"],
        &["skills", "update"],
        &["skills", "deactivate"],
        &["agents"],
        &["agents", "list"],
        &["agents", "create"],
        &["agents", "update"],
        &["agents", "deactivate"],
    ];
    for c in commands {
        let mut args = c.to_vec();
        args.push("--help");
        let o = app.run(&args).await;
        assert_eq!(o.status.code(), Some(0), "{c:?}: {}", stderr(&o));
        assert!(stdout(&o).contains("Example:"), "{c:?}: {}", stdout(&o));
    }
}

#[tokio::test]
async fn skills_and_agents_commands_round_trip() {
    let app = spawn_app().await;

    // skills: create, list (table and JSON), update by name, deactivate, filter.
    let o = app
        .run(&[
            "skills",
            "create",
            "--name",
            "Refunds",
            "--description",
            "Money back",
            "--json",
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let id = json_of(&o)["id"].as_str().unwrap().to_string();
    let o = app.run(&["skills", "list"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("ID"), "{out}");
    assert!(
        out.contains("Refunds") && out.contains("Money back"),
        "{out}"
    );
    let o = app.run(&["skills", "list", "--json"]).await;
    assert_eq!(json_of(&o).as_array().unwrap().len(), 4);
    let o = app
        .run(&[
            "skills",
            "update",
            "refunds",
            "--name",
            "Refunds desk",
            "--json",
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json_of(&o)["name"], "Refunds desk");
    let o = app.run(&["skills", "deactivate", &id, "--json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json_of(&o)["active"], false);
    let o = app
        .run(&["skills", "list", "--active", "false", "--json"])
        .await;
    let v = json_of(&o);
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[0]["id"], id.as_str());

    // A 4xx problem: readable, exit 1.
    let o = app.run(&["skills", "create", "--name", "billing"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("409 conflict") && err.contains("/name"),
        "{err}"
    );
    let o = app.run(&["skills", "update", "Nope", "--name", "X"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));

    // agents
    let o = app
        .run(&[
            "agents",
            "create",
            "--email",
            "dee@example.com",
            "--name",
            "Dee",
            "--external-id",
            "E-7",
            "--json",
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json_of(&o)["externalId"], "E-7");
    let o = app
        .run(&[
            "agents",
            "update",
            "DEE@example.com",
            "--name",
            "Dee Dee",
            "--json",
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json_of(&o)["name"], "Dee Dee");
    let o = app.run(&["agents", "deactivate", "dee@example.com"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("false"), "{}", stdout(&o));
    let o = app
        .run(&["agents", "list", "--email", "dee@example.com", "--json"])
        .await;
    let v = json_of(&o);
    assert_eq!(
        (v[0]["name"].clone(), v[0]["active"].clone()),
        ("Dee Dee".into(), false.into())
    );
    let o = app.run(&["agents", "list", "--active", "true"]).await;
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(!out.contains("dee@"), "{out}");
    let o = app
        .run(&["agents", "create", "--email", "not-an-email", "--name", ""])
        .await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let o = app
        .run(&["agents", "list", "--server", "http://127.0.0.1:1"])
        .await;
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

#[tokio::test]
async fn validate_finds_mistakes_on_their_lines_offline() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_skillgrid"))
            .args(args)
            .env("SKILLGRID_SERVER", "http://127.0.0.1:1")
            .output()
            .unwrap()
    };
    let good = write("good.csv", GOOD);
    let o = run(&["validate", &good]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let bad = write(
        "bad.csv",
        "agent,skill,proficiency,effectiveDate,expirationDate\n\
         ana@example.com,Billing,80,,\n\
         ana@example.com,Sales,8O,,\n\
         bo@example.com,Spanish,Expert,2030-02-30,\n\
         ANA@example.com,billing,10,,\n\
         ,Sales,,,\n",
    );
    let o = run(&["validate", &bad]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    for want in [
        format!("{bad}:3: column proficiency: bad number \"8O\""),
        format!("{bad}:4: column effectiveDate: bad date"),
        format!("{bad}:5: column skill: duplicate: "),
        format!("{bad}:6: column agent: missing value"),
    ] {
        assert!(err.contains(&want), "{want}\n{err}");
    }
    assert_eq!(err.lines().count(), 4, "{err}");
    let o = run(&["validate", &bad, "--json"]);
    let v = json_of(&o);
    assert_eq!(v["errors"].as_array().unwrap().len(), 4, "{v}");

    let header = write("header.csv", "agent,skil\nana@example.com,Billing\n");
    let o = run(&["validate", &header]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(":1: column skil: unknown column"),
        "{}",
        stderr(&o)
    );

    let nd = write(
        "items.ndjson",
        "{\"agentId\": \"ana@example.com\", \"skills\": [{\"skillId\": \"Billing\"}]}\n\n\
         {\"agentId\": \"bo@example.com\", \"skills\": [{\"skillId\": \"Sales\", \"proficiency\": \"8x\"}]}\n",
    );
    let o = run(&["validate", &nd]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("{nd}:3: column proficiency: bad number")),
        "{}",
        stderr(&o)
    );
    let js = write(
        "items.json",
        r#"{"items": [{"agentId": "ana@example.com", "skills": [{"skillId": "Billing", "expirationDate": "soon"}]}]}"#,
    );
    let o = run(&["validate", &js]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "{js}:/items/0/skills/0: column expirationDate: bad date"
        )),
        "{}",
        stderr(&o)
    );

    let o = run(&["validate", &format!("{good}.missing")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[tokio::test]
async fn apply_reads_ndjson_and_json() {
    let app = spawn_app().await;
    let nd = app.write(
        "items.ndjson",
        "{\"agentId\": \"ana@example.com\", \"skills\": [{\"skillId\": \"Billing\", \"proficiency\": 80}, {\"skillId\": \"sales\", \"proficiency\": \"Advanced\"}]}\n\
         {\"agentId\": \"bo@example.com\", \"skills\": [{\"skillId\": \"Spanish\", \"proficiency\": 30}]}\n",
    );
    let o = app.run(&["plan", &nd]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("dry run: added 3"), "{}", stdout(&o));
    let o = app.run(&["apply", &nd, "--json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json_of(&o)["added"], 3);
    assert_eq!(
        app.assignments().await,
        vec![
            ("ana@example.com".into(), "Billing".into(), 80),
            ("ana@example.com".into(), "Sales".into(), 75),
            ("bo@example.com".into(), "Spanish".into(), 30),
        ]
    );

    // A bad item is reported at its line; with --no-atomic the good one is written.
    let nd2 = app.write(
        "more.ndjson",
        "{\"agentId\": \"cy@example.com\", \"skills\": [{\"skillId\": \"Billing\", \"proficiency\": 10}]}\n\
         {\"agentId\": \"cy@example.com\", \"skills\": [{\"skillId\": \"Nope\"}]}\n\
         {\"agentId\": \"bo@example.com\", \"skills\": [{\"skillId\": \"Sales\", \"proficiency\": 500}]}\n",
    );
    let o = app.run(&["apply", &nd2, "--no-atomic"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{nd2}:2: column skill: unknown skill name")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{nd2}:3: column proficiency: ")),
        "{err}"
    );

    // JSON in the {"items": [...]} shape, format forced.
    let js = app.write(
        "items.txt",
        r#"{"items": [{"agentId": "cy@example.com", "skills": [{"skillId": "Spanish", "proficiency": 999}]}]}"#,
    );
    let o = app.run(&["apply", &js, "--format", "json"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{js}:/items/0/skills/0: column proficiency: ")),
        "{err}"
    );
}

#[tokio::test]
async fn apply_under_a_tight_rate_limit_writes_each_assignment_once() {
    let app = spawn_app().await;
    app.change_settings(|s| {
        s.rate_limit.requests_per_minute = 60;
        s.rate_limit.burst = 1;
    })
    .await;
    let file = app.write(
        "three.csv",
        "agent,skill,proficiency\nana@example.com,Billing,10\nbo@example.com,Sales,20\ncy@example.com,Spanish,30\n",
    );
    let o = app.run(&["apply", &file, "--chunk", "1", "--json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(
        (v["added"].clone(), v["chunks"].clone()),
        (3.into(), 3.into()),
        "{v}"
    );
    // Requests were refused with 429 and sent again: the CLI counts its retries, and the
    // server counted 429 answers to the bulk route (no other test here is rate limited).
    assert!(v["retries"].as_u64().unwrap() >= 1, "no retry: {v}");
    // Plain progress lines (stderr is not a terminal here), counting the retries too.
    let err = stderr(&o);
    assert!(
        err.contains("/3 rows read, 1 chunks sent, 0 failed, "),
        "{err}"
    );
    assert!(
        err.contains("progress: checking 3/3 rows read, 3 chunks sent, 0 failed, "),
        "{err}"
    );
    assert!(
        err.contains("progress: writing 3/3 rows read, 3 chunks sent, 0 failed, "),
        "{err}"
    );
    // Each chunk was checked, then written.
    assert_eq!(v["requests"], 6, "{v}");
    let metrics = reqwest::get(format!("{}/metrics", app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let bulk_429: u64 = metrics
        .lines()
        .filter(|l| {
            l.starts_with("http_requests_total{")
                && l.contains("route=\"/api/v2/agents/skills/bulk\"")
                && l.contains("status=\"429\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(bulk_429 >= 1, "no 429 on the bulk route:\n{metrics}");
    // The audit log, read once the bucket refilled: one write per assignment.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let audit = app.client.all_audit(&Default::default()).await.unwrap();
    let mut writes: Vec<_> = audit.iter().map(|e| (e.agent_id, e.skill_id)).collect();
    assert_eq!(writes.len(), 3, "{audit:?}");
    writes.sort();
    writes.dedup();
    assert_eq!(writes.len(), 3, "{audit:?}");
}

#[tokio::test]
async fn json_items_with_remove_and_if_match_are_sent() {
    let app = spawn_app().await;
    let good = app.write("good.csv", GOOD);
    let o = app.run(&["apply", &good]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // ana is at version 1: add Spanish, remove Sales, only if still at version 1.
    let nd = app.write(
        "change.ndjson",
        r#"{"agentId": "ana@example.com", "ifMatch": "\"1\"", "skills": [{"skillId": "Spanish", "proficiency": 40}], "remove": ["sales"]}
"#,
    );
    let o = app.run(&["validate", &nd]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = app.run(&["apply", &nd, "--json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(
        (v["added"].clone(), v["removed"].clone()),
        (1.into(), 1.into()),
        "{v}"
    );
    let ana: Vec<_> = app
        .assignments()
        .await
        .into_iter()
        .filter(|a| a.0 == "ana@example.com")
        .map(|a| a.1)
        .collect();
    assert_eq!(ana, vec!["Billing".to_string(), "Spanish".to_string()]);

    // The same file again: ana is now at version 2, so the precondition fails (atomic:
    // nothing written), reported at the line and column of the ifMatch.
    let before = app.assignments().await;
    let o = app.run(&["apply", &nd]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(&format!("{nd}:1: column ifMatch: ")), "{err}");
    assert!(err.contains("(precondition_failed)"), "{err}");
    assert_eq!(app.assignments().await, before);

    // A document read one item at a time: a bad end or a wrong shape anywhere is still found
    // before anything is sent.
    for (doc, says) in [
        (
            r#"[{"agentId": "ana@example.com", "skills": [{"skillId": "Spanish"}]}, {"agentId": "#,
            "invalid JSON",
        ),
        (
            r#"[{"agentId": "ana@example.com", "skills": [{"skillId": "Spanish"}]}] x"#,
            "invalid JSON",
        ),
        ("42", "expected a JSON array of bulk items"),
        (r#"{"mode": "merge", "item": []}"#, "unknown field"),
        (r#"{"items": 5}"#, "expected {\"items\""),
        (r#"{"atomic": true}"#, "expected {\"items\""),
    ] {
        let f = app.write("doc.json", doc);
        let o = app.run(&["apply", &f]).await;
        assert_eq!(o.status.code(), Some(2), "{doc}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{doc}: {}", stderr(&o));
        assert_eq!(app.assignments().await, before, "{doc}");
    }

    // Mistakes in remove and ifMatch are found before sending, at their pointers.
    let js = app.write(
        "bad.json",
        r#"{"items": [
             {"agentId": "bo@example.com", "remove": ["Karate"]},
             {"agentId": "cy@example.com", "ifMatch": "1", "remove": ["Billing"]}]}"#,
    );
    let o = app.run(&["apply", &js]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "{js}:/items/0/remove/0: column remove: unknown skill name \"Karate\""
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{js}:/items/1/ifMatch: column ifMatch: bad ifMatch"
        )),
        "{err}"
    );
    let o = app.run(&["validate", &js]).await;
    assert!(
        stderr(&o).contains(&format!(
            "{js}:/items/1/ifMatch: column ifMatch: bad ifMatch"
        )),
        "{}",
        stderr(&o)
    );
    // `remove` has no place in replace mode.
    let rm = app.write(
        "rm.ndjson",
        r#"{"agentId": "bo@example.com", "remove": ["Spanish"]}
"#,
    );
    let o = app.run(&["apply", &rm, "--mode", "replace"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "{rm}:1: column remove: remove is not allowed in replace mode"
        )),
        "{}",
        stderr(&o)
    );
    assert_eq!(app.assignments().await, before);
    // In merge mode it is sent; `*` matches any version.
    let rm = app.write(
        "rm2.ndjson",
        r#"{"agentId": "bo@example.com", "ifMatch": "*", "remove": ["Spanish"]}
"#,
    );
    let o = app.run(&["apply", &rm, "--json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json_of(&o)["removed"], 1);
    assert!(!app
        .assignments()
        .await
        .iter()
        .any(|a| a.0 == "bo@example.com"));
}

#[tokio::test]
async fn replace_mode_needs_each_agents_rows_together() {
    let app = spawn_app().await;
    let file = app.write(
        "scattered.csv",
        "agent,skill,proficiency\n\
         ana@example.com,Billing,35\n\
         bo@example.com,Sales,45\n\
         ana@example.com,Sales,55\n\
         cy@example.com,Spanish,65\n",
    );
    // Chunks of one agent: ana's second run would otherwise replace away her first. By
    // default nothing is written; with --no-atomic the other agents are.
    let o = app
        .run(&["apply", &file, "--mode", "replace", "--chunk", "1"])
        .await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(app.assignments().await.is_empty());
    let o = app
        .run(&[
            "apply",
            &file,
            "--mode",
            "replace",
            "--chunk",
            "1",
            "--no-atomic",
        ])
        .await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    for line in [2, 4] {
        assert!(
            err.contains(&format!(
                "{file}:{line}: column agent: in replace mode all rows of an agent must be next to each other"
            )),
            "{err}"
        );
    }
    assert!(err.contains("its first on line 2"), "{err}");
    assert!(
        stdout(&o).contains("added 2, updated 0, removed 0, unchanged 0, failed 2"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        app.assignments().await,
        vec![
            ("bo@example.com".into(), "Sales".into(), 45),
            ("cy@example.com".into(), "Spanish".into(), 65),
        ]
    );
    // Merge mode takes the same file, in any chunking.
    let o = app.run(&["apply", &file, "--chunk", "1", "--json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json_of(&o)["added"], 2);
    assert_eq!(app.assignments().await.len(), 4);

    // Replace mode never splits an agent over two requests: an agent with more rows than a
    // request holds is refused, at the row that does not fit.
    let grouped = app.write(
        "grouped.csv",
        "agent,skill,proficiency
         ana@example.com,Spanish,31
         ana@example.com,Sales,32
         bo@example.com,Spanish,33
",
    );
    let o = app
        .run(&[
            "apply",
            &grouped,
            "--mode",
            "replace",
            "--chunk-rows",
            "1",
            "--no-atomic",
        ])
        .await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "{grouped}:3: column agent: more than 1 rows for one agent"
        )),
        "{}",
        stderr(&o)
    );
    // Line 3 has the mistake; line 2, ana's other row, is not sent without it.
    assert!(
        stdout(&o).ends_with("failed 1, skipped 1\n"),
        "{}",
        stdout(&o)
    );
    let now = app.assignments().await;
    assert!(
        now.contains(&("ana@example.com".into(), "Billing".into(), 35)),
        "{now:?}"
    );
    assert!(
        now.contains(&("bo@example.com".into(), "Spanish".into(), 33)),
        "{now:?}"
    );
    // Merge mode splits it.
    let o = app
        .run(&["apply", &grouped, "--chunk-rows", "1", "--json"])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(
        (v["chunks"].clone(), v["failed"].clone()),
        (3.into(), 0.into()),
        "{v}"
    );
}

#[tokio::test]
async fn export_leaves_out_inactive_agents_and_skills_so_it_applies_back() {
    let app = spawn_app().await;
    let good = app.write("good.csv", GOOD);
    let o = app.run(&["apply", &good]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = app.run(&["agents", "deactivate", "cy@example.com"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = app.run(&["skills", "deactivate", "Sales"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let o = app.run(&["export"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let csv = stdout(&o);
    assert_eq!(
        csv,
        "agent,skill,proficiency,effectiveDate,expirationDate\n\
         ana@example.com,Billing,80,,\n\
         bo@example.com,Spanish,30,,\n"
    );
    let exported = app.write("export.csv", &csv);
    let audit_before = app.audit().await.len();
    let o = app.run(&["apply", &exported, "--json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(
        (v["unchanged"].clone(), v["failed"].clone()),
        (2.into(), 0.into()),
        "{v}"
    );
    assert_eq!(app.audit().await.len(), audit_before);

    // Opt in: every assignment, and apply then refuses the inactive ones.
    let o = app.run(&["export", "--include-inactive"]).await;
    let csv = stdout(&o);
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(csv.contains("cy@example.com,Billing,50"), "{csv}");
    assert!(csv.contains("ana@example.com,Sales,75"), "{csv}");
    let all = app.write("all.csv", &csv);
    let o = app.run(&["apply", &all]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

/// A file with a mistake on any row writes nothing by default, though its first chunks are
/// clean and a mistake is one only the server's dry run can find; `--no-atomic` writes the
/// rows without mistakes. On both backends, since the dry run is the store's.
async fn a_file_with_a_mistake_anywhere_writes_nothing(postgres: bool) {
    let app = spawn_app_on(postgres).await;
    let o = app.run(&["skills", "create", "--name", "Legacy"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = app.run(&["skills", "deactivate", "Legacy"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    app.client
        .create_agent(&NewAgent::new("dee@example.com", "Dee"))
        .await
        .unwrap();
    // One agent per chunk: ana's is clean. bo's inactive skill (line 4) is known only to the
    // server, and is answered after bo's unknown level (line 5) is found here.
    let file = app.write(
        "mixed.csv",
        "agent,skill,proficiency\n\
         ana@example.com,Billing,60\n\
         ana@example.com,Sales,70\n\
         bo@example.com,Legacy,30\n\
         bo@example.com,Spanish,Guru\n\
         cy@example.com,Karate,1\n\
         cy@example.com,Spanish,40\n\
         dee@example.com,Billing,500\n",
    );
    let wants = [
        format!("{file}:4: column skill: skill `Legacy` ("),
        format!("{file}:5: column proficiency: unknown level \"Guru\""),
        format!("{file}:6: column skill: unknown skill name \"Karate\""),
        format!("{file}:8: column proficiency: proficiency 500 is outside"),
    ];
    let o = app.run(&["apply", &file, "--chunk", "1"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_mistakes(&o, &wants);
    assert!(stderr(&o).contains("(inactive_skill)"), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "nothing written: 4 of 7 rows have mistakes; correct them and apply again, or write the rows without mistakes with --no-atomic\n\
         added 0, updated 0, removed 0, unchanged 0, failed 4, skipped 3\n"
    );
    assert!(app.audit().await.is_empty(), "{:?}", app.audit().await);
    assert!(app.assignments().await.is_empty());

    let o = app.run(&["apply", &file, "--chunk", "1", "--json"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_mistakes(&o, &wants);
    let v = json_of(&o);
    assert_eq!(lines_of(&v, "errors"), [4, 5, 6, 8], "{v}");
    assert_eq!(v["errors"][0]["column"], "skill", "{v}");
    assert_summary(
        &v,
        &[
            ("dryRun", json!(false)),
            ("atomic", json!(true)),
            ("refused", json!(true)),
            ("rows", json!(7)),
            ("added", json!(0)),
            ("updated", json!(0)),
            ("removed", json!(0)),
            ("unchanged", json!(0)),
            ("failed", json!(4)),
            ("skipped", json!(3)),
            // ana, bo (line 4), cy (line 7) and dee checked; none written.
            ("chunks", json!(4)),
            ("requests", json!(4)),
            ("retries", json!(0)),
        ],
    );
    assert!(v.get("errorsNotListed").is_none(), "{v}");
    assert!(app.audit().await.is_empty());

    // plan shows what the rows without mistakes would change, and that apply would not.
    let o = app.run(&["plan", &file]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_mistakes(&o, &wants);
    let out = stdout(&o);
    assert!(
        out.ends_with(
            "apply would write nothing: 4 of 7 rows have mistakes (with --no-atomic it writes the rows without mistakes)\n\
             dry run: added 3, updated 0, removed 0, unchanged 0, failed 4\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "ana@example.com\n  + Billing 60 (Intermediate)\n  + Sales 70 (Intermediate)\n"
        ),
        "{out}"
    );
    assert!(app.audit().await.is_empty());

    // --no-atomic writes the rows without mistakes, and only them.
    let o = app
        .run(&["apply", &file, "--chunk", "1", "--no-atomic"])
        .await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_mistakes(&o, &wants);
    assert_eq!(
        stdout(&o),
        "added 3, updated 0, removed 0, unchanged 0, failed 4\n"
    );
    let written = vec![
        ("ana@example.com".to_string(), "Billing".to_string()),
        ("ana@example.com".into(), "Sales".into()),
        ("cy@example.com".into(), "Spanish".into()),
    ];
    assert_eq!(app.audited().await, written);
    let before = app.assignments().await;
    assert_eq!(before.len(), 3, "{before:?}");

    // A JSON document: ana's item (the first chunk) is clean, bo's precondition is stale,
    // which only the server knows. Nothing is written.
    let js = app.write(
        "stale.json",
        r#"{"items": [
             {"agentId": "ana@example.com", "skills": [{"skillId": "Spanish", "proficiency": 55}]},
             {"agentId": "bo@example.com", "ifMatch": "\"7\"", "skills": [{"skillId": "Billing"}]}]}"#,
    );
    let o = app.run(&["apply", &js, "--chunk", "1", "--json"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_mistakes(
        &o,
        &[format!(
            "{js}:/items/1/ifMatch: column ifMatch: the agent's skills are at version 0 (precondition_failed)"
        )],
    );
    let v = json_of(&o);
    assert_eq!(
        (v["rows"].clone(), v["failed"].clone(), v["skipped"].clone()),
        (3.into(), 1.into(), 2.into()),
        "{v}"
    );
    assert_eq!(v["errors"][0]["pointer"], "/items/1/ifMatch", "{v}");
    assert_eq!(app.audited().await, written);
    assert_eq!(app.assignments().await, before);
    // With --no-atomic ana's item is written and bo's is not.
    let o = app
        .run(&["apply", &js, "--chunk", "1", "--no-atomic", "--json"])
        .await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(
        (
            v["added"].clone(),
            v["failed"].clone(),
            v["skipped"].clone()
        ),
        (1.into(), 1.into(), 1.into()),
        "{v}"
    );
    assert_eq!(app.audit().await.len(), 4);
    assert!(!app
        .assignments()
        .await
        .iter()
        .any(|a| a.0 == "bo@example.com"));
}

#[tokio::test]
async fn a_file_with_a_mistake_anywhere_writes_nothing_on_sqlite() {
    a_file_with_a_mistake_anywhere_writes_nothing(false).await;
}

#[tokio::test]
async fn a_file_with_a_mistake_anywhere_writes_nothing_on_postgres() {
    a_file_with_a_mistake_anywhere_writes_nothing(true).await;
}

#[tokio::test]
async fn a_mistake_in_the_last_of_many_chunks_writes_nothing() {
    let app = spawn_app().await;
    let rows = |last: u32| {
        format!(
            "agent,skill,proficiency\n\
             ana@example.com,Billing,31\n\
             ana@example.com,Sales,32\n\
             ana@example.com,Spanish,33\n\
             bo@example.com,Billing,34\n\
             bo@example.com,Sales,35\n\
             cy@example.com,Billing,36\n\
             cy@example.com,Spanish,{last}\n"
        )
    };
    let bad = app.write("bad.csv", &rows(500));
    // Two rows per request: ana's three rows span two chunks, then bo's, then cy's.
    let o = app
        .run(&["apply", &bad, "--chunk-rows", "2", "--json"])
        .await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_mistakes(
        &o,
        &[format!(
            "{bad}:8: column proficiency: proficiency 500 is outside"
        )],
    );
    let v = json_of(&o);
    assert_summary(
        &v,
        &[
            ("refused", json!(true)),
            ("chunks", json!(4)),
            ("requests", json!(4)),
            ("added", json!(0)),
            ("failed", json!(1)),
            ("skipped", json!(6)),
        ],
    );
    assert!(app.audit().await.is_empty());
    assert!(app.assignments().await.is_empty());

    // Corrected, the file is checked and then written, chunk by chunk.
    let good = app.write("good.csv", &rows(50));
    let o = app
        .run(&["apply", &good, "--chunk-rows", "2", "--json"])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_of(&o);
    assert_summary(
        &v,
        &[
            ("refused", json!(false)),
            ("chunks", json!(4)),
            ("requests", json!(8)),
            ("added", json!(7)),
            ("failed", json!(0)),
            ("skipped", json!(0)),
        ],
    );
    assert_eq!(app.audit().await.len(), 7);
}

/// Very many rows with mistakes between two valid rows: the mistakes still come out in line
/// order, each once, and the `--json` summary lists the first 10,000 and counts the rest.
#[tokio::test]
async fn many_mistakes_come_out_in_line_order() {
    let app = spawn_app().await;
    let mut csv = String::from("agent,skill,proficiency\nana@example.com,Billing,60\n");
    for i in 0..12_000 {
        csv.push_str(&format!("zed{i}@example.com,Billing,1\n"));
    }
    csv.push_str("bo@example.com,Sales,500\nana@example.com,Sales,70\n");
    let file = app.write("many.csv", &csv);
    let mut wants: Vec<String> = (0..12_000)
        .map(|i| {
            format!(
                "{file}:{}: column agent: unknown agent email \"zed{i}@example.com\"",
                i + 3
            )
        })
        .collect();
    wants.push(format!(
        "{file}:12003: column proficiency: proficiency 500 is outside"
    ));
    let o = app.run(&["apply", &file, "--json"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_mistakes(&o, &wants);
    let v = json_of(&o);
    assert_eq!(
        (
            v["rows"].clone(),
            v["failed"].clone(),
            v["skipped"].clone(),
            v["errorsNotListed"].clone()
        ),
        (12_003.into(), 12_001.into(), 2.into(), 2_001.into()),
        "{}",
        &stdout(&o)[..500]
    );
    assert_eq!(v["errors"].as_array().unwrap().len(), 10_000);
    assert!(app.audit().await.is_empty());
    // ana's first row did not keep 12,000 mistakes waiting: its chunk was sent early.
    let err = stderr(&o);
    let first = err
        .lines()
        .find(|l| l.starts_with("progress: checking ") && l.contains(" 1 chunks sent"))
        .unwrap_or_else(|| panic!("no progress line in {}", &err[err.len() - 500..]));
    let read: u64 = first["progress: checking ".len()..]
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(read < 11_000, "{first}");
    let o = app.run(&["apply", &file, "--no-atomic"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_mistakes(&o, &wants);
    assert_eq!(
        stdout(&o),
        "added 2, updated 0, removed 0, unchanged 0, failed 12001\n"
    );
    assert_eq!(
        app.audited().await,
        [
            ("ana@example.com".to_string(), "Billing".to_string()),
            ("ana@example.com".into(), "Sales".into())
        ]
    );
}

/// The check asks about each chunk as things stand, so what only the writing of an earlier
/// chunk brings about is refused at write time: that chunk writes nothing and is reported, the
/// others are written. An `ifMatch` version behind an agent's earlier rows, which could only
/// fail that way, is refused before anything is written.
#[tokio::test]
async fn a_chunk_refused_at_write_time_is_reported_and_the_others_are_written() {
    let app = spawn_app().await;
    app.change_settings(|s| s.limits.max_skills_per_agent = 2)
        .await;
    // ana's rows are scattered: her second run (lines 4 and 5) is checked against the skills
    // she has now (none), but once her first run is written it would give her three.
    let file = app.write(
        "scattered.csv",
        "agent,skill,proficiency\n\
         ana@example.com,Billing,60\n\
         bo@example.com,Sales,70\n\
         ana@example.com,Sales,80\n\
         ana@example.com,Spanish,90\n",
    );
    let o = app.run(&["plan", &file]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = app.run(&["apply", &file, "--json"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_mistakes(
        &o,
        &[format!(
            "{file}:4: column agent: the agent would hold 3 skills; at most 2 are allowed (too_many_items)"
        )],
    );
    assert_summary(
        &json_of(&o),
        &[
            ("refused", json!(false)),
            ("chunks", json!(2)),
            ("requests", json!(4)),
            ("added", json!(2)),
            ("failed", json!(1)),
            ("skipped", json!(1)),
        ],
    );
    let written = vec![
        ("ana@example.com".to_string(), "Billing".to_string()),
        ("bo@example.com".into(), "Sales".into()),
    ];
    assert_eq!(app.audited().await, written);

    // cy's third item holds a precondition on the version her first item's write changes.
    let items = |etag: &str| {
        format!(
            r#"[{{"agentId": "cy@example.com", "skills": [{{"skillId": "Billing"}}]}},
                {{"agentId": "bo@example.com", "skills": [{{"skillId": "Spanish"}}]}},
                {{"agentId": "cy@example.com", "ifMatch": {etag:?}, "skills": [{{"skillId": "Sales"}}]}}]"#
        )
    };
    let js = app.write("versioned.json", &items("\"0\""));
    let o = app.run(&["apply", &js]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_mistakes(
        &o,
        &[format!(
            "{js}:/2/ifMatch: column ifMatch: an ifMatch version for an agent with rows earlier in the file (from /0/skills/0)"
        )],
    );
    assert_eq!(app.audited().await, written);
    // Any version will do: nothing to foresee.
    let js = app.write("any.json", &items("*"));
    let o = app.run(&["apply", &js, "--json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json_of(&o)["added"], 3);
    assert_eq!(app.audit().await.len(), 5);
}

/// The organization's `warnings` setting, through the API.
async fn set_warnings(app: &App, policy: skillgrid_api::WarningPolicy) {
    let patch = skillgrid_client::SettingsPatch {
        warnings: Some(policy),
        ..Default::default()
    };
    let s = app.client.patch_settings(&patch).await.unwrap();
    assert_eq!(s.warnings, policy);
}

/// 5 and 3 on a 0–100 scale look like another product's 1–5 scale: the server writes them and
/// warns, and `plan` and `apply` tell each warning at its row, once, without failing the run.
/// An organization that rejects such writes gets them as mistakes at the same rows, and then
/// nothing of the file is written.
#[tokio::test]
async fn warnings_are_told_at_their_rows_and_rejected_ones_are_mistakes() {
    let app = spawn_app().await;
    let rows = |agent: &str| {
        format!(
            "agent,skill,proficiency\n\
             bo@example.com,Billing,80\n\
             {agent},Billing,5\n\
             {agent},Sales,3\n"
        )
    };
    let file = app.write("scale.csv", &rows("ana@example.com"));
    let other_scale = "on this organization's 0–100 scale is below Novice (25); every proficiency of this set lies within 0–5, as on another product's 1–5 scale (other_scale); expected an integer from 0 to 100, or one of Novice, Intermediate, Advanced, Expert; hint: if you meant";
    let warned = |file: &str| {
        [
            format!("{file}:3: warning: column proficiency: 5 {other_scale} 5 of 5, send `Expert` or 100"),
            format!("{file}:4: warning: column proficiency: 3 {other_scale} 3 of 5, send 60 (level Intermediate)"),
        ]
    };

    // plan: the diff, and the warnings at their rows; nothing written.
    let o = app.run(&["plan", &file]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_mistakes(&o, &warned(&file));
    let out = stdout(&o);
    assert!(
        out.contains("ana@example.com\n  + Billing 5\n  + Sales 3\n"),
        "{out}"
    );
    assert!(
        out.ends_with(
            "dry run: added 3, updated 0, removed 0, unchanged 0, failed 0, warnings 2\n"
        ),
        "{out}"
    );
    let o = app.run(&["plan", &file, "--json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(lines_of(&v, "warnings"), [3, 4], "{v}");
    assert_eq!(v["warnings"][0]["column"], "proficiency", "{v}");
    assert!(
        v["warnings"][1]["message"]
            .as_str()
            .unwrap()
            .ends_with("send 60 (level Intermediate)"),
        "{v}"
    );
    assert_eq!(v["errors"], json!([]), "{v}");
    assert!(app.assignments().await.is_empty());

    // apply: checked, then written; each warning told once, and the run succeeds.
    let o = app.run(&["apply", &file]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_mistakes(&o, &warned(&file));
    assert_eq!(
        stdout(&o),
        "added 3, updated 0, removed 0, unchanged 0, failed 0, warnings 2\n"
    );
    assert_eq!(
        app.assignments().await,
        vec![
            ("ana@example.com".into(), "Billing".into(), 5),
            ("ana@example.com".into(), "Sales".into(), 3),
            ("bo@example.com".into(), "Billing".into(), 80),
        ]
    );

    // Rejected: the same rows are mistakes, and the file writes nothing.
    set_warnings(&app, skillgrid_api::WarningPolicy::Reject).await;
    let before = app.assignments().await;
    let cy = app.write("cy.csv", &rows("cy@example.com").replace("80", "90"));
    let o = app.run(&["apply", &cy, "--json"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let refused =
        "this organization refuses such writes (its `warnings` setting is `reject`) (other_scale)";
    let below = "on this organization's 0–100 scale is below Novice (25)";
    assert_mistakes(
        &o,
        &[
            format!("{cy}:3: column proficiency: 5 {below}"),
            format!("{cy}:4: column proficiency: 3 {below}"),
        ],
    );
    assert_eq!(stderr(&o).matches(refused).count(), 2, "{}", stderr(&o));
    let v = json_of(&o);
    assert_summary(
        &v,
        &[
            ("refused", json!(true)),
            ("added", json!(0)),
            ("updated", json!(0)),
            ("failed", json!(2)),
            ("skipped", json!(1)),
            ("warnings", json!([])),
        ],
    );
    assert_eq!(lines_of(&v, "errors"), [3, 4], "{v}");
    assert_eq!(app.assignments().await, before);
    // With --no-atomic bo's row is written, cy's are not.
    let o = app.run(&["apply", &cy, "--no-atomic"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stderr(&o).matches(refused).count(), 2, "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "added 0, updated 1, removed 0, unchanged 0, failed 2\n"
    );
    assert!(!app
        .assignments()
        .await
        .iter()
        .any(|a| a.0 == "cy@example.com"));

    // Warned again: without the check, the write's answers tell them, once.
    set_warnings(&app, skillgrid_api::WarningPolicy::Warn).await;
    let o = app.run(&["apply", &cy, "--no-atomic"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_mistakes(&o, &warned(&cy));
    assert_eq!(
        stdout(&o),
        "added 2, updated 0, removed 0, unchanged 1, failed 0, warnings 2\n"
    );
}

/// The organization's agents as (email, name, active), sorted.
async fn agent_rows(app: &App) -> Vec<(String, String, bool)> {
    let mut out: Vec<_> = app
        .client
        .all_agents(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.email, a.name, a.active))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn agents_import_is_all_or_nothing_with_every_mistake_at_its_line_on_both_backends() {
    for postgres in [false, true] {
        let app = spawn_app_on(postgres).await;
        let before = agent_rows(&app).await;
        let long = "x".repeat(201);
        let file = app.write(
            "agents.csv",
            &format!(
                "email,name,active\n\
                 ana@example.com,Ana Lima,true\n\
                 not-an-email,Nobody,\n\
                 ANA@example.com,Ana Twice,\n\
                 \n\
                 dee@example.com,Dee,maybe\n\
                 eve@example.com,{long},no\n\
                 fay@example.com,Fay,false\n"
            ),
        );
        // Three agents a request: the server's mistakes are told at the lines of later chunks.
        let out = app.run(&["agents", "import", &file, "--chunk", "2"]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        for at in [
            ":3: column email: ",
            ":4: column email: ",
            ":6: column active: ",
            ":7: column name: ",
        ] {
            assert!(stderr.contains(&format!("{file}{at}")), "{at}: {stderr}");
        }
        assert!(stderr.contains("line 2"), "{stderr}");
        assert!(stderr.contains("nothing was written"), "{stderr}");
        assert_eq!(agent_rows(&app).await, before, "nothing written");

        let out = app.run(&["agents", "import", &file, "--json"]).await;
        assert_eq!(out.status.code(), Some(1));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let lines: Vec<u64> = v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["line"].as_u64().unwrap())
            .collect();
        assert_eq!(lines, [3, 4, 6, 7], "{v}");
        assert_eq!(v["written"], false);

        // --no-atomic writes the rows without mistakes and tells the others.
        let out = app
            .run(&["agents", "import", &file, "--no-atomic", "--chunk", "2"])
            .await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("{file}:7: column name: ")),
            "{stderr}"
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("6 agents: 1 created, 1 updated, 0 unchanged, 4 failed"),
            "{stdout}"
        );
        let after = agent_rows(&app).await;
        assert!(after.contains(&("ana@example.com".into(), "Ana Lima".into(), true)));
        assert!(after.contains(&("fay@example.com".into(), "Fay".into(), false)));
        assert_eq!(after.len(), before.len() + 1);
    }
}

#[tokio::test]
async fn agents_import_dry_run_then_write_then_nothing_left_to_change() {
    let app = spawn_app().await;
    let before = agent_rows(&app).await;
    let file = app.write(
        "agents.csv",
        "Name,Email,externalId\n\
         Bo Berg,BO@example.com,E-2\n\
         Gus,gus@example.com,\n\
         Hal,hal@example.com,E-8\n",
    );
    let out = app.run(&["agents", "import", &file, "--dry-run"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("3 agents: 2 would be created, 1 would be updated, 0 unchanged, 0 failed"),
        "{stdout}"
    );
    assert_eq!(agent_rows(&app).await, before);

    let out = app.run(&["agents", "import", &file, "--chunk", "1"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("3 agents: 2 created, 1 updated, 0 unchanged"),
        "{stdout}"
    );
    let bo = app
        .client
        .all_agents(&skillgrid_client::AgentQuery {
            email: Some("bo@example.com".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (
            bo[0].email.as_str(),
            bo[0].name.as_str(),
            bo[0].external_id.as_deref()
        ),
        ("BO@example.com", "Bo Berg", Some("E-2"))
    );
    assert_eq!(agent_rows(&app).await.len(), before.len() + 2);

    let out = app.run(&["agents", "import", &file, "--json"]).await;
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["summary"]["unchanged"], 3, "{v}");
    assert_eq!(v["written"], true);

    // A header it does not know is a usage error at line 1.
    let bad = app.write("bad.csv", "email,fullName\na@example.com,A\n");
    let out = app.run(&["agents", "import", &bad]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{bad}:1: column fullName: unknown column")),
        "{stderr}"
    );
}
