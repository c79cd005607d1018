//! The GeoJSON walk: the package's own filter and projection cases, then what corekv adds.

use serde_json::{Value, json};

use super::*;

const B: BBox = BBox {
    left: 1.0,
    bottom: 2.0,
    right: 3.0,
    top: 4.0,
};

fn feature(ty: &str, coordinates: Value) -> Value {
    json!({"type": "Feature", "properties": {}, "geometry": {"type": ty, "coordinates": coordinates}})
}

fn collection(features: Vec<Value>) -> Value {
    json!({"type": "FeatureCollection", "properties": {}, "features": features})
}

fn passes(v: &Value) -> bool {
    Summary::of(v).passes(&B)
}

#[test]
fn package_bbox_cases() {
    assert!(passes(&feature("Point", json!([2.1, 3.5]))));
    assert!(!passes(&feature("Point", json!([0.1, 3.5]))));
    assert!(passes(&feature(
        "Polygon",
        json!([[[0.1, 3.5], [2.1, 3.4]]])
    )));
    assert!(!passes(&feature(
        "Polygon",
        json!([[[0.1, 3.5], [5.1, 3.4]]])
    )));
    assert!(!passes(&feature(
        "LineString",
        json!([[0.1, 3.5], [5.1, 3.4]])
    )));
    assert!(passes(&feature(
        "LineString",
        json!([[0.1, 3.5], [2.1, 3.4]])
    )));
    assert!(!passes(&feature(
        "MultiLineString",
        json!([[[0.1, 3.5], [5.1, 3.4]]])
    )));
    assert!(passes(&feature(
        "MultiLineString",
        json!([[[0.1, 3.5], [2.1, 3.4]]])
    )));
    assert!(passes(&feature("Unknown", json!([[0.1, 3.5], [2.1, 3.4]]))));
    assert!(passes(&json!("PONG")));
}

#[test]
fn package_collection_cases() {
    let outside = collection(vec![
        feature("LineString", json!([[0, 0.5], [0.1, 0.7]])),
        feature("Polygon", json!([[[5, 6], [7, 8]]])),
    ]);
    assert!(!passes(&outside));
    let one_inside = collection(vec![
        feature("LineString", json!([[0, 0.5], [0.1, 0.7]])),
        feature("Polygon", json!([[[5, 6], [7, 8]]])),
        feature("Point", json!([1.5, 2.5])),
    ]);
    assert!(passes(&one_inside));
    let unknown_member = collection(vec![
        feature("Point", json!([0.1, 3.5])),
        feature("Unknown", json!([[0.1, 3.5], [2.1, 3.4]])),
    ]);
    assert!(passes(&unknown_member), "a part that is not GeoJSON passes");
}

#[test]
fn every_geometry_type() {
    let inside = [2.5, 3.5];
    let outside = [9.0, 9.0];
    let cases = |p: [f64; 2]| {
        vec![
            ("Point", json!(p)),
            ("MultiPoint", json!([outside, p])),
            ("LineString", json!([outside, p])),
            ("MultiLineString", json!([[outside], [outside, p]])),
            ("Polygon", json!([[outside, outside], [p, outside]])),
            ("MultiPolygon", json!([[[outside]], [[outside, p]]])),
        ]
    };
    for (ty, coords) in cases(inside) {
        assert!(passes(&feature(ty, coords.clone())), "{ty} feature inside");
        let bare = json!({"type": ty, "coordinates": coords});
        assert!(passes(&bare), "bare {ty} inside");
    }
    for (ty, coords) in cases(outside) {
        assert!(
            !passes(&feature(ty, coords.clone())),
            "{ty} feature outside"
        );
        let bare = json!({"type": ty, "coordinates": coords});
        assert!(!passes(&bare), "bare {ty} outside");
    }
    let gc = |p: [f64; 2]| {
        json!({"type": "GeometryCollection", "geometries": [
            {"type": "Point", "coordinates": outside},
            {"type": "LineString", "coordinates": [outside, p]}]})
    };
    assert!(passes(&gc(inside)));
    assert!(!passes(&gc(outside)));
    let in_feature = json!({"type": "Feature", "geometry": gc(outside), "properties": null});
    assert!(!passes(&in_feature));
    let nested = collection(vec![collection(vec![feature("Point", json!(inside))])]);
    assert!(passes(&nested));
}

#[test]
fn empty_and_malformed() {
    assert!(!passes(&collection(vec![])), "any([]) is false");
    assert!(!passes(&feature("LineString", json!([]))));
    assert!(!passes(&feature("MultiPolygon", json!([]))));
    // Not GeoJSON: passes.
    for v in [
        json!({"type": "Feature", "geometry": null, "properties": {}}),
        json!({"type": "Feature"}),
        json!({"type": "FeatureCollection"}),
        json!({"type": "FeatureCollection", "features": {"a": 1}}),
        feature("Point", json!([1])),
        feature("Point", json!(["2.5", 3.5])),
        feature("LineString", json!([2.5, 3.5])),
        json!({"type": "GeometryCollection"}),
        json!([1, 2, 3]),
        json!(null),
    ] {
        assert!(passes(&v), "{v}");
    }
    // A malformed member of a collection makes the collection pass (as an unknown one does).
    let mixed = collection(vec![
        feature("Point", json!([9, 9])),
        feature("Point", json!([])),
    ]);
    assert!(passes(&mixed));
    // Altitudes are carried along and ignored.
    assert!(passes(&feature("Point", json!([2.5, 3.5, 100.0]))));
}

#[test]
fn nan_box_passes_nothing_geographic() {
    let nan = BBox {
        left: f64::NAN,
        ..B
    };
    assert!(!Summary::of(&feature("Point", json!([2.5, 3.5]))).passes(&nan));
    assert!(Summary::of(&json!({"a": 1})).passes(&nan));
}

/// The package's projection test values (epsg:3857 through pyproj), to its 1e-9.
const P1: (f64, f64) = (11131.949079326665, 389860.7582541955);
const P2: (f64, f64) = (233770.93066587413, 378708.59661392024);

fn near(v: &Value, p: (f64, f64)) -> bool {
    let a = v.as_array().expect("a position");
    let (x, y) = (a[0].as_f64().expect("x"), a[1].as_f64().expect("y"));
    (x - p.0).abs() < 1e-9 && (y - p.1).abs() < 1e-9
}

fn projected(mut v: Value) -> Value {
    project(&mut v, Epsg(3857)).expect("projectable");
    v
}

#[test]
fn package_projection_cases() {
    let line = projected(feature("LineString", json!([[0.1, 3.5], [2.1, 3.4]])));
    let c = &line["geometry"]["coordinates"];
    assert!(near(&c[0], P1) && near(&c[1], P2), "{c}");
    let point = projected(feature("Point", json!([0.1, 3.5])));
    assert!(near(&point["geometry"]["coordinates"], P1));
    let multi = projected(feature(
        "MultiLineString",
        json!([[[0.1, 3.5], [2.1, 3.4]], [[2.1, 3.4], [0.1, 3.5]]]),
    ));
    let c = &multi["geometry"]["coordinates"];
    assert!(near(&c[0][0], P1) && near(&c[1][0], P2) && near(&c[1][1], P1));
    let mpoly = projected(feature(
        "MultiPolygon",
        json!([
            [[[0.1, 3.5], [2.1, 3.4]], [[2.1, 3.4], [2.1, 3.4]]],
            [[[0.1, 3.5], [2.1, 3.4]]]
        ]),
    ));
    let c = &mpoly["geometry"]["coordinates"];
    assert!(near(&c[0][0][0], P1) && near(&c[0][1][1], P2) && near(&c[1][0][1], P2));
    let unknown = feature("Unknown", json!([[0.1, 3.5], [2.1, 3.4]]));
    assert_eq!(projected(unknown.clone()), unknown);
    let fc = projected(collection(vec![
        feature("Point", json!([0.1, 3.5])),
        unknown.clone(),
    ]));
    assert!(near(&fc["features"][0]["geometry"]["coordinates"], P1));
    assert_eq!(fc["features"][1], unknown);
    // Everything else in the message is kept, in order.
    let keys: Vec<&String> = fc.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["type", "properties", "features"]);
}

#[test]
fn projection_extras() {
    let bare = projected(json!({"type": "Point", "coordinates": [0.1, 3.5, 42]}));
    assert!(near(&bare["coordinates"], P1));
    assert_eq!(bare["coordinates"][2], json!(42), "altitude kept");
    let gc = projected(json!({"type": "GeometryCollection", "geometries": [
        {"type": "Point", "coordinates": [0.1, 3.5]},
        {"type": "LineString", "coordinates": [[2.1, 3.4]]}]}));
    assert!(near(&gc["geometries"][0]["coordinates"], P1));
    assert!(near(&gc["geometries"][1]["coordinates"][0], P2));
    // A malformed geometry stays exactly as it was, even its valid part.
    let bad = feature("LineString", json!([[0.1, 3.5], ["x", 3.4]]));
    assert_eq!(projected(bad.clone()), bad);
    // A vertex with no image fails the message.
    let mut past_pole = feature("Point", json!([0.0, 91.0]));
    assert_eq!(
        project(&mut past_pole, Epsg(3857)),
        Err(Unprojectable {
            lon: 0.0,
            lat: 91.0
        })
    );
}
