use super::EventQueue;

#[test]
fn events_pop_by_time_then_by_scheduling_order() {
    let mut q = EventQueue::new();
    q.schedule(20, "c");
    q.schedule(10, "a");
    q.schedule(10, "b");
    q.schedule(30, "d");
    let mut out = vec![];
    while let Some((t, e)) = q.pop_until(25) {
        out.push((t, e));
    }
    assert_eq!(out, vec![(10, "a"), (10, "b"), (20, "c")]);
    assert_eq!(q.now(), 20);
    assert_eq!(q.len(), 1);
    // Scheduling in the past lands at now.
    q.schedule(5, "e");
    assert_eq!(q.pop_until(100), Some((20, "e")));
}
