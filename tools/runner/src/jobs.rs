//! Running independent boots side by side.
//!
//! Most of `make test`'s time is QEMU booting a kernel and waiting for it;
//! each QEMU keeps about one core busy. Boots that do not depend on each
//! other (the test kernel at each RAM size, each isolated test, each e2e
//! script) therefore run on as many threads as the machine has cores.
//! Each job writes into a [`Summary::held`] of its own, and the jobs'
//! summaries are absorbed in job order, as each becomes next: the output
//! reads exactly as if the jobs had run one after the other.
//!
//! `STRATA_JOBS=1` runs them one at a time (say, to watch a single boot).

use std::collections::BTreeMap;
use std::env;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;

use crate::summary::Summary;

/// One piece of work: it reports into the summary it is given.
pub type Job<'a, T> = Box<dyn FnOnce(&mut Summary) -> T + Send + 'a>;

/// How many jobs run at once: `STRATA_JOBS`, else the number of cores.
pub fn workers() -> usize {
    env::var("STRATA_JOBS")
        .ok()
        .and_then(|text| text.parse().ok())
        .filter(|&count| count > 0)
        .unwrap_or_else(|| thread::available_parallelism().map_or(1, |count| count.get()))
}

/// Runs `jobs`, [`workers`] at a time, and absorbs each one's summary into
/// `summary` in job order. Returns their results, in job order.
pub fn run_in_order<T: Send>(jobs: Vec<Job<'_, T>>, summary: &mut Summary) -> Vec<T> {
    let count = jobs.len();
    let workers = workers().min(count).max(1);
    // Each job sits in a slot a worker takes it from; `next` hands out the
    // slots in order, so the early jobs finish (and print) first.
    let slots: Vec<std::sync::Mutex<Option<Job<'_, T>>>> = jobs
        .into_iter()
        .map(|job| std::sync::Mutex::new(Some(job)))
        .collect();
    let next = AtomicUsize::new(0);
    let (done, finished) = mpsc::channel::<(usize, Summary, T)>();
    let mut results: Vec<Option<T>> = (0..count).map(|_| None).collect();
    thread::scope(|scope| {
        for _ in 0..workers {
            let done = done.clone();
            let (slots, next) = (&slots, &next);
            scope.spawn(move || loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(slot) = slots.get(index) else {
                    return;
                };
                let job = slot
                    .lock()
                    .expect("no job panics")
                    .take()
                    .expect("taken once");
                let mut report = Summary::held();
                let result = job(&mut report);
                if done.send((index, report, result)).is_err() {
                    return;
                }
            });
        }
        drop(done);
        // Absorb in order: keep early finishers of later jobs until their
        // turn comes.
        let mut waiting = BTreeMap::new();
        let mut turn = 0;
        for (index, report, result) in finished {
            waiting.insert(index, (report, result));
            while let Some((report, result)) = waiting.remove(&turn) {
                summary.absorb(report);
                results[turn] = Some(result);
                turn += 1;
            }
        }
    });
    results
        .into_iter()
        .map(|result| result.expect("every job ran"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn results_and_output_come_back_in_job_order() {
        // Later jobs finish first; the output must not show it.
        let jobs: Vec<Job<'_, usize>> = (0..6)
            .map(|index| -> Job<'_, usize> {
                Box::new(move |summary: &mut Summary| {
                    thread::sleep(Duration::from_millis(10 * (6 - index) as u64));
                    summary.pass(&format!("job{index}"));
                    index * 10
                })
            })
            .collect();
        let mut summary = Summary::held();
        let results = run_in_order(jobs, &mut summary);
        assert_eq!(results, [0, 10, 20, 30, 40, 50]);
        assert_eq!(
            summary.final_report(),
            "\n6 passed, 0 failed\n",
            "every job's result was counted"
        );
        let mut expected = Summary::held();
        for index in 0..6 {
            expected.pass(&format!("job{index}"));
        }
        assert_eq!(format!("{summary:?}"), format!("{expected:?}"));
    }

    #[test]
    fn no_jobs_is_nothing_to_do() {
        let mut summary = Summary::held();
        assert!(run_in_order::<()>(Vec::new(), &mut summary).is_empty());
        assert_eq!(summary.final_report(), "\n0 passed, 0 failed\n");
    }
}
