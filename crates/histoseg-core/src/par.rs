//! Order-preserving parallel map over the native cores, sequential on wasm (no threads in the
//! browser without cross-origin isolation). Callers keep results independent of the thread
//! count, so native and browser runs agree.
//!
//! Written on `std::thread::scope` rather than taking rayon: the core also builds for
//! wasm32, and the few call sites only need a map over a short list of jobs.

/// `items.iter().map(f).collect()`, the work spread over the available cores.
pub(crate) fn map<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    let threads = threads().min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    map_threads(items, &f, threads)
}

#[cfg(not(target_family = "wasm"))]
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(target_family = "wasm")]
fn threads() -> usize {
    1
}

#[cfg(not(target_family = "wasm"))]
fn map_threads<T: Sync, U: Send>(items: &[T], f: &(impl Fn(&T) -> U + Sync), n: usize) -> Vec<U> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return done;
            };
            done.push((i, f(item)));
        }
    };
    let mut all: Vec<(usize, U)> = std::thread::scope(|s| {
        let helpers: Vec<_> = (1..n).map(|_| s.spawn(work)).collect();
        let mut all = work();
        for h in helpers {
            // A panic in `f` is re-raised here, as the sequential map would raise it.
            all.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        all
    });
    all.sort_unstable_by_key(|&(i, _)| i);
    all.into_iter().map(|(_, u)| u).collect()
}

#[cfg(target_family = "wasm")]
fn map_threads<T: Sync, U: Send>(items: &[T], f: &(impl Fn(&T) -> U + Sync), _: usize) -> Vec<U> {
    items.iter().map(f).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order() {
        let items: Vec<u32> = (0..100).collect();
        assert_eq!(
            super::map(&items, |&i| i * 2),
            (0..100).map(|i| i * 2).collect::<Vec<_>>()
        );
    }
}
