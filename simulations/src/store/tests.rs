use super::*;

#[test]
fn a_full_disk_refuses_every_write_and_keeps_nothing_of_it() {
    let mut s = FaultyStore::new();
    let doc = DocId::from_bytes([1; 32]);
    assert!(s.put_snapshot(&doc, b"a").is_ok());
    s.set_fault(Some(Fault::DiskFull));
    assert_eq!(s.put_snapshot(&doc, b"b"), Err(StoreFault::DiskFull));
    assert_eq!(s.put_statements(&[]), Err(StoreFault::DiskFull));
    let copy = s.clone();
    assert_eq!(
        copy.fault(),
        Some(Fault::DiskFull),
        "a clone is the same disk"
    );
    assert_eq!(
        s.snapshot().fault(),
        None,
        "a snapshot is a copy of the data"
    );
    s.set_fault(None);
    assert!(s.put_changes(&[]).is_ok());
    let loaded = s.load().expect("reads");
    assert_eq!(
        loaded.snapshots.get(&doc).map(Vec::as_slice),
        Some(&b"a"[..])
    );
    assert_eq!(s.failed_writes(), 2);
}

#[test]
fn write_errors_hit_one_write_in_every() {
    let mut s = FaultyStore::new();
    s.set_fault(Some(Fault::WriteError { every: 3 }));
    let results: Vec<bool> = (0..9).map(|_| s.put_statements(&[]).is_ok()).collect();
    assert_eq!(
        results,
        [true, true, false, true, true, false, true, true, false]
    );
}
