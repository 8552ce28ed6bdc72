use super::SimRng;

#[test]
fn the_same_seed_gives_the_same_stream() {
    let a: Vec<u64> = {
        let mut r = SimRng::new(42);
        (0..8).map(|_| r.next_u64()).collect()
    };
    let mut r = SimRng::new(42);
    let b: Vec<u64> = (0..8).map(|_| r.next_u64()).collect();
    assert_eq!(a, b);
    let mut r = SimRng::new(43);
    assert_ne!(a[0], r.next_u64());
}

#[test]
fn draws_stay_in_range() {
    let mut r = SimRng::new(1);
    for _ in 0..10_000 {
        assert!(r.below(7) < 7);
        let x = r.between(10, 20);
        assert!((10..=20).contains(&x));
    }
    assert_eq!(r.below(0), 0);
    assert_eq!(r.index(0), None);
    let s = r.sample(&[1, 2, 3, 4, 5], 3);
    assert_eq!(s.len(), 3);
}
