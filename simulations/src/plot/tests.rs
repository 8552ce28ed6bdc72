use super::{Series, line_chart};

#[test]
fn a_chart_is_deterministic_escaped_svg() {
    let series = [Series {
        name: "a < b".to_owned(),
        points: vec![(0.0, 0.0), (1.0, 2.0), (2.0, 1.0)],
    }];
    let svg = line_chart("t & u", "x", "y", &series);
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains("a &lt; b") && svg.contains("t &amp; u"));
    assert!(svg.contains("<polyline"));
    assert_eq!(svg, line_chart("t & u", "x", "y", &series));
    // No data still draws axes.
    assert!(line_chart("empty", "x", "y", &[]).ends_with("</svg>\n"));
}
