//! Reliability of what guards the API, on the real binary over loopback: who can read the
//! database files, revoking a client across instances, signing keys given by the operator and
//! their rotation, and the limit on failed attempts at `/oauth/token`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_skillgrid");

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// `skillgrid serve` on `db` started by a shell whose umask is 022, as most are.
fn serve_with_umask_022(db: &str) -> common::Server {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "umask 022 && exec \"$@\"", "sh", BIN])
        .args(["serve", "--listen", "127.0.0.1:0", "--database", db]);
    common::launch(cmd)
}

#[tokio::test]
async fn database_files_are_created_0600_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fresh.db");
    let db = format!("sqlite://{}", file.display());
    let srv = serve_with_umask_022(&db);
    // The server has migrated the file and holds it open in WAL mode: the -wal and -shm files
    // are there (a moment after it listens, at the latest).
    for suffix in ["", "-wal", "-shm"] {
        let f = dir.path().join(format!("fresh.db{suffix}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !f.exists() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(f.exists(), "{} was not made", f.display());
        assert_eq!(mode(&f), 0o600, "{} is {:o}", f.display(), mode(&f));
    }
    assert!(
        !srv.log.iter().any(|l| l.contains("other users may read")),
        "{}",
        srv.log.join("\n")
    );
    drop(srv);

    // A file the operator made readable by others keeps its mode, and the log says so.
    let shared = dir.path().join("shared.db");
    std::fs::write(&shared, b"").unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o640)).unwrap();
    let srv = serve_with_umask_022(&format!("sqlite://{}", shared.display()));
    assert_eq!(mode(&shared), 0o640);
    let warned = srv
        .log
        .iter()
        .any(|l| l.contains("other users may read the database file") && l.contains("0640"));
    assert!(warned, "no warning:\n{}", srv.log.join("\n"));
    // The files SQLite made beside it have its mode, as the warning says.
    assert_eq!(mode(&dir.path().join("shared.db-wal")), 0o640);
}
