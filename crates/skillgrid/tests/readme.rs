//! The README, followed as a newcomer follows it: its quick start's server is started in an
//! empty directory, every `sh` block runs in order in one shell session (variables carry from
//! block to block, as in a terminal), and what they print is compared with the blocks the
//! README shows as their output. A README whose commands stop working, or whose claimed
//! outputs drift from the real ones, fails here.
//!
//! An HTML comment on the line before a block says what the block is (`ARCHITECTURE.md`
//! lists the markers). Only what cannot be literal in a test is substituted: `cargo run
//! --release --` becomes the binary under test (a separate test holds that `cargo run` from the
//! root picks that binary), and the server listens on a free port instead of 8080.

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_skillgrid");
/// How long one block or command may take (a debug build on a shared, busy machine).
const BLOCK_TIMEOUT: Duration = Duration::from_secs(180);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).expect("read README.md")
}

/// What a marker says a block is.
#[derive(Debug, Clone, PartialEq)]
enum Role {
    Run { name: Option<String> },
    Server,
    TestCommand,
    Skip,
    Output { of: Option<String> },
    Session,
    Example,
}

#[derive(Debug)]
struct Block {
    /// 1-based line of the opening fence, for messages.
    line: usize,
    lang: String,
    text: String,
    role: Role,
}

const MARK: &str = "<!-- readme-test:";

/// The README's fenced blocks with their roles. A marker that is not understood, a block that
/// is not `sh` without a marker, or a skip without a reason is an error: the README must say
/// what each of its blocks is.
fn blocks(md: &str) -> Vec<Block> {
    let lines: Vec<&str> = md.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(lang) = lines[i].strip_prefix("```") else {
            i += 1;
            continue;
        };
        let start = i;
        let mut text = String::new();
        i += 1;
        while i < lines.len() && lines[i].trim_end() != "```" {
            text.push_str(lines[i]);
            text.push('\n');
            i += 1;
        }
        assert!(i < lines.len(), "README.md:{}: unclosed block", start + 1);
        i += 1;
        let marker = start
            .checked_sub(1)
            .map(|p| lines[p].trim())
            .filter(|l| l.starts_with(MARK));
        let lang = lang.trim().to_string();
        let role = match marker {
            None if lang == "sh" => Role::Run { name: None },
            None => panic!(
                "README.md:{}: a `{lang}` block needs a marker saying what it is (output, \
                 session or example; see ARCHITECTURE.md)",
                start + 1
            ),
            Some(m) => parse_marker(m, start + 1),
        };
        let runs = matches!(
            role,
            Role::Run { .. } | Role::Server | Role::TestCommand | Role::Skip
        );
        assert_eq!(
            runs,
            lang == "sh",
            "README.md:{}: marker {role:?} on a `{lang}` block",
            start + 1
        );
        out.push(Block {
            line: start + 1,
            lang,
            text,
            role,
        });
    }
    out
}

fn parse_marker(m: &str, line: usize) -> Role {
    let body = m
        .strip_prefix(MARK)
        .and_then(|r| r.strip_suffix("-->"))
        .unwrap_or_else(|| panic!("README.md:{line}: malformed marker {m}"))
        .trim();
    match body {
        "server" => Role::Server,
        "test-command" => Role::TestCommand,
        "output" => Role::Output { of: None },
        "session" => Role::Session,
        "example" => Role::Example,
        _ => {
            if let Some(reason) = body.strip_prefix("skip:") {
                assert!(
                    !reason.trim().is_empty(),
                    "README.md:{line}: say why a block is skipped"
                );
                Role::Skip
            } else if let Some(name) = body.strip_prefix("run as ") {
                Role::Run {
                    name: Some(name.trim().to_string()),
                }
            } else if let Some(name) = body.strip_prefix("output of ") {
                Role::Output {
                    of: Some(name.trim().to_string()),
                }
            } else {
                panic!("README.md:{line}: unknown marker {m}")
            }
        }
    }
}

/// `…` in an expected value stands for anything.
const ANY: &str = "…";

fn json_matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::String(s), _) if s == ANY => true,
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len()
                && e.iter()
                    .all(|(k, v)| a.get(k).is_some_and(|av| json_matches(v, av)))
        }
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| json_matches(x, y))
        }
        _ => expected == actual,
    }
}

/// One line of expected text against one actual line; `…` matches any run of characters.
fn line_matches(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split(ANY).collect();
    if parts.len() == 1 {
        return expected == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !actual.starts_with(first) || !actual[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &actual[first.len()..actual.len() - last.len()];
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(at) => rest = &rest[at + p.len()..],
            None => return false,
        }
    }
    true
}

/// What a command printed, as a terminal would show it: a progress bar replaces the
/// `progress:` lines written when output is not a terminal.
fn shown(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| !l.starts_with("progress:"))
        .map(|l| l.trim_end().to_string())
        .collect()
}

fn assert_output(expected: &Block, actual: &str, what: &str) {
    if expected.lang == "json" {
        let want: Value = serde_json::from_str(&expected.text).unwrap_or_else(|e| {
            panic!(
                "README.md:{}: the expected JSON does not parse: {e}",
                expected.line
            )
        });
        let got: Value = serde_json::from_str(actual)
            .unwrap_or_else(|e| panic!("{what} printed no JSON document ({e}):\n{actual}"));
        assert!(
            json_matches(&want, &got),
            "{what} printed what README.md:{} does not show:\n{}\nexpected:\n{}",
            expected.line,
            serde_json::to_string_pretty(&got).unwrap(),
            expected.text
        );
    } else {
        assert_text(&shown(&expected.text), actual, what, expected.line);
    }
}

fn assert_text(want: &[String], actual: &str, what: &str, line: usize) {
    let got = shown(actual);
    let ok = want.len() == got.len() && want.iter().zip(&got).all(|(w, g)| line_matches(w, g));
    assert!(
        ok,
        "{what} printed what README.md:{line} does not show.\nprinted:\n{}\nexpected:\n{}",
        got.join("\n"),
        want.join("\n")
    );
}

/// One bash process that runs the README's commands in order, as one terminal would.
struct Shell {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    dir: PathBuf,
    n: usize,
}

impl Shell {
    fn start(dir: &Path, home: &Path) -> Shell {
        let mut child = Command::new("bash")
            .args(["--noprofile", "--norc"])
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start bash");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut sh = Shell {
            child,
            stdin,
            lines,
            dir: dir.join(".readme-test"),
            n: 0,
        };
        std::fs::create_dir_all(&sh.dir).unwrap();
        // A failing command stops the session, as it would stop a reader following along.
        sh.send("set -eo pipefail; __status=0");
        sh
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to bash");
        self.stdin.flush().unwrap();
    }

    /// Runs `script` in the session; answers its stdout and stderr (merged into
    /// stdout when `merge`). With `must_succeed`, a failure ends the session (`set -e`).
    fn run(
        &mut self,
        script: &str,
        merge: bool,
        must_succeed: bool,
        what: &str,
    ) -> (String, String) {
        self.n += 1;
        let n = self.n;
        let file = self.dir.join(format!("{n}.sh"));
        std::fs::write(&file, script).unwrap();
        let (out, err) = (
            self.dir.join(format!("{n}.out")),
            self.dir.join(format!("{n}.err")),
        );
        let redirect = if merge {
            format!(">'{}' 2>&1", out.display())
        } else {
            format!(">'{}' 2>'{}'", out.display(), err.display())
        };
        let source = format!("source '{}' </dev/null {redirect}", file.display());
        if must_succeed {
            self.send(&format!("{source}; __status=0; echo __done {n}"));
        } else {
            // `$?` is the previous command's status when this one starts, as in a terminal
            // (so that `$ echo $?` shows it), though the session's own commands ran between.
            self.send(&format!(
                "set +e; (exit $__status); {source}; __status=$?; echo __done {n}; set -e"
            ));
        }
        let deadline = Instant::now() + BLOCK_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    if l == format!("__done {n}") {
                        break;
                    }
                }
                Err(e) => {
                    let _ = self.child.kill();
                    let why = match e {
                        RecvTimeoutError::Disconnected => {
                            "failed: a command in it exited non-zero".to_string()
                        }
                        RecvTimeoutError::Timeout => {
                            format!("did not finish within {BLOCK_TIMEOUT:?}")
                        }
                    };
                    panic!(
                        "{what} {why}.\nstdout:\n{}\nstderr:\n{}",
                        std::fs::read_to_string(&out).unwrap_or_default(),
                        std::fs::read_to_string(&err).unwrap_or_default()
                    );
                }
            }
        }
        (
            std::fs::read_to_string(&out).unwrap_or_default(),
            std::fs::read_to_string(&err).unwrap_or_default(),
        )
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The quick start's server, in the background, in its own process group.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    fn start(command: &str, dir: &Path, home: &Path) -> (Server, String) {
        use std::os::unix::process::CommandExt;
        let log = dir.join(".readme-test-server.log");
        let child = Command::new("bash")
            .args(["--noprofile", "--norc", "-c", command])
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home)
            // The one change to how it runs: a free port instead of 8080.
            .env("SKILLGRID_LISTEN", "127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join(".readme-test-server.out")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .process_group(0)
            .spawn()
            .expect("start the server");
        let mut server = Server { child, log };
        let deadline = Instant::now() + BLOCK_TIMEOUT;
        loop {
            let text = std::fs::read_to_string(&server.log).unwrap_or_default();
            if let Some(at) = text.find("listening on http://") {
                let addr: String = text[at + "listening on http://".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                    .collect();
                if std::net::TcpStream::connect(&addr).is_ok() {
                    return (server, addr);
                }
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the quick start's server exited ({status}):\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "the quick start's server did not start:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

#[test]
fn the_readme_runs_as_written_and_prints_what_it_shows() {
    let md = readme();
    let blocks = blocks(&md);
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut server: Option<(Server, String)> = None;
    let mut shell: Option<Shell> = None;
    let mut named: Vec<(String, String)> = Vec::new();
    let mut last_stdout: Option<(usize, String)> = None;
    let (mut ran, mut compared) = (0, 0);
    let bin_dir = Path::new(BIN).parent().unwrap().display().to_string();
    let subst = |text: &str, addr: Option<&str>| {
        let t = text.replace("cargo run --release --", BIN);
        let t = t.replace("$PWD/target/release", &bin_dir);
        match addr {
            Some(a) => t.replace("127.0.0.1:8080", a),
            None => t,
        }
    };

    for b in &blocks {
        let at = format!("the block at README.md:{}", b.line);
        match &b.role {
            Role::Skip | Role::TestCommand | Role::Example => {}
            Role::Server => {
                assert!(server.is_none(), "{at}: a second server");
                server = Some(Server::start(
                    &subst(&b.text, None),
                    dir.path(),
                    home.path(),
                ));
            }
            Role::Run { name } => {
                let addr = server
                    .as_ref()
                    .map(|(_, a)| a.as_str())
                    .unwrap_or_else(|| panic!("{at} runs before the quick start's server"));
                let sh = shell.get_or_insert_with(|| Shell::start(dir.path(), home.path()));
                let (out, err) = sh.run(&subst(&b.text, Some(addr)), false, true, &at);
                if !err.trim().is_empty() {
                    eprintln!("{at} wrote to stderr:\n{err}");
                }
                ran += 1;
                if let Some(name) = name {
                    named.push((name.clone(), out.clone()));
                }
                last_stdout = Some((b.line, out));
            }
            Role::Output { of: None } => {
                let (line, out) = last_stdout.take().unwrap_or_else(|| {
                    panic!("{at}: no `sh` block just above to be the output of")
                });
                assert_output(b, &out, &format!("the block at README.md:{line}"));
                compared += 1;
            }
            Role::Output { of: Some(_) } => {} // compared once the named block has run
            Role::Session => {
                let addr = server.as_ref().map(|(_, a)| a.clone()).expect("a server");
                let sh = shell.get_or_insert_with(|| Shell::start(dir.path(), home.path()));
                let mut cmds: Vec<(String, Vec<String>)> = Vec::new();
                for l in b.text.lines() {
                    if let Some(cmd) = l.strip_prefix("$ ") {
                        cmds.push((cmd.to_string(), Vec::new()));
                    } else {
                        let (_, out) = cmds
                            .last_mut()
                            .unwrap_or_else(|| panic!("{at}: a session starts with `$ `"));
                        out.push(l.trim_end().to_string());
                    }
                }
                for (cmd, want) in cmds {
                    let what = format!("`$ {cmd}` (README.md:{})", b.line);
                    let (out, _) = sh.run(&subst(&cmd, Some(&addr)), true, false, &what);
                    assert_text(&want, &out, &what, b.line);
                    ran += 1;
                    compared += 1;
                }
                last_stdout = None;
            }
        }
        if !matches!(b.role, Role::Run { .. }) {
            last_stdout = None;
        }
    }
    for b in &blocks {
        if let Role::Output { of: Some(name) } = &b.role {
            let (_, out) = named
                .iter()
                .find(|(n, _)| n == name)
                .unwrap_or_else(|| panic!("README.md:{}: no block `run as {name}`", b.line));
            assert_output(b, out, &format!("the block `run as {name}`"));
            compared += 1;
        }
    }
    let (server, _) = server.expect("the README starts a server (a block marked `server`)");
    assert!(
        ran >= 10 && compared >= 5,
        "ran {ran} commands, compared {compared} outputs"
    );
    let log = server.log();
    assert!(
        !log.contains("\"level\":\"ERROR\""),
        "the server logged errors:\n{log}"
    );
}

/// `cargo run` from the root starts the service: the workspace's default members hold exactly
/// one binary, `skillgrid`.
#[test]
fn cargo_run_from_the_root_picks_the_skillgrid_binary() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let defaults: Vec<&str> = meta["workspace_default_members"]
        .as_array()
        .expect("workspace_default_members")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let bins: Vec<String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| defaults.contains(&p["id"].as_str().unwrap()))
        .flat_map(|p| p["targets"].as_array().unwrap().clone())
        .filter(|t| t["kind"].as_array().unwrap().iter().any(|k| k == "bin"))
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(bins, ["skillgrid"]);
}

/// CI runs exactly the README's test command.
#[test]
fn ci_runs_the_readmes_test_command() {
    let md = readme();
    let commands: Vec<String> = blocks(&md)
        .into_iter()
        .filter(|b| b.role == Role::TestCommand)
        .map(|b| b.text.trim().to_string())
        .collect();
    assert_eq!(commands.len(), 1, "one test command in the README");
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(
        ci.lines().any(|l| l.trim() == commands[0]),
        ".ci/run does not run `{}`",
        commands[0]
    );
    assert!(root().join(&commands[0]).is_file());
}

#[test]
fn expected_output_wildcards() {
    assert!(line_matches("a … b", "a xyz b"));
    assert!(line_matches("…", "anything"));
    assert!(!line_matches("a … b", "a xyz c"));
    assert!(!line_matches("exact", "exact!"));
    let want: Value = serde_json::json!({"id": "…", "n": [1, "…"]});
    assert!(json_matches(
        &want,
        &serde_json::json!({"id": 7, "n": [1, {"x": 2}]})
    ));
    assert!(!json_matches(
        &want,
        &serde_json::json!({"id": 7, "n": [2, 3]})
    ));
    assert!(!json_matches(
        &want,
        &serde_json::json!({"id": 7, "n": [1, 3], "more": 1})
    ));
}
