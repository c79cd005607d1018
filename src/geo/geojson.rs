//! GeoJSON as the `/rwa` geo commands see it: which vertices a message has (for `BBOX`) and
//! its coordinates rewritten into another CRS (for `PROJECTION`).
//!
//! # What counts as GeoJSON
//! - A `FeatureCollection` is its `features`; nested collections are walked too.
//! - A `Feature` is its `geometry`.
//! - A geometry (`Point`, `LineString`, `Polygon`, `MultiPoint`, `MultiLineString`,
//!   `MultiPolygon`, and `GeometryCollection` with its `geometries`) is its `coordinates`,
//!   whether it stands alone or inside a feature. Positions are `[x, y, ...]`: x and y are
//!   used, anything after them (an altitude) is kept as it is.
//! - Everything else is not GeoJSON: other JSON, a feature without geometry (`null`), an
//!   unknown geometry type, or a geometry whose coordinates are malformed (wrong nesting, a
//!   position that is not two numbers). Such a part passes every filter untouched.
//!
//! The package (redis_websocket_api 0.4.4) handles Point, LineString, Polygon and their Multi
//! forms inside Features and FeatureCollections, and hangs up on a GeometryCollection or a
//! malformed feature; standalone geometries pass it unfiltered. corekv filters and projects
//! all of the above (README "The redis_websocket_api dialect").
//!
//! # The BBOX rule
//! A message passes when at least one of its parts passes: a part that is not GeoJSON, or a
//! geometry with a vertex strictly inside the box. So an empty FeatureCollection, or a
//! LineString without positions, does not pass (the package's `any([])`).

use serde_json::{Map, Number, Value};

use super::BBox;
use super::crs::Epsg;

/// Deepest nesting of features and geometry collections walked; deeper parts count as not
/// GeoJSON. (serde_json stops parsing at 128 levels already.)
const MAX_DEPTH: usize = 64;

/// What a message offers a BBOX filter, taken once and tested against any number of boxes.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    /// Some part is not GeoJSON: the message passes any box.
    pub always: bool,
    /// Every (x, y) of its geometries.
    pub vertices: Vec<[f64; 2]>,
}

impl Summary {
    pub fn of(value: &Value) -> Summary {
        let mut s = Summary::default();
        s.collect(value, 0);
        s
    }

    /// Whether the message passes `bbox` (see the module docs).
    pub fn passes(&self, bbox: &BBox) -> bool {
        self.always || self.vertices.iter().any(|&[x, y]| bbox.contains(x, y))
    }

    fn collect(&mut self, value: &Value, depth: usize) {
        if depth > MAX_DEPTH {
            self.always = true;
            return;
        }
        match kind(value) {
            Kind::Collection(features) => {
                for f in features {
                    self.collect(f, depth + 1);
                }
            }
            Kind::Feature(Some(geometry)) => self.geometry(geometry, depth + 1),
            Kind::Geometry => self.geometry(value, depth + 1),
            Kind::Feature(None) | Kind::Other => self.always = true,
        }
    }

    fn geometry(&mut self, g: &Value, depth: usize) {
        if depth > MAX_DEPTH {
            self.always = true;
            return;
        }
        match geometry(g) {
            Geometry::Collection(members) => {
                for m in members {
                    self.geometry(m, depth + 1);
                }
            }
            Geometry::Coordinates(coords, nesting) => {
                let before = self.vertices.len();
                if !positions(coords, nesting, &mut self.vertices) {
                    self.vertices.truncate(before);
                    self.always = true;
                }
            }
            Geometry::Other => self.always = true,
        }
    }
}

/// A point that has no image in the target CRS (PROJECTION cannot deliver the message).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unprojectable {
    pub lon: f64,
    pub lat: f64,
}

/// Rewrites every geometry's coordinates from EPSG:4326 into `crs`, in place. Parts that are
/// not GeoJSON stay as they are; a vertex without an image fails the whole message.
pub fn project(value: &mut Value, crs: Epsg) -> Result<(), Unprojectable> {
    project_part(value, crs, 0)
}

fn project_part(value: &mut Value, crs: Epsg, depth: usize) -> Result<(), Unprojectable> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let Value::Object(obj) = value else {
        return Ok(());
    };
    let ty = type_of(obj).map(|t| {
        (
            t == "FeatureCollection",
            t == "Feature",
            is_geometry_type(t),
        )
    });
    match ty {
        Some((true, _, _)) => {
            if let Some(Value::Array(features)) = obj.get_mut("features") {
                for f in features {
                    project_part(f, crs, depth + 1)?;
                }
            }
            Ok(())
        }
        Some((_, true, _)) => match obj.get_mut("geometry") {
            Some(g) if g.is_object() => project_geometry(g, crs, depth + 1),
            _ => Ok(()),
        },
        Some((_, _, true)) => project_geometry(value, crs, depth + 1),
        _ => Ok(()),
    }
}

fn project_geometry(g: &mut Value, crs: Epsg, depth: usize) -> Result<(), Unprojectable> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let Value::Object(obj) = g else {
        return Ok(());
    };
    let Some(t) = type_of(obj) else {
        return Ok(());
    };
    if t == "GeometryCollection" {
        if let Some(Value::Array(members)) = obj.get_mut("geometries") {
            for m in members {
                project_geometry(m, crs, depth + 1)?;
            }
        }
        return Ok(());
    }
    let Some(nesting) = nesting_of(t) else {
        return Ok(());
    };
    let Some(coords) = obj.get("coordinates") else {
        return Ok(());
    };
    // Build the new coordinates first: a malformed geometry is left exactly as it was.
    if let Some(projected) = map_positions(coords, nesting, crs)? {
        obj.insert("coordinates".to_string(), projected);
    }
    Ok(())
}

/// `Ok(None)` when `coords` is malformed for its nesting.
fn map_positions(coords: &Value, nesting: u8, crs: Epsg) -> Result<Option<Value>, Unprojectable> {
    if nesting == 0 {
        let Some((x, y, rest)) = position(coords) else {
            return Ok(None);
        };
        let (px, py) = crs.forward(x, y).ok_or(Unprojectable { lon: x, lat: y })?;
        let mut out = Vec::with_capacity(2 + rest.len());
        for n in [px, py] {
            out.push(Value::Number(
                Number::from_f64(n).ok_or(Unprojectable { lon: x, lat: y })?,
            ));
        }
        out.extend(rest.iter().cloned());
        return Ok(Some(Value::Array(out)));
    }
    let Value::Array(items) = coords else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match map_positions(item, nesting - 1, crs)? {
            Some(v) => out.push(v),
            None => return Ok(None),
        }
    }
    Ok(Some(Value::Array(out)))
}

/// What a JSON value is, for the walk.
enum Kind<'a> {
    Collection(&'a [Value]),
    /// A feature and its geometry object (`None`: `null`, missing or not an object).
    Feature(Option<&'a Value>),
    Geometry,
    Other,
}

fn kind(value: &Value) -> Kind<'_> {
    let Some(obj) = value.as_object() else {
        return Kind::Other;
    };
    match type_of(obj) {
        Some("FeatureCollection") => match obj.get("features") {
            Some(Value::Array(features)) => Kind::Collection(features),
            _ => Kind::Other,
        },
        Some("Feature") => Kind::Feature(obj.get("geometry").filter(|g| g.is_object())),
        Some(t) if is_geometry_type(t) => Kind::Geometry,
        _ => Kind::Other,
    }
}

enum Geometry<'a> {
    Collection(&'a [Value]),
    /// The coordinates and how deeply positions nest in them.
    Coordinates(&'a Value, u8),
    Other,
}

fn geometry(g: &Value) -> Geometry<'_> {
    let Some(obj) = g.as_object() else {
        return Geometry::Other;
    };
    match type_of(obj) {
        Some("GeometryCollection") => match obj.get("geometries") {
            Some(Value::Array(members)) => Geometry::Collection(members),
            _ => Geometry::Other,
        },
        Some(t) => match (nesting_of(t), obj.get("coordinates")) {
            (Some(n), Some(coords)) => Geometry::Coordinates(coords, n),
            _ => Geometry::Other,
        },
        None => Geometry::Other,
    }
}

fn type_of(obj: &Map<String, Value>) -> Option<&str> {
    obj.get("type").and_then(Value::as_str)
}

fn is_geometry_type(t: &str) -> bool {
    t == "GeometryCollection" || nesting_of(t).is_some()
}

/// How many array levels hold a geometry type's positions.
fn nesting_of(t: &str) -> Option<u8> {
    match t {
        "Point" => Some(0),
        "LineString" | "MultiPoint" => Some(1),
        "Polygon" | "MultiLineString" => Some(2),
        "MultiPolygon" => Some(3),
        _ => None,
    }
}

/// `[x, y, rest...]` with x and y numbers.
fn position(v: &Value) -> Option<(f64, f64, &[Value])> {
    let items = v.as_array()?;
    let x = items.first()?.as_f64()?;
    let y = items.get(1)?.as_f64()?;
    Some((x, y, &items[2..]))
}

/// Appends the positions of `coords`; false when malformed.
fn positions(coords: &Value, nesting: u8, out: &mut Vec<[f64; 2]>) -> bool {
    if nesting == 0 {
        return match position(coords) {
            Some((x, y, _)) => {
                out.push([x, y]);
                true
            }
            None => false,
        };
    }
    match coords {
        Value::Array(items) => items.iter().all(|i| positions(i, nesting - 1, out)),
        _ => false,
    }
}

#[cfg(test)]
#[path = "geojson_tests.rs"]
mod tests;
