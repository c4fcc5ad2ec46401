//! What the bench's integration tests share.

use std::path::PathBuf;

/// The server binary, target/<profile>/skillgrid, beside the bench binary cargo built for the
/// test.
pub fn server_binary() -> PathBuf {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_skillgrid-bench"));
    let server = bench.with_file_name("skillgrid");
    assert!(
        server.exists(),
        "{} is missing: `cargo test --workspace` builds it (or `cargo build -p skillgrid`)",
        server.display()
    );
    server
}
