//! The process's memory allocators.
//!
//! Rust code allocates through mimalloc (the binary's global allocator): per-thread heaps
//! without a lock on the common path. With glibc's `malloc` instead, a read of one agent's
//! skills spent about a quarter of the server's time in `malloc`, `free` and the arena locks
//! the threads contended for, and answered a third fewer requests (docs/PERFORMANCE.md,
//! "Reads against the HTTP ceiling").
//!
//! mimalloc keeps the pages a thread freed for a second before it gives them back, commits its
//! arenas up front and backs them with transparent huge pages: filling an organization to
//! 2,000,000 assignments through the bulk API (100,000 assignments a request) peaked at 342 MB
//! with its defaults, against 240 MB with glibc. Built without transparent huge pages
//! (`no_thp`), giving freed pages back at once and committing arenas as they are used, the
//! same fill peaked at 237–280 MB in four runs, and the reads were as fast.
//! [`tune_mimalloc`] sets the last two, unless the operator's `MIMALLOC_PURGE_DELAY` or
//! `MIMALLOC_ARENA_EAGER_COMMIT` chose.
//!
//! The C code linked in (SQLite: its page caches, its statements) still allocates through
//! glibc's `malloc`, and for it this module limits how many arenas glibc may keep.
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

/// mimalloc's options, by their place in its `mi_option_t` (the version `Cargo.lock` pins).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Gives freed pages back at once and commits arenas as they are used (see above).
#[allow(unsafe_code)]
pub fn tune_mimalloc() {
    for (option, env, value) in [
        (PURGE_DELAY, "MIMALLOC_PURGE_DELAY", 0),
        (ARENA_EAGER_COMMIT, "MIMALLOC_ARENA_EAGER_COMMIT", 0),
    ] {
        if std::env::var_os(env).is_none() {
            // SAFETY: sets one of mimalloc's options, which it reads atomically; any value is
            // valid for both.
            unsafe { libmimalloc_sys::mi_option_set(option, value) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The places name the options meant: their defaults are these (1 s; 2, "on systems
    /// that overcommit").
    #[test]
    #[allow(unsafe_code)]
    fn the_options_are_the_ones_meant() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // SAFETY: reads one option.
            assert_eq!(unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) }, 1000);
        }
        if std::env::var_os("MIMALLOC_ARENA_EAGER_COMMIT").is_none() {
            // SAFETY: reads one option.
            assert_eq!(
                unsafe { libmimalloc_sys::mi_option_get(ARENA_EAGER_COMMIT) },
                2
            );
        }
    }
}
