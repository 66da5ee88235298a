//! A fixed set of worker threads that run one job at a time, each share of it once.
//!
//! A forward pass hands out a few hundred small jobs per token, so waking threads must cost
//! well under a microsecond: idle workers spin on an epoch counter briefly, then yield their
//! core for a millisecond or two, then sleep on a condition variable. The calling thread does
//! share 0 itself, then takes over every share whose worker has not started it yet: on a busy
//! machine a worker that was descheduled (or is still asleep) does not hold the job up, its
//! share simply runs on the caller. Each share is claimed once per job (a compare-and-swap on
//! the share's last claimed epoch), so it runs exactly once, on whichever thread claimed it.
//! A pool never runs more threads than it was built with, so a caller that sizes it to the
//! free cores never oversubscribes them.

use std::cell::UnsafeCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

type Job = *const (dyn Fn(usize, usize) + Sync);

struct Shared {
    epoch: AtomicU64,
    job: UnsafeCell<Option<Job>>,
    /// Per share, the last epoch it was claimed in (shares are claimed once per job).
    claimed: Vec<AtomicU64>,
    /// Shares of the current job finished.
    done: AtomicUsize,
    sleepers: AtomicUsize,
    shutdown: AtomicBool,
    panicked: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

// SAFETY: `job` is written only by the dispatching thread (serialized by `Pool::dispatch`)
// before the epoch is published with SeqCst, and read by a worker only after it claimed a share
// of that epoch; the dispatcher does not return (nor write `job` again) until every share of
// the epoch is done, so a claimed share's job is alive while it runs. A worker that claims
// nothing never reads `job`.
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

/// Busy spins (one `spin_loop` hint each, tens of nanoseconds) before a waiting thread starts
/// yielding its core: enough to catch the next job of a forward pass at once.
const SPINS: u32 = 1 << 11;

/// Yields (`sched_yield`, about a microsecond when nothing else wants the core) before an idle
/// worker sleeps. Yielding instead of spinning keeps a busy machine usable: a thread of ours
/// that waits for one that was descheduled hands its core over instead of burning it.
const YIELDS: u32 = 2000;

/// A pool of `threads` threads (the caller included).
pub struct Pool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    threads: usize,
    dispatch: Mutex<()>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("threads", &self.threads)
            .finish()
    }
}

impl Pool {
    /// A pool of `threads` threads in all (at least 1; the caller is one of them).
    pub fn new(threads: usize) -> Pool {
        let threads = threads.max(1);
        let shared = Arc::new(Shared {
            epoch: AtomicU64::new(0),
            job: UnsafeCell::new(None),
            claimed: (0..threads).map(|_| AtomicU64::new(0)).collect(),
            done: AtomicUsize::new(0),
            sleepers: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
            panicked: AtomicBool::new(false),
            lock: Mutex::new(()),
            wake: Condvar::new(),
        });
        let workers = (1..threads)
            .map(|i| {
                let s = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("popbench-engine-{i}"))
                    .spawn(move || worker(&s, i, threads))
                    .expect("spawn an engine thread")
            })
            .collect();
        Pool {
            shared,
            workers,
            threads,
            dispatch: Mutex::new(()),
        }
    }

    /// Threads in the pool, the caller included.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `f(i, n)` once for every share index `i` in `0..n` (n = [`Pool::threads`]), on
    /// whichever thread claims it, and returns when all have finished. Panics (after all have
    /// finished) if one panicked.
    pub fn run(&self, f: &(dyn Fn(usize, usize) + Sync)) {
        let n = self.threads;
        if n == 1 {
            f(0, 1);
            return;
        }
        let _one_at_a_time = self.dispatch.lock().unwrap_or_else(|e| e.into_inner());
        let s = &*self.shared;
        // SAFETY: the job outlives its use: this function waits below until every share has
        // finished (done == n) before returning, and only a thread that claimed a share of this
        // epoch calls it.
        let job: Job = unsafe { std::mem::transmute::<&(dyn Fn(usize, usize) + Sync), Job>(f) };
        unsafe { *s.job.get() = Some(job) };
        s.done.store(0, Ordering::Relaxed);
        let epoch = s.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        if s.sleepers.load(Ordering::SeqCst) > 0 {
            let _g = s.lock.lock().unwrap_or_else(|e| e.into_inner());
            s.wake.notify_all();
        }
        let mut first = None;
        let mut run_share = |i: usize| {
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| f(i, n))) {
                first.get_or_insert(p);
            }
            s.done.fetch_add(1, Ordering::Release);
        };
        run_share(0);
        for i in 1..n {
            if claim(s, i, epoch) {
                run_share(i);
            }
        }
        let mut spins = 0u32;
        while s.done.load(Ordering::Acquire) != n {
            spins = spins.saturating_add(1);
            if spins < SPINS {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        unsafe { *s.job.get() = None };
        // Cleared whoever panicked, so the next job does not report this one's.
        let worker_panicked = s.panicked.swap(false, Ordering::Relaxed);
        if let Some(p) = first {
            std::panic::resume_unwind(p);
        }
        if worker_panicked {
            panic!("an engine worker thread panicked");
        }
    }
}

/// Claims share `i` of job `epoch` for the calling thread: true for exactly one caller.
fn claim(s: &Shared, i: usize, epoch: u64) -> bool {
    let c = &s.claimed[i];
    let mut cur = c.load(Ordering::Acquire);
    while cur < epoch {
        match c.compare_exchange_weak(cur, epoch, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return true,
            Err(now) => cur = now,
        }
    }
    false
}

fn worker(s: &Shared, index: usize, n: usize) {
    let mut seen = 0u64;
    loop {
        let mut spins = 0u32;
        loop {
            if s.shutdown.load(Ordering::Acquire) {
                return;
            }
            let e = s.epoch.load(Ordering::Acquire);
            if e != seen {
                seen = e;
                break;
            }
            spins += 1;
            if spins < SPINS {
                std::hint::spin_loop();
                continue;
            }
            if spins < SPINS + YIELDS {
                std::thread::yield_now();
                continue;
            }
            let g = s.lock.lock().unwrap_or_else(|e| e.into_inner());
            s.sleepers.fetch_add(1, Ordering::SeqCst);
            if s.epoch.load(Ordering::SeqCst) == seen && !s.shutdown.load(Ordering::SeqCst) {
                drop(s.wake.wait(g).unwrap_or_else(|e| e.into_inner()));
            } else {
                drop(g);
            }
            s.sleepers.fetch_sub(1, Ordering::SeqCst);
            spins = 0;
        }
        // The caller may have run this share already (and even moved on to later jobs):
        // touch the job only after claiming the share for the epoch just seen.
        if !claim(s, index, seen) {
            continue;
        }
        // SAFETY: published before the epoch this worker just observed, and alive until the
        // share claimed above is done (see `Shared`).
        let job = unsafe { (*s.job.get()).expect("a job is set for a claimed share") };
        let r = catch_unwind(AssertUnwindSafe(|| unsafe { (*job)(index, n) }));
        if r.is_err() {
            s.panicked.store(true, Ordering::Relaxed);
        }
        s.done.fetch_add(1, Ordering::Release);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        {
            let _g = self.shared.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.shared.wake.notify_all();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// The half-open range of `total` items that thread `i` of `n` takes (contiguous, balanced).
pub fn share(total: usize, i: usize, n: usize) -> std::ops::Range<usize> {
    (total * i / n)..(total * (i + 1) / n)
}

/// A raw pointer that threads writing disjoint elements may share.
#[derive(Clone, Copy)]
pub(crate) struct SharedMut<T>(pub *mut T);
// SAFETY: users write disjoint indices only (documented at each use).
unsafe impl<T> Send for SharedMut<T> {}
unsafe impl<T> Sync for SharedMut<T> {}

impl<T> SharedMut<T> {
    /// The pointer (a method, so closures capture the wrapper, not the raw field).
    pub(crate) fn ptr(&self) -> *mut T {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn every_share_runs_once_per_job() {
        for threads in [1, 2, 3] {
            let pool = Pool::new(threads);
            for round in 0..2000 {
                let hits = AtomicUsize::new(0);
                let sum = AtomicUsize::new(0);
                pool.run(&|i, n| {
                    assert_eq!(n, threads);
                    hits.fetch_add(1, Ordering::Relaxed);
                    sum.fetch_add(i + round, Ordering::Relaxed);
                });
                assert_eq!(hits.load(Ordering::Relaxed), threads);
                assert_eq!(
                    sum.load(Ordering::Relaxed),
                    threads * (threads - 1) / 2 + threads * round
                );
                if round % 500 == 0 {
                    // Let the workers fall asleep, then wake them.
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            }
        }
    }

    #[test]
    fn a_panicking_share_is_reported_and_the_pool_survives() {
        let pool = Pool::new(2);
        // Share 1 alone (on the worker or taken over by the caller), then both shares: each
        // job reports its panic, and the next job runs clean (no stale report).
        for bad in [&[1usize][..], &[0, 1][..]] {
            let r = catch_unwind(AssertUnwindSafe(|| {
                pool.run(&|i, _| {
                    if bad.contains(&i) {
                        panic!("boom");
                    }
                })
            }));
            assert!(r.is_err());
            let hits = AtomicUsize::new(0);
            pool.run(&|_, _| {
                hits.fetch_add(1, Ordering::Relaxed);
            });
            assert_eq!(hits.load(Ordering::Relaxed), 2);
        }
    }

    #[test]
    fn shares_cover_everything_once() {
        for total in [0, 1, 7, 100] {
            for n in 1..5 {
                let mut covered = 0;
                for i in 0..n {
                    let r = share(total, i, n);
                    assert_eq!(r.start, covered);
                    covered = r.end;
                }
                assert_eq!(covered, total);
            }
        }
    }
}
