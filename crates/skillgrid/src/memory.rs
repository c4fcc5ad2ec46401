//! The process's memory allocator: how many arenas glibc's `malloc` may keep.
//!
//! By default glibc gives the threads that allocate at the same moment arenas of their own, up
//! to eight per core, and memory freed in one arena serves only later allocations from that
//! arena. A server's threads (tokio's workers, the blocking pool that runs SQLite, the log
//! writer) each take a large bulk request's memory in turn, so the peak resident memory grows
//! with the number of arenas touched, not with what is alive at once: filling an organization
//! to 2,000,000 assignments through the bulk API peaked at 490–540 MB with the default and at
//! 240 MB with two arenas on a 2-core machine (docs/PERFORMANCE.md, "Growth"). One arena per
//! core (at least two) keeps that peak near what is alive.
//!
//! An operator's own `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES` setting of it wins.

/// Limits glibc's arenas to one per core (at least two), unless the environment chose.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn limit_malloc_arenas() {
    let chosen = std::env::var_os("MALLOC_ARENA_MAX").is_some()
        || std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("glibc.malloc.arena_max"));
    if chosen {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let arenas = libc::c_int::try_from(cores.max(2)).unwrap_or(libc::c_int::MAX);
    // SAFETY: `mallopt` sets one parameter of glibc's allocator and touches no memory of ours;
    // it is called before the runtime starts any other thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

/// Other allocators: nothing to limit.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_malloc_arenas() {}
