//! Where `serve` writes its log lines: into a buffer in memory, written out to stderr by a
//! thread of its own a few milliseconds after the first line of each batch.
//!
//! A request formats its line and appends it; it never makes a system call for it, and wakes
//! the writing thread only when the buffer was empty, so at most one wake-up per batch
//! (measured under load: a writer thread woken by every line, as a channel to a worker does,
//! cost more than the write it saved). No line is dropped: past [`FLUSH_AT`] bytes waiting, the
//! request that fills the buffer writes it out itself. The lines still waiting are written
//! when the [`Flush`] guard is dropped, which `serve` keeps until it has stopped; a process
//! killed or crashing loses at most the lines of the last [`DELAY`].

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the first line of a batch may wait before it is written.
pub const DELAY: Duration = Duration::from_millis(10);

/// Bytes waiting past which the line that adds them writes them out at once.
pub const FLUSH_AT: usize = 256 * 1024;

struct Shared<W> {
    pending: Mutex<Pending>,
    wake: Condvar,
    /// Held while a batch is written, taken before the buffer is let go, so batches reach
    /// the output in the order their lines were appended.
    out: Mutex<W>,
}

#[derive(Default)]
struct Pending {
    lines: Vec<u8>,
    /// The writing thread waits for a first line.
    idle: bool,
    stop: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<W: Write> Shared<W> {
    /// Writes out what waits in `pending` (locked by the caller).
    fn write_out(&self, mut pending: MutexGuard<'_, Pending>) -> io::Result<()> {
        if pending.lines.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut pending.lines);
        let mut out = lock(&self.out);
        drop(pending);
        out.write_all(&batch)?;
        out.flush()
    }

    fn append(&self, line: &[u8]) -> io::Result<()> {
        let mut pending = lock(&self.pending);
        pending.lines.extend_from_slice(line);
        if pending.lines.len() >= FLUSH_AT {
            return self.write_out(pending);
        }
        if pending.idle {
            pending.idle = false;
            self.wake.notify_one();
        }
        Ok(())
    }

    fn run(&self) {
        loop {
            let mut pending = lock(&self.pending);
            while pending.lines.is_empty() && !pending.stop {
                pending.idle = true;
                pending = self.wake.wait(pending).unwrap_or_else(|p| p.into_inner());
            }
            pending.idle = false;
            let stop = pending.stop;
            if !stop {
                // Let the batch gather.
                drop(pending);
                std::thread::sleep(DELAY);
                pending = lock(&self.pending);
            }
            // Nowhere left to report a failure to write the log.
            let _ = self.write_out(pending);
            if stop {
                return;
            }
        }
    }
}

/// The writer `tracing_subscriber::fmt` is given: each line it formats is one `write`.
pub struct Lines<W>(Arc<Shared<W>>);

impl<W> Clone for Lines<W> {
    fn clone(&self) -> Self {
        Lines(self.0.clone())
    }
}

impl<W: Write> Write for &Lines<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.append(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a, W: Write + Send + 'static> tracing_subscriber::fmt::MakeWriter<'a> for Lines<W> {
    type Writer = &'a Lines<W>;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

/// Writes out every line still waiting, and stops the writing thread, when dropped.
pub struct Flush<W: Write> {
    shared: Arc<Shared<W>>,
    thread: Option<JoinHandle<()>>,
}

impl<W: Write> Drop for Flush<W> {
    fn drop(&mut self) {
        lock(&self.shared.pending).stop = true;
        self.shared.wake.notify_one();
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(())) => {}
            // The thread is gone (it panicked, or never started): write out here.
            _ => {
                let _ = self.shared.write_out(lock(&self.shared.pending));
            }
        }
    }
}

/// Lines written to `out` by a thread named `skillgrid-log`.
pub fn buffered<W: Write + Send + 'static>(out: W) -> (Lines<W>, Flush<W>) {
    let shared = Arc::new(Shared {
        pending: Mutex::new(Pending::default()),
        wake: Condvar::new(),
        out: Mutex::new(out),
    });
    let worker = shared.clone();
    let thread = std::thread::Builder::new()
        .name("skillgrid-log".into())
        .spawn(move || worker.run())
        .ok();
    let flush = Flush {
        shared: shared.clone(),
        thread,
    };
    (Lines(shared), flush)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output the test can read while the writer holds it.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_arrives_in_order_and_the_last_ones_on_drop() {
        let out = Shared::default();
        let (lines, flush) = buffered(out.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let lines = lines.clone();
                std::thread::spawn(move || {
                    for i in 0..5_000 {
                        // As `tracing_subscriber::fmt` does: each line formatted, then one write.
                        let line = format!("{t} {i} {}\n", "x".repeat(i % 100));
                        (&lines).write_all(line.as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(flush);
        let text = String::from_utf8(lock(&out.0).clone()).unwrap();
        let mut next = [0usize; 4];
        for line in text.lines() {
            let mut f = line.split(' ');
            let t: usize = f.next().unwrap().parse().unwrap();
            let i: usize = f.next().unwrap().parse().unwrap();
            assert_eq!(i, next[t], "thread {t}'s lines out of order");
            assert_eq!(f.next().unwrap().len(), i % 100);
            next[t] += 1;
        }
        assert_eq!(next, [5_000; 4]);
    }

    #[test]
    fn a_lone_line_is_written_without_waiting_for_more() {
        let out = Shared::default();
        let (lines, _flush) = buffered(out.clone());
        (&lines).write_all(b"listening\n").unwrap();
        // The writing thread writes it on its own; no drop, no further line.
        for _ in 0..500 {
            if lock(&out.0).as_slice() == b"listening\n" {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the line was not written within 5 s");
    }
}
