//! Large byte buffers kept from one request for the next.
//!
//! A bulk request's body (up to `maxBodyBytes`) and its answer (20–50 MB for 100,000
//! assignments) would each take fresh memory from the kernel: a page fault and a zeroed page
//! per 4 KiB, which on these machines cost as much as writing the answer itself. The buffers
//! of requests that are done are kept instead (a few, each at most [`KEEP_UP_TO`]) and handed
//! to the next large request, whose bytes then land in memory that is already there.
//!
//! The cost is memory held between requests: at most [`KEPT`] buffers, none larger than
//! [`KEEP_UP_TO`] (in practice the largest body and answer seen so far).

use axum::body::Bytes;
use std::sync::{Mutex, MutexGuard};

/// Buffers smaller than this are left to the allocator, which reuses small blocks itself.
const KEEP_FROM: usize = 1 << 20;
/// Buffers kept at most.
const KEPT: usize = 4;
/// No buffer larger than this is kept.
const KEEP_UP_TO: usize = 256 << 20;

static BUFFERS: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

fn buffers() -> MutexGuard<'static, Vec<Vec<u8>>> {
    // A buffer list is never left half-changed: a poisoned lock still holds a usable one.
    BUFFERS.lock().unwrap_or_else(|p| p.into_inner())
}

/// An empty buffer with room for at least `bytes`: the largest kept one when `bytes` is large
/// (grown if it must be: what it had stays resident), else a new one.
pub fn take(bytes: usize) -> Vec<u8> {
    if bytes < KEEP_FROM {
        return Vec::with_capacity(bytes);
    }
    let kept = {
        let mut kept = buffers();
        let largest = (0..kept.len()).max_by_key(|&i| kept[i].capacity());
        largest.map(|i| kept.swap_remove(i))
    };
    match kept {
        Some(mut v) => {
            v.clear();
            v.reserve(bytes);
            v
        }
        None => Vec::with_capacity(bytes),
    }
}

/// `v` as `Bytes` that give its buffer back for a later request once they are dropped (once
/// the answer is sent, or the request is done with its body).
pub fn into_bytes(v: Vec<u8>) -> Bytes {
    if v.capacity() < KEEP_FROM {
        return Bytes::from(v);
    }
    Bytes::from_owner(Returned(v))
}

/// A buffer that goes back to the kept ones when dropped.
struct Returned(Vec<u8>);

impl AsRef<[u8]> for Returned {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Returned {
    fn drop(&mut self) {
        keep(std::mem::take(&mut self.0));
    }
}

/// Keeps `v` if it is worth it, in place of the smallest kept buffer when there are enough.
fn keep(v: Vec<u8>) {
    if !(KEEP_FROM..=KEEP_UP_TO).contains(&v.capacity()) {
        return;
    }
    let mut kept = buffers();
    if kept.len() < KEPT {
        kept.push(v);
    } else if let Some(smallest) = (0..kept.len()).min_by_key(|&i| kept[i].capacity()) {
        if kept[smallest].capacity() < v.capacity() {
            kept[smallest] = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large buffer handed out, filled, sent and dropped is handed out again, empty, with
    /// its memory; small ones are not kept. (One test: the kept buffers are the process's.)
    #[test]
    fn large_buffers_come_back_for_the_next_request_and_small_ones_do_not() {
        buffers().clear();
        let mut v = take(3 << 20);
        assert!(v.capacity() >= 3 << 20);
        v.extend(std::iter::repeat_n(7u8, 3 << 20));
        let at = v.as_ptr();
        let bytes = into_bytes(v);
        assert_eq!(bytes.len(), 3 << 20);
        assert!(bytes.iter().all(|b| *b == 7));
        let clone = bytes.clone();
        drop(bytes);
        assert!(buffers().is_empty(), "kept while a clone is still alive");
        drop(clone);
        assert_eq!(buffers().len(), 1);
        let again = take(2 << 20);
        assert_eq!((again.as_ptr(), again.len()), (at, 0));
        assert!(buffers().is_empty());
        // Grown when a larger one is asked for.
        drop(into_bytes(again));
        let larger = take(5 << 20);
        assert!(larger.capacity() >= 5 << 20);
        drop(into_bytes(larger));
        // Small ones are left to the allocator; at most KEPT are kept, the largest ones.
        drop(into_bytes(take(1000)));
        assert_eq!(buffers().len(), 1);
        let busy: Vec<Bytes> = [2, 3, 4, 6, 1]
            .into_iter()
            .map(|mb| into_bytes(take(mb << 20)))
            .collect();
        assert!(buffers().is_empty());
        drop(busy);
        let sizes: Vec<usize> = buffers().iter().map(|v| v.capacity() >> 20).collect();
        assert_eq!(sizes.len(), KEPT);
        assert!(sizes.iter().all(|&mb| mb >= 2), "{sizes:?}");
    }
}
