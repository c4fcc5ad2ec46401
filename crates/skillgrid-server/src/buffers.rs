//! Large byte buffers kept from one request for the next.
//!
//! A bulk request's body (up to `maxBodyBytes`) and its answer (20–50 MB for 100,000
//! assignments) would each take fresh memory from the kernel: a page fault and a zeroed page
//! per 4 KiB, which on these machines cost as much as writing the answer itself. The buffers
//! of requests that are done are kept instead and handed to the next large request, whose
//! bytes then land in memory that is already there.
//!
//! The cost is memory held between requests, so it is bounded by what is resident, not by how
//! many buffers there are: a buffer's memory becomes resident as far as it was ever written
//! (room reserved and never written is not), and the buffers kept hold at most
//! [`KEEP_RESIDENT`] of it together, at most [`KEPT`] of them (a request uses up to three: its
//! body and the two halves of its answer).

use axum::body::Bytes;
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard};

/// Buffers smaller than this are left to the allocator, which reuses small blocks itself.
const KEEP_FROM: usize = 1 << 20;
/// Buffers kept at most.
const KEPT: usize = 3;
/// The resident memory of the buffers kept, at most (a buffer alone over it is not kept).
const KEEP_RESIDENT: usize = 48 << 20;

/// A buffer from [`take`]: a `Vec<u8>`, and how far its memory has been written (so is
/// resident) before it was handed out.
pub struct Buffer {
    v: Vec<u8>,
    /// The bytes of `v`'s allocation written before, by earlier requests.
    resident: usize,
    /// The address that allocation starts at: a `v` that grew has another, resident as far
    /// as written.
    at: usize,
}

impl Buffer {
    fn new(v: Vec<u8>, resident: usize) -> Self {
        let at = v.as_ptr().addr();
        Buffer { v, resident, at }
    }

    /// How much of the buffer's memory is resident: as far as it has ever been written.
    fn resident(&self) -> usize {
        if self.v.as_ptr().addr() == self.at {
            self.resident.max(self.v.len())
        } else {
            self.v.len()
        }
    }
}

impl Deref for Buffer {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.v
    }
}

impl DerefMut for Buffer {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.v
    }
}

static BUFFERS: Mutex<Vec<Buffer>> = Mutex::new(Vec::new());

fn buffers() -> MutexGuard<'static, Vec<Buffer>> {
    // A buffer list is never left half-changed: a poisoned lock still holds a usable one.
    BUFFERS.lock().unwrap_or_else(|p| p.into_inner())
}

/// An empty buffer with room for at least `bytes`. When `bytes` is large, a kept one: of those
/// resident as far as `bytes`, the least resident (a body does not spread over the memory of
/// an answer); else the most resident (grown if it must be). Else a new one.
pub fn take(bytes: usize) -> Buffer {
    if bytes < KEEP_FROM {
        return Buffer::new(Vec::with_capacity(bytes), 0);
    }
    let kept = {
        let mut kept = buffers();
        let fit = (0..kept.len())
            .filter(|&i| kept[i].resident >= bytes)
            .min_by_key(|&i| kept[i].resident);
        let best = fit.or_else(|| (0..kept.len()).max_by_key(|&i| kept[i].resident));
        best.map(|i| kept.swap_remove(i))
    };
    match kept {
        Some(mut b) => {
            b.v.clear();
            if b.v.capacity() < bytes {
                b.v.reserve(bytes);
                b = Buffer::new(b.v, 0);
            }
            b
        }
        None => Buffer::new(Vec::with_capacity(bytes), 0),
    }
}

/// `b` as `Bytes` that give its buffer back for a later request once they are dropped (once
/// the answer is sent, or the request is done with its body).
pub fn into_bytes(b: Buffer) -> Bytes {
    if b.v.capacity() < KEEP_FROM {
        return Bytes::from(b.v);
    }
    Bytes::from_owner(Returned(b))
}

/// A buffer that goes back to the kept ones when dropped.
struct Returned(Buffer);

impl AsRef<[u8]> for Returned {
    fn as_ref(&self) -> &[u8] {
        &self.0.v
    }
}

impl Drop for Returned {
    fn drop(&mut self) {
        let b = std::mem::replace(&mut self.0, Buffer::new(Vec::new(), 0));
        keep(b);
    }
}

/// Keeps `b` if it is worth it: the buffers with the most resident memory are kept, as many as
/// fit in [`KEEP_RESIDENT`] and [`KEPT`]; the others are freed.
fn keep(b: Buffer) {
    if b.v.capacity() < KEEP_FROM {
        return;
    }
    let b = Buffer {
        resident: b.resident(),
        ..b
    };
    let mut kept = buffers();
    kept.push(b);
    kept.sort_unstable_by_key(|k| std::cmp::Reverse(k.resident));
    let mut total = 0;
    let mut count = 0;
    kept.retain(|k| {
        let fits = count < KEPT && total + k.resident <= KEEP_RESIDENT;
        if fits {
            total += k.resident;
            count += 1;
        }
        fits
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resident() -> Vec<usize> {
        buffers().iter().map(|b| b.resident >> 20).collect()
    }

    /// A large buffer handed out, filled, sent and dropped is handed out again, empty, with
    /// its memory; small ones are not kept; what is kept stays within its bounds. (One test:
    /// the kept buffers are the process's.)
    #[test]
    fn large_buffers_come_back_for_the_next_request_within_their_bounds() {
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
        assert_eq!(resident(), [3]);
        // Handed out again empty, and it remembers what was written: 1 MiB written now
        // leaves it 3 MiB resident.
        let mut again = take(2 << 20);
        assert_eq!((again.as_ptr(), again.len()), (at, 0));
        assert!(buffers().is_empty());
        again.extend(std::iter::repeat_n(1u8, 1 << 20));
        drop(into_bytes(again));
        assert_eq!(resident(), [3]);
        // Grown past its room it is another allocation, resident as far as written.
        let mut larger = take(3 << 20);
        larger.extend(std::iter::repeat_n(1u8, 5 << 20));
        drop(into_bytes(larger));
        assert_eq!(resident(), [5]);

        // Small ones are left to the allocator.
        drop(into_bytes(take(1000)));
        assert_eq!(resident(), [5]);

        // At most KEPT, the most resident first, within KEEP_RESIDENT together.
        buffers().clear();
        let filled = |mb: usize| {
            let mut b = take(mb << 20);
            b.extend(std::iter::repeat_n(0u8, mb << 20));
            into_bytes(b)
        };
        let busy: Vec<Bytes> = [2, 30, 4, 6, 1].into_iter().map(filled).collect();
        assert!(buffers().is_empty());
        drop(busy);
        assert_eq!(resident(), [30, 6, 4]);
        // The least resident of those that fit; the most resident when none does.
        let a = take(5 << 20);
        assert_eq!(resident(), [30, 4]);
        let b = take(31 << 20);
        assert_eq!(resident(), [4]);
        assert!(b.capacity() >= 31 << 20);
        drop((into_bytes(a), into_bytes(b)));
        assert_eq!(
            resident(),
            [6, 4, 0],
            "b grew: a new allocation, nothing written"
        );
        buffers().clear();
        let busy: Vec<Bytes> = [30, 6, 4].into_iter().map(filled).collect();
        drop(busy);
        assert_eq!(resident(), [30, 6, 4]);
        // These take the 30 and the 6 and outgrow them; 40 and 20 do not fit together.
        let busy: Vec<Bytes> = [40, 20].into_iter().map(filled).collect();
        assert_eq!(resident(), [4]);
        drop(busy);
        assert_eq!(resident(), [40, 4]);
        drop(filled(60));
        assert_eq!(resident(), [4], "alone over the bound: not kept");
        buffers().clear();
    }
}
