//! The geo commands of the `/rwa` dialect: BBOX on every geometry type, PROJECTION accuracy
//! (EPSG:3857 and a proj4rs CRS), the order the package runs them in, GET and PGET.

mod common;

use common::rwa::{Rwa, feature};
use common::{Raw, Server};
use serde_json::{Value, json};

const ALL: &[&str] = &["--rwa-allow-channels", "*"];

/// Publishes every payload on `ch`, then checks that exactly the expected ones arrived, in
/// order, and nothing else.
fn expect_delivered(raw: &mut Raw, c: &mut Rwa, ch: &str, cases: &[(String, bool)]) {
    for (payload, _) in cases {
        raw.q(&["PUBLISH", ch, payload]);
    }
    for (payload, delivered) in cases {
        if *delivered {
            let m = c.recv();
            let sent: Value = serde_json::from_str(payload).expect("valid");
            assert_eq!(m["content"], sent, "expected {payload}");
            assert_eq!(m["source"], ch);
        }
    }
    c.sync();
}

fn gc(coords: [[f64; 2]; 2]) -> String {
    json!({"type": "GeometryCollection", "geometries": [
        {"type": "Point", "coordinates": coords[0]},
        {"type": "LineString", "coordinates": [coords[0], coords[1]]}]})
    .to_string()
}

#[test]
fn bbox_on_every_geometry_type() {
    let s = Server::start(2, ALL);
    let mut raw = s.raw();
    let mut c = Rwa::connect(s.ws_port);
    c.send("SUB geo");
    c.send("BBOX 1 2 3 4");
    c.sync();
    let (i, o) = ([2.5, 3.5], [9.0, 9.0]);
    let bare = |ty: &str, coords: Value| json!({"type": ty, "coordinates": coords}).to_string();
    let cases = vec![
        (feature("Point", json!(i)), true),
        (feature("Point", json!(o)), false),
        // Strictly inside: the edges and corners are outside.
        (feature("Point", json!([1.0, 3.0])), false),
        (feature("Point", json!([2.0, 4.0])), false),
        (feature("Point", json!([3.0, 4.0])), false),
        (feature("Point", json!([1.000001, 3.999999])), true),
        (feature("LineString", json!([o, i])), true),
        // A segment across the box without a vertex in it does not count.
        (
            feature("LineString", json!([[0.0, 3.0], [4.0, 3.0]])),
            false,
        ),
        (feature("Polygon", json!([[o, o], [o, i]])), true),
        (
            feature("Polygon", json!([[[0, 0], [5, 0], [5, 5], [0, 5], [0, 0]]])),
            false,
        ),
        (feature("MultiPoint", json!([o, i])), true),
        (feature("MultiPoint", json!([o, o])), false),
        (feature("MultiLineString", json!([[o], [o, i]])), true),
        (feature("MultiLineString", json!([[o], [o, o]])), false),
        (feature("MultiPolygon", json!([[[o]], [[o, i]]])), true),
        (feature("MultiPolygon", json!([[[o]], [[o, o]]])), false),
        (bare("Point", json!(i)), true),
        (bare("Point", json!(o)), false),
        (bare("MultiPolygon", json!([[[o, i]]])), true),
        (gc([o, i]), true),
        (gc([o, o]), false),
        (
            json!({"type": "FeatureCollection", "features": [
            serde_json::from_str::<Value>(&feature("Point", json!(o))).expect("json"),
            serde_json::from_str::<Value>(&feature("Point", json!(i))).expect("json")]})
            .to_string(),
            true,
        ),
        (
            json!({"type": "FeatureCollection", "features": [
            serde_json::from_str::<Value>(&feature("Point", json!(o))).expect("json")]})
            .to_string(),
            false,
        ),
        (
            json!({"type": "FeatureCollection", "features": []}).to_string(),
            false,
        ),
        // Not GeoJSON: passes.
        (feature("Unknown", json!([o])), true),
        (
            json!({"type": "Feature", "geometry": null, "properties": {}}).to_string(),
            true,
        ),
        (json!({"some_json": "no GeoJSON"}).to_string(), true),
        ("\"PONG\"".to_string(), true),
        ("12.5".to_string(), true),
        (feature("Point", json!([2.5, 3.5, 100])), true),
    ];
    expect_delivered(&mut raw, &mut c, "geo", &cases);
    // Bare BBOX clears the filter; a re-set box replaces the old one.
    c.send("BBOX");
    let everything: Vec<(String, bool)> = cases.iter().map(|(p, _)| (p.clone(), true)).collect();
    expect_delivered(&mut raw, &mut c, "geo", &everything);
    c.send("BBOX 8 8 10 10");
    c.send("BBOX -1e3 -inf 1_000 inf");
    c.sync();
    let wide = vec![
        (feature("Point", json!([-999.0, -1e300])), true),
        (feature("Point", json!([1000.0, 0])), false),
    ];
    expect_delivered(&mut raw, &mut c, "geo", &wide);
}

fn coords_of(m: &Value) -> Vec<f64> {
    m["content"]["geometry"]["coordinates"]
        .as_array()
        .unwrap_or_else(|| panic!("a position in {m}"))
        .iter()
        .map(|n| n.as_f64().expect("a number"))
        .collect()
}

#[test]
fn projection_web_mercator_accuracy() {
    let s = Server::start(1, ALL);
    let mut raw = s.raw();
    let mut c = Rwa::connect(s.ws_port);
    c.send("SUB geo");
    c.send("PROJECTION epsg:3857");
    c.sync();
    // Known EPSG:3857 coordinates (pyproj 3.7.2 / PROJ 9.5.1 where not exact by definition).
    for (lon, lat, x, y) in [
        (0.0, 0.0, 0.0, 0.0),
        (180.0, 0.0, 20037508.342789244, 0.0),
        (-180.0, 0.0, -20037508.342789244, 0.0),
        (0.0, 85.0511287798, 0.0, 20037508.342780728),
        (0.0, -85.0511287798, 0.0, -20037508.342780728),
        (
            7.8486934304237375,
            47.9914151679489,
            873712.556067282,
            6105426.743535525,
        ),
        (0.1, 3.5, 11131.949079327358, 389860.7582541958),
    ] {
        raw.q(&["PUBLISH", "geo", &feature("Point", json!([lon, lat, 7]))]);
        let m = c.recv();
        let p = coords_of(&m);
        assert!(
            (p[0] - x).abs() < 1e-6 && (p[1] - y).abs() < 1e-6,
            "({lon}, {lat}) -> {p:?}"
        );
        assert_eq!(p[2], 7.0, "altitude kept");
        assert_eq!(
            m["content"]["properties"],
            json!({"id": 1}),
            "the rest untouched"
        );
    }
    // Collections and other types are projected throughout; other JSON is untouched.
    let fc = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": [[0.1, 3.5], [0.0, 0.0]]}}]});
    raw.q(&["PUBLISH", "geo", &fc.to_string()]);
    let line = &c.recv()["content"]["features"][0]["geometry"]["coordinates"];
    assert!(
        (line[0][1].as_f64().expect("y") - 389860.7582541958).abs() < 1e-6,
        "{line}"
    );
    raw.q(&["PUBLISH", "geo", "{\"x\": [1, 2]}"]);
    assert_eq!(c.recv()["content"], json!({"x": [1, 2]}));
    // A vertex with no image: an error envelope instead of that message.
    raw.q(&["PUBLISH", "geo", &feature("Point", json!([0, 91]))]);
    let e = c.recv_error();
    assert_eq!(e["channel"], "geo");
    // An unknown CRS is an error and leaves the projection as it was.
    for bad in [
        "PROJECTION epsg:99999",
        "PROJECTION egg",
        "PROJECTION epsg:1",
    ] {
        c.send(bad);
        let e = c.recv_error();
        assert_eq!(e["request"], bad);
        assert!(e["error"].as_str().expect("text").contains("CRS"), "{e}");
    }
    raw.q(&["PUBLISH", "geo", &feature("Point", json!([180, 0]))]);
    assert_eq!(coords_of(&c.recv())[0], 20037508.342789244);
    // Another CRS through proj4rs: UTM zone 32N.
    c.send("PROJECTION EPSG:32632");
    c.sync();
    raw.q(&[
        "PUBLISH",
        "geo",
        &feature("Point", json!([7.8486934304237375, 47.9914151679489])),
    ]);
    let p = coords_of(&c.recv());
    assert!(
        (p[0] - 414104.05445195705).abs() < 1e-6 && (p[1] - 5315987.345638905).abs() < 1e-6,
        "{p:?}"
    );
    // epsg:4326 clears it.
    c.send("PROJECTION epsg:4326");
    c.sync();
    raw.q(&["PUBLISH", "geo", &feature("Point", json!([0.1, 3.5]))]);
    assert_eq!(coords_of(&c.recv()), vec![0.1, 3.5]);
}

#[test]
fn box_sees_coordinates_in_the_order_filters_were_set() {
    let s = Server::start(2, ALL);
    let mut raw = s.raw();
    // The package's demo page: PROJECTION first, then a box in metres.
    let mut demo = Rwa::connect(s.ws_port);
    for line in [
        "PROJECTION epsg:3857",
        "BBOX 0 0 1500000 7000000",
        "SUB geo",
    ] {
        demo.send(line);
    }
    demo.sync();
    // BBOX first: the box is in degrees, the output in metres.
    let mut degrees = Rwa::connect(s.ws_port);
    for line in ["BBOX 7 47 8 48", "PROJECTION epsg:3857", "SUB geo"] {
        degrees.send(line);
    }
    degrees.sync();
    raw.q(&["PUBLISH", "geo", &feature("Point", json!([7.85, 47.99]))]);
    raw.q(&["PUBLISH", "geo", &feature("Point", json!([20.0, 47.99]))]);
    raw.q(&["PUBLISH", "geo", &feature("Point", json!([1.0, 1.0]))]);
    let a = coords_of(&demo.recv());
    assert!((a[0] - 873830.0).abs() < 1000.0, "projected: {a:?}");
    assert!((coords_of(&demo.recv())[0] - 111319.49).abs() < 0.01);
    demo.sync();
    assert_eq!(coords_of(&degrees.recv()), a, "same point, same projection");
    degrees.sync();
    // Clearing the box and setting it again puts it after the projection.
    degrees.send("BBOX");
    degrees.send("BBOX 7 47 8 48");
    degrees.sync();
    raw.q(&["PUBLISH", "geo", &feature("Point", json!([7.85, 47.99]))]);
    degrees.sync();
}

#[test]
fn get_applies_the_filters_and_pget_its_own_projection() {
    let s = Server::start(2, ALL);
    let mut raw = s.raw();
    let key = common::key_on_shard("places", 1, 2);
    let inside = feature("Point", json!([7.85, 47.99]));
    let outside = feature("Point", json!([20.0, 10.0]));
    raw.q(&[
        "HSET",
        &key,
        "in",
        &inside,
        "out",
        &outside,
        "plain",
        "{\"a\": 1}",
    ]);
    let mut c = Rwa::connect(s.ws_port);
    c.send("BBOX 7 47 8 48");
    c.send("PROJECTION epsg:3857");
    c.send(&format!("GET {key} client_ref=g"));
    // (HVALS order is the hash's: values this long make it a hashtable.)
    let mut got = [c.recv(), c.recv()];
    got.sort_by_key(|m| m["content"].get("geometry").is_some());
    assert_eq!(got[0]["content"], json!({"a": 1}), "not GeoJSON: passes");
    assert_eq!(got[1]["client_reference"], "g");
    assert!(
        (coords_of(&got[1])[0] - 873830.0).abs() < 1000.0,
        "{}",
        got[1]
    );
    c.sync();
    // With a field the value is sent whether it passes or not; a box that comes first stops
    // the chain before the projection, as in the package.
    let out = c.call(&format!("GET {key} out"));
    assert_eq!(out["source"], format!("{key} out"));
    assert_eq!(coords_of(&out), vec![20.0, 10.0]);
    // Nothing passes: one null envelope from the key.
    raw.q(&["HSET", "only_geo", "a", &inside, "b", &outside]);
    c.send("BBOX 100 100 101 101");
    let none = c.call("GET only_geo client_ref=n");
    assert_eq!(
        (
            none["source"].as_str(),
            &none["content"],
            none["client_reference"].as_str()
        ),
        (Some("only_geo"), &Value::Null, Some("n"))
    );
    c.sync();
    // PGET: its own projection (4326 by default, whatever PROJECTION says), and the box never
    // hides a value (the package overwrites its verdict).
    c.send(&format!("PGET {key}"));
    let mut got: Vec<Value> = (0..3).map(|_| c.recv()["content"].clone()).collect();
    got.sort_by_key(|v| v.to_string());
    let expected: Vec<Value> = [&inside, &outside, "{\"a\": 1}"]
        .iter()
        .map(|t| serde_json::from_str(t).expect("json"))
        .collect();
    let mut expected = expected;
    expected.sort_by_key(|v| v.to_string());
    assert_eq!(got, expected);
    c.sync();
    let p = c.call(&format!("PGET {key} in cref projection=epsg:3857"));
    assert_eq!(
        (p["source"].as_str(), p["client_reference"].as_str()),
        (Some(format!("{key} in").as_str()), Some("cref"))
    );
    assert!((coords_of(&p)[1] - 6105000.0).abs() < 1000.0, "{p}");
    let missing = c.call(&format!("PGET {key} nope"));
    assert_eq!(missing["content"], Value::Null);
    let e = c.call(&format!("PGET {key} projection=epsg:99999 client_ref=z"));
    assert_eq!(
        (e["source"].as_str(), e["client_reference"].as_str()),
        (Some("error"), Some("z"))
    );
    c.sync();
    raw.q(&["CONFIG", "SET", "rwa-allow-channels", "other*"]);
    assert_eq!(c.call(&format!("PGET {key}"))["source"], "error");
    c.sync();
}

#[test]
fn many_views_on_both_cores() {
    let s = Server::start(2, ALL);
    let mut raw = s.raw();
    let views = [
        vec![],
        vec!["BBOX 7 47 8 48"],
        vec!["BBOX 0 0 1 1"],
        vec!["PROJECTION epsg:3857"],
        vec!["PROJECTION epsg:3857", "BBOX 0 0 1500000 7000000"],
        vec!["PROJECTION epsg:3857", "BBOX 0 0 1 1"],
    ];
    // Two clients per view, so the kernel puts some of each on both cores.
    let mut clients: Vec<(usize, Rwa)> = Vec::new();
    for (v, lines) in views.iter().enumerate() {
        for _ in 0..2 {
            let mut c = Rwa::connect(s.ws_port);
            for l in lines {
                c.send(l);
            }
            c.send("SUB geo");
            c.sync();
            clients.push((v, c));
        }
    }
    assert_eq!(
        raw.q(&["PUBLISH", "geo", &feature("Point", json!([7.85, 47.99]))]),
        common::int(12)
    );
    for (v, c) in clients.iter_mut() {
        match *v {
            0 | 1 => assert_eq!(coords_of(&c.recv()), vec![7.85, 47.99]),
            3 | 4 => assert!((coords_of(&c.recv())[0] - 873830.0).abs() < 1000.0),
            _ => {}
        }
        c.sync();
    }
}
