//! Parallel work handed over in input order with a bounded number of results waiting: the
//! batch command writes forecasts as they are made, so its memory does not grow with the
//! number of series, and no thread idles at a chunk's slowest series.

use std::{
    collections::BTreeMap,
    panic::{self, AssertUnwindSafe},
    sync::{
        Condvar, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
};

struct State<T, S, E> {
    /// The index whose result the sink takes next.
    due: usize,
    ready: BTreeMap<usize, T>,
    sink: S,
    error: Option<E>,
    /// Set on the sink's first error or a panic of `compute`: every thread stops.
    stop: bool,
}

fn lock<X>(m: &Mutex<X>) -> MutexGuard<'_, X> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Computes `compute(i)` for every `i` in `0..n` on `threads` threads, each taking the next
/// index when it is free, and hands each result to `sink` in index order as soon as every
/// earlier one has been handed over. A thread does not start index `i` while `i` is `window`
/// or more past the next result due, so at most `window` results (being computed or waiting
/// for the sink) exist at once whatever `n` is. The sink's first error stops the work and is returned; a panic of
/// `compute` stops it and is resumed.
pub(crate) fn in_order<T: Send, E: Send>(
    n: usize,
    threads: usize,
    window: usize,
    compute: impl Fn(usize) -> T + Sync,
    sink: impl FnMut(usize, T) -> Result<(), E> + Send,
) -> Result<(), E> {
    let window = window.max(1);
    let next = AtomicUsize::new(0);
    let state = Mutex::new(State {
        due: 0,
        ready: BTreeMap::new(),
        sink,
        error: None,
        stop: false,
    });
    let moved = Condvar::new();
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return;
                    }
                    {
                        // The thread holding `due` never waits here, so this always ends.
                        let mut st = lock(&state);
                        while i >= st.due + window && !st.stop {
                            st = moved.wait(st).unwrap_or_else(PoisonError::into_inner);
                        }
                        if st.stop {
                            return;
                        }
                    }
                    let out = match panic::catch_unwind(AssertUnwindSafe(|| compute(i))) {
                        Ok(out) => out,
                        Err(payload) => {
                            lock(&state).stop = true;
                            moved.notify_all();
                            panic::resume_unwind(payload);
                        }
                    };
                    let mut st = lock(&state);
                    st.ready.insert(i, out);
                    while !st.stop {
                        let due = st.due;
                        let Some(v) = st.ready.remove(&due) else {
                            break;
                        };
                        if let Err(e) = (st.sink)(due, v) {
                            st.error = Some(e);
                            st.stop = true;
                        } else {
                            st.due += 1;
                        }
                    }
                    drop(st);
                    moved.notify_all();
                }
            });
        }
    });
    match state
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .error
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::atomic::{AtomicUsize, Ordering},
        time::Duration,
    };

    use super::in_order;

    #[test]
    fn results_arrive_in_order_with_a_bounded_number_waiting() {
        let live = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let mut seen = Vec::new();
        in_order(
            200,
            4,
            3,
            |i| {
                // Uneven costs: early indices are slow, so later ones would pile up.
                let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_micros(if i % 17 == 0 { 3_000 } else { 50 }));
                i * 2
            },
            |i, v| {
                live.fetch_sub(1, Ordering::SeqCst);
                assert_eq!(v, i * 2);
                seen.push(i);
                Ok::<(), String>(())
            },
        )
        .unwrap();
        assert_eq!(seen, (0..200).collect::<Vec<_>>());
        // Computing or computed and not yet handed over: at most the window.
        assert!(most.load(Ordering::SeqCst) <= 3, "{most:?}");
    }

    #[test]
    fn the_sinks_first_error_stops_the_work() {
        let computed = AtomicUsize::new(0);
        let r = in_order(
            10_000,
            2,
            4,
            |i| {
                computed.fetch_add(1, Ordering::SeqCst);
                i
            },
            |i, _| {
                if i == 10 {
                    Err(format!("disk full at {i}"))
                } else {
                    Ok(())
                }
            },
        );
        assert_eq!(r, Err("disk full at 10".to_owned()));
        assert!(computed.load(Ordering::SeqCst) < 100, "{computed:?}");
    }

    #[test]
    fn a_panic_stops_the_others_and_reaches_the_caller() {
        let r = std::panic::catch_unwind(|| {
            in_order(
                1_000,
                3,
                2,
                |i| {
                    if i == 0 {
                        std::thread::sleep(Duration::from_millis(5));
                        panic!("series 0");
                    }
                    i
                },
                |_, _| Ok::<(), ()>(()),
            )
        });
        assert!(r.is_err(), "the panic reached the caller");
    }
}
