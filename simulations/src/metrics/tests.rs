use super::Percentiles;

#[test]
fn nearest_rank_percentiles() {
    let v: Vec<u64> = (1..=100).collect();
    let p = Percentiles::of(&v);
    assert_eq!(
        (p.count, p.p50, p.p90, p.p99, p.max),
        (100, 50, 90, 99, 100)
    );
    let p = Percentiles::of(&[7]);
    assert_eq!((p.p50, p.p99, p.max), (7, 7, 7));
    assert_eq!(Percentiles::of(&[]), Percentiles::default());
}
