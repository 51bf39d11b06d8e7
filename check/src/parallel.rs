//! Reviewing documents on several threads: each thread has its own evaluators (one wasm instance per
//! policy) and takes the next documents from a shared counter.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::engine::Check;
use crate::report::Record;

/// What one thread reviewed: each document's position and records.
type Reviewed = Vec<(usize, Vec<Record>)>;

/// Documents a thread takes at a time.
const BATCH: usize = 8;

/// The number of threads worth running: one per core, at most one per [`BATCH`] of documents.
pub fn threads_for(documents: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    cores.min(documents.div_ceil(BATCH)).max(1)
}

/// Reviews every document of `check` on `threads` threads, calling `progress(done, total)` as documents
/// are done. The records come back in input order, as [`Check::run`] gives them.
pub fn run(
    check: &Check<'_>,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<Record>, String> {
    if threads <= 1 {
        return check.run(&mut |done, total| progress(done, total));
    }
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let total = check.len();
    let results: Vec<Result<Reviewed, String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut evaluators = check.evaluators()?;
                    let mut reviewed = Vec::new();
                    loop {
                        let start = next.fetch_add(BATCH, Ordering::Relaxed);
                        if start >= total {
                            return Ok(reviewed);
                        }
                        let end = (start + BATCH).min(total);
                        for position in start..end {
                            reviewed.push((position, check.review(position, &mut evaluators)));
                        }
                        let finished = done.fetch_add(end - start, Ordering::Relaxed) + end - start;
                        progress(finished, total);
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|_| Err("an evaluation thread panicked".to_owned()))
            })
            .collect()
    });
    let mut reviewed = Vec::with_capacity(total);
    for result in results {
        reviewed.extend(result?);
    }
    reviewed.sort_by_key(|(position, _)| *position);
    Ok(reviewed
        .into_iter()
        .flat_map(|(_, records)| records)
        .collect())
}
