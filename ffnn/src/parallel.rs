//! The threads ffnn computes on (`--threads`), and how work is split between them.
//!
//! A training step is a chain of small products (a few hundred microseconds each), so handing
//! work to another thread must cost next to nothing. General-purpose pools put idle workers to
//! sleep, and waking one takes longer than the half-product it was meant to compute. ffnn
//! keeps a *team* instead, as OpenMP does: `threads − 1` helpers that spin, waiting for the
//! next piece of work, and only park after a millisecond with nothing to do. [`run`] splits a
//! job into `tasks` parts; part 0 runs on the calling thread, part `i` always on helper `i`,
//! so the same work is always done the same way (results are bit-identical run to run).

use std::cell::{Cell, RefCell, UnsafeCell};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

/// How long a waiting thread spins on the CPU before it starts yielding it to other threads
/// (so an oversubscribed machine still makes progress), and how long a helper waits for work
/// before it parks.
const SPIN: Duration = Duration::from_micros(50);
const PARK_AFTER: Duration = Duration::from_millis(1);

/// Waits a little, more politely the longer it has waited already.
fn backoff(waited: Duration) {
    if waited < SPIN {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

/// A job as helpers see it: a borrowed closure, made `'static` for the handover. [`run`] does
/// not return before every helper has finished with it, so the borrow outlives every use.
type Job = *const (dyn Fn(usize) + Sync);

struct Shared {
    job: UnsafeCell<Option<Job>>,
    tasks: AtomicUsize,
    /// Bumped by [`run`] for each job; helpers start work when it changes.
    epoch: AtomicUsize,
    /// Helpers done with the current job.
    done: AtomicUsize,
    /// Helpers parked (asleep); [`run`] wakes them.
    parked: AtomicUsize,
    panicked: AtomicBool,
    shutdown: AtomicBool,
}

// SAFETY: `job` is written only by the thread in `run` while no helper reads it (between jobs),
// and read by helpers only after the `epoch` store that publishes it (release/acquire).
unsafe impl Sync for Shared {}
// SAFETY: every field but `job` is an atomic; `job` holds a pointer to a closure that is `Sync`
// and outlives every use (see `Job`), so moving `Shared` to a helper thread is sound.
unsafe impl Send for Shared {}

/// A calling thread plus `threads − 1` helpers.
pub struct Team {
    shared: Arc<Shared>,
    helpers: Vec<(JoinHandle<()>, Thread)>,
    /// Serializes jobs from different calling threads.
    lock: Mutex<()>,
}

impl Team {
    /// A team of `threads` (1 ..= [`MAX_THREADS`]) threads: this one and `threads − 1` helpers.
    pub fn new(threads: usize) -> Team {
        assert!(threads <= MAX_THREADS, "Team::new: {threads} threads (at most {MAX_THREADS})");
        let shared = Arc::new(Shared {
            job: UnsafeCell::new(None),
            tasks: AtomicUsize::new(0),
            epoch: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            parked: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
        });
        let helpers = (1..threads.max(1))
            .map(|index| {
                let shared = shared.clone();
                let handle = std::thread::Builder::new()
                    .name(format!("ffnn-{index}"))
                    .spawn(move || helper(index, &shared))
                    .expect("cannot start a thread");
                let thread = handle.thread().clone();
                (handle, thread)
            })
            .collect();
        Team { shared, helpers, lock: Mutex::new(()) }
    }

    /// Number of threads, the caller included.
    pub fn threads(&self) -> usize {
        self.helpers.len() + 1
    }

    /// Runs `f(0)`, …, `f(tasks − 1)` in parallel: `f(0)` here, `f(i)` on helper `i`.
    /// `tasks` must not exceed [`Team::threads`].
    ///
    /// Reentrant: called from inside a part of a job (of this team or another), it runs its
    /// tasks one after another on the calling thread, so nested work never waits for helpers
    /// that are busy with the outer job. Calls from different threads take turns.
    pub fn run(&self, tasks: usize, f: &(dyn Fn(usize) + Sync)) {
        assert!(tasks <= self.threads(), "{tasks} tasks for {} threads", self.threads());
        if tasks <= 1 || IN_JOB.with(Cell::get) {
            (0..tasks).for_each(f);
            return;
        }
        // Inside `overlap`'s foreground this thread holds the lock already, and the helpers
        // may still be on the background job: wait for it, then go on as usual.
        let _guard = if self.is_overlapping() {
            self.finish_job();
            None
        } else {
            Some(self.lock.lock().unwrap_or_else(|e| e.into_inner()))
        };
        // SAFETY: `f` outlives the job: `finish_job` below waits for every helper.
        unsafe { self.start_job(tasks, f) };
        IN_JOB.with(|j| j.set(true));
        let mine = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(0)));
        IN_JOB.with(|j| j.set(false));
        self.finish_job();
        if let Err(p) = mine {
            std::panic::resume_unwind(p);
        }
    }

    /// Runs `background` on a helper while this thread runs `foreground`, and returns the
    /// latter's result once both are done. Work that `foreground` hands to the team waits for
    /// `background` to finish first. The way to hide serial work behind other serial work:
    /// the training step lists `Xᵀ` (needed only by the first layer's gradient, at the end)
    /// while this thread computes the loss's gradient and the last, small layers'.
    /// With one thread (or inside a part of a job), `background` runs first, then `foreground`.
    pub fn overlap<R>(&self, background: impl FnOnce() + Send, foreground: impl FnOnce() -> R) -> R {
        if self.threads() < 2 || IN_JOB.with(Cell::get) || self.is_overlapping() {
            background();
            return foreground();
        }
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let background = Mutex::new(Some(background));
        let job = |i: usize| {
            if i == 1 {
                let task = background.lock().unwrap_or_else(|e| e.into_inner()).take();
                task.expect("the background task runs once")();
            }
        };
        // Whatever happens in `foreground`, the helpers are done with `job` (which borrows
        // `background`) before this function returns or unwinds.
        struct Finish<'t>(&'t Team);
        impl Drop for Finish<'_> {
            fn drop(&mut self) {
                OVERLAPPING.with(|o| o.set(std::ptr::null()));
                let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.0.finish_job()));
                if panicked.is_err() && !std::thread::panicking() {
                    panic!("a worker thread panicked");
                }
            }
        }
        // SAFETY: `job` outlives its use: `Finish` waits for every helper before it is dropped.
        unsafe { self.start_job(2, &job) };
        let finish = Finish(self);
        OVERLAPPING.with(|o| o.set(self as *const Team));
        let result = foreground();
        drop(finish);
        result
    }

    /// Whether this thread is in the foreground of this team's [`Team::overlap`].
    fn is_overlapping(&self) -> bool {
        OVERLAPPING.with(|o| std::ptr::eq(o.get(), self))
    }

    /// Hands `f` to the helpers (task `i` to helper `i`, for `i < tasks`) and returns at once.
    ///
    /// # Safety
    /// The caller holds `lock`, the previous job is finished, and `f` stays alive until
    /// [`Team::finish_job`] has returned.
    unsafe fn start_job(&self, tasks: usize, f: &(dyn Fn(usize) + Sync)) {
        let s = &*self.shared;
        // SAFETY: see `Job`; no helper reads `job` until the epoch below changes.
        unsafe {
            let job: Job = std::mem::transmute::<*const (dyn Fn(usize) + Sync + '_), Job>(f);
            *s.job.get() = Some(job);
        }
        s.tasks.store(tasks, Ordering::Relaxed);
        s.done.store(0, Ordering::Relaxed);
        s.epoch.fetch_add(1, Ordering::Release);
        if s.parked.load(Ordering::Acquire) > 0 {
            for (_, t) in &self.helpers {
                t.unpark();
            }
        }
    }

    /// Waits until every helper is done with the current job (if any), and forgets it;
    /// panics if a helper's part panicked.
    fn finish_job(&self) {
        let s = &*self.shared;
        // SAFETY: only the thread that started a job reads or clears `job`.
        if unsafe { (*s.job.get()).is_none() } {
            return;
        }
        let helpers = self.helpers.len();
        let waiting = Instant::now();
        while s.done.load(Ordering::Acquire) < helpers {
            backoff(waiting.elapsed());
        }
        // SAFETY: every helper has finished with the job.
        unsafe { *s.job.get() = None };
        if s.panicked.swap(false, Ordering::Relaxed) {
            panic!("a worker thread panicked");
        }
    }
}

fn helper(index: usize, s: &Shared) {
    // A helper only ever runs parts of jobs.
    IN_JOB.with(|j| j.set(true));
    let mut seen = 0;
    loop {
        // Wait for a new job: spin for a while, then park.
        let started = Instant::now();
        loop {
            if s.shutdown.load(Ordering::Acquire) {
                return;
            }
            let epoch = s.epoch.load(Ordering::Acquire);
            if epoch != seen {
                seen = epoch;
                break;
            }
            let waited = started.elapsed();
            if waited < PARK_AFTER {
                backoff(waited);
            } else {
                s.parked.fetch_add(1, Ordering::AcqRel);
                if s.epoch.load(Ordering::Acquire) == seen && !s.shutdown.load(Ordering::Acquire) {
                    std::thread::park_timeout(Duration::from_millis(50));
                }
                s.parked.fetch_sub(1, Ordering::AcqRel);
            }
        }
        if index < s.tasks.load(Ordering::Relaxed) {
            // SAFETY: published before the epoch change we acquired; `run` waits for `done`.
            let job = unsafe { (*s.job.get()).expect("a job with the new epoch") };
            // SAFETY: `run` does not return (so the closure behind `job` stays alive) until this
            // helper has bumped `done` below.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { (*job)(index) }));
            if result.is_err() {
                s.panicked.store(true, Ordering::Relaxed);
            }
        }
        s.done.fetch_add(1, Ordering::Release);
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::Release);
        for (handle, thread) in self.helpers.drain(..) {
            thread.unpark();
            let _ = handle.join();
        }
    }
}

static TEAM: OnceLock<Mutex<Arc<Team>>> = OnceLock::new();

fn slot() -> &'static Mutex<Arc<Team>> {
    TEAM.get_or_init(|| Mutex::new(Arc::new(Team::new(usable_cores()))))
}

/// All cores of the machine.
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The most threads worth using here: one per core, at most [`MAX_THREADS`] (the default team,
/// and the cap of the command's `--threads`).
pub fn usable_cores() -> usize {
    available_cores().min(MAX_THREADS)
}

/// Sets the number of threads (at least 1) for all work started afterwards: the team, and
/// rayon's pool (used to load datasets), whose size can only be set before its first use.
pub fn set_threads(threads: usize) {
    let threads = threads.clamp(1, MAX_THREADS);
    let _ = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global();
    let mut team = slot().lock().unwrap();
    if team.threads() != threads {
        *team = Arc::new(Team::new(threads));
    }
}

thread_local! {
    /// The team [`with_threads`] set for this thread, if any.
    static LOCAL_TEAM: RefCell<Option<Arc<Team>>> = const { RefCell::new(None) };
    /// Whether this thread is running a part of a job: work it starts then runs inline.
    static IN_JOB: Cell<bool> = const { Cell::new(false) };
    /// The team whose [`Team::overlap`] this thread is running the foreground of (it holds
    /// that team's lock), or null.
    static OVERLAPPING: Cell<*const Team> = const { Cell::new(std::ptr::null()) };
}

/// The team in use: the one [`with_threads`] set for this thread, else the process's (all
/// cores unless [`set_threads`] said otherwise).
pub fn team() -> Arc<Team> {
    LOCAL_TEAM.with(|t| t.borrow().clone()).unwrap_or_else(|| slot().lock().unwrap().clone())
}

/// The number of threads work started now may use: the team's, or 1 inside a part of a job
/// (a part that splits its own work runs it on its own thread).
pub fn threads() -> usize {
    if IN_JOB.with(Cell::get) { 1 } else { team().threads() }
}

/// Runs `f` with a team of `threads` (1 ..= [`MAX_THREADS`]) for the calling thread alone,
/// whatever [`set_threads`] said for the process: for tests that compare thread counts side by
/// side, and for programs that train several models at once on their own threads.
pub fn with_threads<R>(threads: usize, f: impl FnOnce() -> R) -> R {
    assert!((1..=MAX_THREADS).contains(&threads), "with_threads: {threads} threads (1 to {MAX_THREADS})");
    /// Puts the previous team back, also when `f` panics.
    struct Restore(Option<Arc<Team>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            LOCAL_TEAM.with(|t| *t.borrow_mut() = self.0.take());
        }
    }
    let previous = LOCAL_TEAM.with(|t| t.borrow_mut().replace(Arc::new(Team::new(threads))));
    let _restore = Restore(previous);
    f()
}

/// Runs `background` on another thread of the team while this one runs `foreground` (see
/// [`Team::overlap`]).
pub fn overlap<R>(background: impl FnOnce() + Send, foreground: impl FnOnce() -> R) -> R {
    team().overlap(background, foreground)
}

/// Runs `f(0..tasks)` in parallel on the team (see [`Team::run`]); `tasks ≤ threads()`.
pub fn run(tasks: usize, f: &(dyn Fn(usize) + Sync)) {
    team().run(tasks, f)
}

/// Splits `0..len` into at most `threads()` ranges whose starts are multiples of `align`
/// and runs `f(range)` for each in parallel.
pub fn for_each_range(len: usize, align: usize, f: &(dyn Fn(std::ops::Range<usize>) + Sync)) {
    let team = team();
    let chunk = len.div_ceil(team.threads()).next_multiple_of(align.max(1)).max(1);
    let tasks = len.div_ceil(chunk);
    team.run(tasks, &|i| f(i * chunk..((i + 1) * chunk).min(len)));
}

/// Cuts `data` into at most `threads()` pieces of whole `unit`s (rows, say) and runs
/// `f(first unit index, piece)` on each in parallel. Below `min_units` units per thread it
/// uses fewer threads, down to the calling thread alone. Every piece but the last holds the
/// same number of units; the last also takes whatever is left, including a final partial
/// unit when `data.len()` is not a multiple of `unit`.
pub fn for_each_chunk_mut<T: Send>(data: &mut [T], unit: usize, min_units: usize, f: &(dyn Fn(usize, &mut [T]) + Sync)) {
    let unit = unit.max(1);
    let units = data.len() / unit;
    let tasks = threads().min(units / min_units.max(1)).max(1);
    if tasks == 1 {
        return f(0, data);
    }
    let per_task = units.div_ceil(tasks);
    for_each_part(chunks_with_tail(data, per_task * unit, tasks), &|i, piece| f(i * per_task, piece));
}

/// `data` cut into pieces of `size`, at most `pieces` of them: the last piece takes the rest.
/// (`chunks_mut` would make one more piece for a short tail, one more than there are threads.)
fn chunks_with_tail<T>(data: &mut [T], size: usize, pieces: usize) -> impl Iterator<Item = &mut [T]> {
    let mut rest = data;
    let mut made = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        made += 1;
        let cut = if made == pieces { rest.len() } else { size.min(rest.len()) };
        let (piece, tail) = std::mem::take(&mut rest).split_at_mut(cut);
        rest = tail;
        Some(piece)
    })
}

/// Element-wise work on a batch matrix, `f(piece)`, split between the threads when there is
/// enough of it (activations, their derivatives, dropout masks).
pub fn for_each_mut(out: &mut [f32], f: &(dyn Fn(&mut [f32]) + Sync)) {
    for_each_chunk_mut(out, ELEMENTWISE_UNIT, ELEMENTWISE_MIN_UNITS, &|_, piece| f(piece));
}

/// [`for_each_mut`] with a second, read-only buffer of the same length: `f(out piece, matching input piece)`.
pub fn for_each_zip_mut(out: &mut [f32], input: &[f32], f: &(dyn Fn(&mut [f32], &[f32]) + Sync)) {
    assert_eq!(out.len(), input.len(), "for_each_zip_mut: {} outputs for {} inputs", out.len(), input.len());
    for_each_chunk_mut(out, ELEMENTWISE_UNIT, ELEMENTWISE_MIN_UNITS, &|first, piece| {
        f(piece, &input[first * ELEMENTWISE_UNIT..][..piece.len()])
    });
}

/// Element-wise work is cut in multiples of 64 values (whole cache lines), and shared only
/// when each thread gets at least 16 Ki values (below that, handing it over costs more).
const ELEMENTWISE_UNIT: usize = 64;
const ELEMENTWISE_MIN_UNITS: usize = 16 * 1024 / ELEMENTWISE_UNIT;

/// Runs `f(i, part)` in parallel for the `i`-th of `parts` (at most `threads()` of them), each
/// on its own thread: the way to hand each thread its own `&mut` pieces of buffers.
pub fn for_each_part<P: Send>(parts: impl Iterator<Item = P>, f: &(dyn Fn(usize, P) + Sync)) {
    // Each part waits in a slot behind an uncontended lock until its thread takes it: the safe
    // way to move a `&mut` slice to exactly one other thread. The slots live on the stack: this
    // runs inside every training step, which must not allocate.
    let mut slots: Pieces<Mutex<Option<P>>> = std::array::from_fn(|_| None);
    let mut parts = parts;
    let mut count = 0;
    for (slot, part) in slots.iter_mut().zip(&mut parts) {
        *slot = Some(Mutex::new(Some(part)));
        count += 1;
    }
    assert!(parts.next().is_none(), "for_each_part: more than {MAX_THREADS} parts");
    run(count, &|i| {
        let part = slots[i].as_ref().and_then(|slot| slot.lock().unwrap().take()).expect("each part is taken once");
        f(i, part)
    });
}

/// The most threads ffnn uses (`--threads` is capped here).
pub const MAX_THREADS: usize = 64;

/// One slot per thread, on the stack.
pub type Pieces<T> = [Option<T>; MAX_THREADS];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_runs_once_on_its_own_thread() {
        let team = Team::new(3);
        for round in 0..200 {
            let hits: Vec<AtomicUsize> = (0..3).map(|_| AtomicUsize::new(0)).collect();
            let tasks = 1 + round % 3;
            team.run(tasks, &|i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
            let counts: Vec<usize> = hits.iter().map(|h| h.load(Ordering::Relaxed)).collect();
            let expected: Vec<usize> = (0..3).map(|i| usize::from(i < tasks)).collect();
            assert_eq!(counts, expected);
        }
        // Parked helpers wake up for new work.
        std::thread::sleep(Duration::from_millis(20));
        assert_every_thread_runs_its_task(&team);
    }

    /// A job of one task per thread runs task `i` once each: `Σ (i + 1)` over the tasks.
    fn assert_every_thread_runs_its_task(team: &Team) {
        let sum = AtomicUsize::new(0);
        team.run(team.threads(), &|i| {
            sum.fetch_add(i + 1, Ordering::Relaxed);
        });
        let n = team.threads();
        assert_eq!(sum.load(Ordering::Relaxed), n * (n + 1) / 2);
    }

    #[test]
    fn overlap_runs_both_sides_once_and_work_in_the_foreground_waits_for_the_background() {
        for threads in [1, 2, 3] {
            let team = Team::new(threads);
            for round in 0..100 {
                let background_done = AtomicBool::new(false);
                let mut listed = Vec::new();
                let result = team.overlap(
                    || {
                        // Slow enough that the foreground reaches its parallel work first.
                        std::thread::sleep(Duration::from_micros(if round % 10 == 0 { 500 } else { 0 }));
                        listed.extend(0..10);
                        background_done.store(true, Ordering::Release);
                    },
                    || {
                        // Work handed to the team sees the background finished.
                        let seen: Vec<AtomicBool> = (0..threads).map(|_| AtomicBool::new(false)).collect();
                        team.run(threads, &|i| seen[i].store(background_done.load(Ordering::Acquire), Ordering::Relaxed));
                        assert!(seen.iter().all(|s| s.load(Ordering::Relaxed)), "{threads} threads, round {round}");
                        round * 2
                    },
                );
                assert_eq!(result, round * 2);
                assert_eq!(listed, (0..10).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn overlap_without_work_in_the_foreground_still_waits_for_the_background() {
        let team = Team::new(2);
        let mut out = 0;
        team.overlap(
            || {
                std::thread::sleep(Duration::from_millis(5));
                out = 7;
            },
            || (),
        );
        assert_eq!(out, 7);
        // And the team takes new work afterwards.
        assert_every_thread_runs_its_task(&team);
    }

    #[test]
    fn a_panic_on_either_side_of_an_overlap_reaches_the_caller_and_the_team_goes_on() {
        let team = Team::new(2);
        let background =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| team.overlap(|| panic!("in the background"), || 1)));
        assert!(background.is_err());
        let foreground = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            team.overlap(|| std::thread::sleep(Duration::from_millis(2)), || -> usize { panic!("in the foreground") })
        }));
        assert!(foreground.is_err());
        assert_every_thread_runs_its_task(&team);
    }

    #[test]
    fn ranges_cover_everything_once() {
        let seen: Vec<AtomicUsize> = (0..1000).map(|_| AtomicUsize::new(0)).collect();
        for_each_range(1000, 16, &|r| {
            assert_eq!(r.start % 16, 0);
            for i in r {
                seen[i].fetch_add(1, Ordering::Relaxed);
            }
        });
        assert!(seen.iter().all(|s| s.load(Ordering::Relaxed) == 1));
    }
}
