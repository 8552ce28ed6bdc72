use expect_test::{Expect, expect};

use super::*;

fn check(text: Text, expect: Expect) {
    expect.assert_eq(&text.finish());
}

#[test]
fn counters_gauges_and_labels_follow_the_text_format() {
    let mut t = Text::default();
    t.counter("x_total", "Things.\nTwo lines \\ here.", 3);
    t.gauge("y", "Level.", 7);
    t.labelled(
        "r_total",
        "By reason.",
        "reason",
        [("bad_sig", 2), ("we\"ird\\\n", 1)],
    );
    t.labelled("empty_total", "Declared only.", "reason", []);
    check(
        t,
        expect![[r#"
            # HELP x_total Things.\nTwo lines \\ here.
            # TYPE x_total counter
            x_total 3
            # HELP y Level.
            # TYPE y gauge
            y 7
            # HELP r_total By reason.
            # TYPE r_total counter
            r_total{reason="bad_sig"} 2
            r_total{reason="we\"ird\\\n"} 1
            # HELP empty_total Declared only.
            # TYPE empty_total counter
        "#]],
    );
}

#[test]
fn histograms_are_cumulative_with_an_inf_bucket() {
    static BOUNDS: [f64; 3] = [0.5, 1.0, 10.0];
    let mut h = Histogram::new(&BOUNDS);
    for v in [0.2, 0.5, 3.0, 3.0, 100.0, -4.0, f64::NAN] {
        h.observe(v);
    }
    assert_eq!(h.count(), 7);
    let mut t = Text::default();
    t.histogram("lat_seconds", "Latency.", &h);
    check(
        t,
        expect![[r#"
            # HELP lat_seconds Latency.
            # TYPE lat_seconds histogram
            lat_seconds_bucket{le="0.5"} 4
            lat_seconds_bucket{le="1"} 4
            lat_seconds_bucket{le="10"} 6
            lat_seconds_bucket{le="+Inf"} 7
            lat_seconds_sum 106.7
            lat_seconds_count 7
        "#]],
    );
}
