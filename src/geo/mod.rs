//! Geographic filtering and projection for the `/rwa` WebSocket dialect (the geo mixin of
//! redis_websocket_api): pure functions over parsed JSON, no I/O.
//!
//! - [`BBox`]: `BBOX left bottom right top`, strictly-inside test.
//! - [`View`]: one client's filter chain (a box, a projection, and which came first).
//! - [`geojson`]: the vertices of a message ([`geojson::Summary`]) and its coordinates
//!   projected ([`geojson::project`]).
//! - [`crs`]: the target CRS (EPSG:3857 natively, other EPSG codes through proj4rs).
//!
//! # Why the order of BBOX and PROJECTION matters
//! The package keeps its filters in an ordered dict and runs them in the order they were
//! first set: after `PROJECTION epsg:3857` then `BBOX ...`, the box is compared with
//! *projected* coordinates (its demo page sends `BBOX 0 0 1500000 7000000` in metres); after
//! `BBOX` then `PROJECTION`, with longitudes and latitudes. Re-setting a filter keeps its
//! place; clearing one and setting it again moves it last. [`View`] keeps that order.

pub mod crs;
pub mod geojson;

use serde_json::Value;

use crs::Epsg;
use geojson::{Summary, Unprojectable};

/// `BBOX left bottom right top`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BBox {
    pub left: f64,
    pub bottom: f64,
    pub right: f64,
    pub top: f64,
}

impl BBox {
    /// Strictly inside: a vertex on an edge is outside (the package's `<` and `>`). NaN
    /// anywhere is never inside.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        x > self.left && x < self.right && y > self.bottom && y < self.top
    }

    /// A hashable identity (bit patterns), for caches keyed by box.
    pub fn key(&self) -> [u64; 4] {
        [
            self.left.to_bits(),
            self.bottom.to_bits(),
            self.right.to_bits(),
            self.top.to_bits(),
        ]
    }
}

/// One step of a client's filter chain.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    Bbox(BBox),
    Project(Epsg),
}

/// A client's filters, in the order the package would run them (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct View {
    pub bbox: Option<BBox>,
    pub projection: Option<Epsg>,
    /// Both are set and PROJECTION was set first: the box applies to projected coordinates.
    pub projection_first: bool,
}

/// A hashable identity of a [`View`], for caches keyed by view.
pub type ViewKey = (Option<[u64; 4]>, Option<u16>, bool);

impl View {
    /// `BBOX l b r t`: a new filter goes last; a re-set one keeps its place.
    pub fn set_bbox(&mut self, bbox: BBox) {
        if self.bbox.is_none() {
            self.projection_first = self.projection.is_some();
        }
        self.bbox = Some(bbox);
    }

    /// Bare `BBOX`.
    pub fn clear_bbox(&mut self) {
        self.bbox = None;
        self.projection_first = false;
    }

    /// `PROJECTION epsg:N` (`None` for epsg:4326, which clears it).
    pub fn set_projection(&mut self, projection: Option<Epsg>) {
        match projection {
            None => {
                self.projection = None;
                self.projection_first = false;
            }
            Some(p) => {
                if self.projection.is_none() {
                    self.projection_first = false;
                }
                self.projection = Some(p);
            }
        }
    }

    pub fn key(&self) -> ViewKey {
        (
            self.bbox.map(|b| b.key()),
            self.projection.map(|p| p.0),
            self.projection_first,
        )
    }

    /// The filters in the order they run.
    pub fn steps(&self) -> impl Iterator<Item = Step> {
        let bbox = self.bbox.map(Step::Bbox);
        let proj = self.projection.map(Step::Project);
        let (first, second) = if self.projection_first {
            (proj, bbox)
        } else {
            (bbox, proj)
        };
        first.into_iter().chain(second)
    }

    /// Runs the chain over one message as the package's `_apply_filters` does: in order,
    /// stopping at the first box the message fails (so a projection after it is not
    /// applied). Returns whether it passed and the (possibly projected) value.
    pub fn apply(&self, mut value: Value) -> Result<(bool, Value), Unprojectable> {
        for step in self.steps() {
            match step {
                Step::Bbox(b) => {
                    if !Summary::of(&value).passes(&b) {
                        return Ok((false, value));
                    }
                }
                Step::Project(crs) => geojson::project(&mut value, crs)?,
            }
        }
        Ok((true, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: BBox = BBox {
        left: 1.0,
        bottom: 2.0,
        right: 3.0,
        top: 4.0,
    };

    #[test]
    fn strictly_inside() {
        assert!(B.contains(2.0, 3.0));
        for (x, y) in [(1.0, 3.0), (3.0, 3.0), (2.0, 2.0), (2.0, 4.0), (0.0, 3.0)] {
            assert!(!B.contains(x, y), "({x}, {y}) is on an edge or outside");
        }
        assert!(!B.contains(f64::NAN, 3.0));
        let nan = BBox {
            left: f64::NAN,
            ..B
        };
        assert!(!nan.contains(2.0, 3.0));
    }

    #[test]
    fn order_follows_the_package() {
        let m = Some(Epsg(3857));
        let mut v = View::default();
        v.set_projection(m);
        v.set_bbox(B);
        assert!(
            v.projection_first,
            "PROJECTION then BBOX: box in projected units"
        );
        v.set_bbox(BBox { left: 0.0, ..B });
        assert!(v.projection_first, "re-setting keeps the place");
        v.clear_bbox();
        v.set_bbox(B);
        assert!(
            v.projection_first,
            "the box is re-added last, after the projection"
        );
        v.set_projection(None);
        v.set_projection(m);
        assert!(!v.projection_first, "the projection is re-added last");
        assert_eq!(
            v.steps().collect::<Vec<_>>(),
            vec![Step::Bbox(B), Step::Project(Epsg(3857))]
        );
    }

    #[test]
    fn apply_stops_at_a_failing_box() {
        let point = |x: f64, y: f64| {
            serde_json::json!({"type": "Feature", "properties": {},
                "geometry": {"type": "Point", "coordinates": [x, y]}})
        };
        let mut v = View::default();
        v.set_bbox(B);
        v.set_projection(Some(Epsg(3857)));
        // Box first: the outside point fails and is not projected.
        let (passed, out) = v.apply(point(0.1, 3.5)).expect("projectable");
        assert!(!passed);
        assert_eq!(out, point(0.1, 3.5));
        let (passed, out) = v.apply(point(2.1, 3.4)).expect("projectable");
        assert!(passed);
        assert_ne!(out, point(2.1, 3.4));
        // Projection first: the box is in metres.
        let mut v = View::default();
        v.set_projection(Some(Epsg(3857)));
        v.set_bbox(BBox {
            left: 0.0,
            bottom: 0.0,
            right: 1_500_000.0,
            top: 7_000_000.0,
        });
        assert!(v.apply(point(7.85, 47.99)).expect("projectable").0);
        assert!(!v.apply(point(20.0, 47.99)).expect("projectable").0);
        // Not GeoJSON: passes untouched.
        let other = serde_json::json!({"some_json": "no GeoJSON"});
        assert_eq!(v.apply(other.clone()), Ok((true, other)));
    }
}
