//! The per-message cache: work once per distinct projection and box, the same bytes for the
//! same view, and the same result as running each subscriber's chain on its own.

use serde_json::json;

use super::*;

fn point(x: f64, y: f64) -> Value {
    json!({"type": "Feature", "properties": {"id": 1},
        "geometry": {"type": "Point", "coordinates": [x, y]}})
}

fn view(bbox: Option<[f64; 4]>, projection: Option<u16>, projection_first: bool) -> View {
    let mut v = View::default();
    let b = bbox.map(|[left, bottom, right, top]| BBox {
        left,
        bottom,
        right,
        top,
    });
    let p = projection.map(Epsg);
    if projection_first {
        v.set_projection(p);
        if let Some(b) = b {
            v.set_bbox(b);
        }
    } else {
        if let Some(b) = b {
            v.set_bbox(b);
        }
        v.set_projection(p);
    }
    v
}

fn content(frame: &Bytes) -> (String, Value) {
    let v: Value = serde_json::from_slice(frame).expect("an envelope is JSON");
    (
        v["source"].as_str().expect("source").to_string(),
        v["content"].clone(),
    )
}

#[test]
fn one_piece_of_work_per_distinct_view() {
    let mut d = Delivery::new("ch", point(7.85, 47.99), 1.0);
    let v = view(Some([0.0, 0.0, 1.5e6, 7e6]), Some(3857), true);
    let first = d.frame_for(&v).expect("inside");
    for _ in 0..1000 {
        let f = d.frame_for(&v).expect("inside");
        assert_eq!(f.as_ptr(), first.as_ptr(), "the same bytes are shared");
    }
    assert_eq!((d.projections, d.summaries, d.envelopes), (1, 1, 1));
    // A thousand distinct boxes over the same projection: one vertex list, one envelope.
    for i in 0..1000 {
        let b = [f64::from(i), 0.0, 1.5e6, 7e6];
        let _ = d.frame_for(&view(Some(b), Some(3857), true));
    }
    assert_eq!((d.projections, d.summaries, d.envelopes), (1, 1, 1));
    // Unfiltered and box-first subscribers add the original's envelope and vertex list.
    let plain = d.frame_for(&View::default()).expect("unfiltered");
    let _ = d.frame_for(&view(Some([7.0, 47.0, 8.0, 48.0]), None, false));
    assert_eq!((d.projections, d.summaries, d.envelopes), (1, 2, 2));
    assert_eq!(content(&plain), ("ch".to_string(), point(7.85, 47.99)));
}

#[test]
fn same_result_as_each_chain_alone() {
    let messages = [
        point(7.85, 47.99),
        point(20.0, 10.0),
        json!({"some_json": "no GeoJSON"}),
        json!({"type": "FeatureCollection", "features": []}),
        json!({"type": "LineString", "coordinates": [[0.5, 0.5], [7.85, 47.99]]}),
    ];
    let views = [
        View::default(),
        view(Some([7.0, 47.0, 8.0, 48.0]), None, false),
        view(None, Some(3857), false),
        view(Some([7.0, 47.0, 8.0, 48.0]), Some(3857), false),
        view(Some([0.0, 0.0, 1.5e6, 7e6]), Some(3857), true),
        view(Some([0.0, 0.0, 1.5e6, 7e6]), Some(32632), true),
        view(Some([400000.0, 5e6, 500000.0, 6e6]), Some(32632), true),
    ];
    for m in &messages {
        let mut d = Delivery::new("ch", m.clone(), 1.0);
        for v in &views {
            let cached = d.frame_for(v).map(|f| content(&f).1);
            let (passed, alone) = v.apply(m.clone()).expect("projectable");
            assert_eq!(cached, passed.then_some(alone), "{m} with {v:?}");
        }
    }
}

#[test]
fn unprojectable_message_becomes_an_error() {
    let mut d = Delivery::new("ch", point(0.0, 91.0), 1.0);
    let f = d
        .frame_for(&view(None, Some(3857), false))
        .expect("an error");
    let (source, c) = content(&f);
    assert_eq!(source, "error");
    assert_eq!(c["channel"], "ch");
    assert!(
        c["error"].as_str().expect("text").contains("epsg:3857"),
        "{c}"
    );
    // The box that needs projected coordinates cannot be tested: the error again.
    let f = d.frame_for(&view(Some([0.0, 0.0, 1.0, 1.0]), Some(3857), true));
    assert_eq!(content(&f.expect("an error")).0, "error");
    // Box first, in degrees: filtered out before any projection is needed.
    let none = d.frame_for(&view(Some([1.0, 1.0, 2.0, 2.0]), Some(3857), false));
    assert!(none.is_none());
}
