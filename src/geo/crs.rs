//! Target coordinate reference systems for `PROJECTION` / `PGET projection=`: from EPSG:4326
//! (longitude, latitude in degrees, the order GeoJSON uses) to the client's CRS.
//!
//! - **EPSG:3857** (Web Mercator, what web maps use) is computed here, with PROJ 9's formulas
//!   and domain checks (the values pyproj gives the package): `x = R·λ`,
//!   `y = R·asinh(tan φ)`, `R = 6378137 m`; longitudes wrap into ±180° (PROJ's `adjlon`);
//!   a latitude beyond ±90° or a longitude beyond ±10 radians has no image. (At exactly ±90°
//!   PROJ, and so this, gives a finite y of about ±2.4e8 m: tan(π/2) of a double.)
//! - **Any other EPSG code** that [`crs_definitions`] knows (the EPSG registry's PROJ.4
//!   strings) goes through [`proj4rs`], a pure-Rust port of PROJ.4: datum shifts by
//!   `+towgs84`, no grid files. Each core builds a code's `Proj` once and keeps it
//!   ([`MAX_CACHED`] at most). Geographic targets (`+proj=longlat`) come out in degrees.
//!   Axis order is always x = easting/longitude, y = northing/latitude (pyproj's
//!   `always_xy=True`, which the package uses): any `+axis` in a definition is ignored.
//! - EPSG:4326 itself means "no projection" (`PROJECTION epsg:4326` clears it).
//!
//! Codes are written `epsg:N`, case-insensitive, as pyproj reads them.

use std::cell::RefCell;
use std::f64::consts::{FRAC_PI_2, PI};
use std::rc::Rc;

use ahash::AHashMap;

/// The source CRS of every message: WGS 84 longitude/latitude.
pub const WGS84: u16 = 4326;
/// Web Mercator, computed natively.
pub const WEB_MERCATOR: u16 = 3857;
/// Web Mercator's sphere radius (WGS 84's semi-major axis), metres.
const MERCATOR_RADIUS_M: f64 = 6_378_137.0;
/// PROJ's tolerance for latitudes past the poles (`PJ_EPS_LAT`).
const EPS_LAT: f64 = 1e-12;
/// Most `Proj` objects one core keeps (one per distinct EPSG code asked for).
pub const MAX_CACHED: usize = 256;

/// A CRS a client asked for, by EPSG code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Epsg(pub u16);

impl Epsg {
    /// `epsg:N` (any case) → `Ok(None)` for 4326 (no projection), `Ok(Some(code))` for a
    /// supported code, or the error text the client gets.
    pub fn parse(text: &str) -> Result<Option<Epsg>, String> {
        let code = text
            .get(..5)
            .filter(|p| p.eq_ignore_ascii_case("epsg:"))
            .map(|_| &text[5..])
            .filter(|d| !d.is_empty() && d.len() <= 5 && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<u16>().ok())
            .ok_or_else(|| format!("unknown CRS '{}': expected epsg:<code>", shown(text)))?;
        match code {
            WGS84 => Ok(None),
            WEB_MERCATOR => Ok(Some(Epsg(code))),
            _ => with_proj(code, |_| ())
                .map(|()| Some(Epsg(code)))
                .map_err(|why| format!("unsupported CRS '{}': {why}", shown(text))),
        }
    }

    /// Projects one (longitude, latitude) in degrees; `None` when the point has no image in
    /// this CRS (outside its domain, or not finite).
    pub fn forward(self, lon_deg: f64, lat_deg: f64) -> Option<(f64, f64)> {
        let (x, y) = if self.0 == WEB_MERCATOR {
            web_mercator(lon_deg, lat_deg)?
        } else {
            with_proj(self.0, |p| p.forward(lon_deg, lat_deg)).ok()??
        };
        (x.is_finite() && y.is_finite()).then_some((x, y))
    }
}

/// At most 32 characters of client text, for error messages.
fn shown(text: &str) -> String {
    text.chars().take(32).collect()
}

/// EPSG:3857 forward, as PROJ 9 computes its `webmerc` step (PROJ's input checks first).
pub fn web_mercator(lon_deg: f64, lat_deg: f64) -> Option<(f64, f64)> {
    let (lam, phi) = (lon_deg.to_radians(), lat_deg.to_radians());
    if !(lam.is_finite() && phi.is_finite()) || phi.abs() - FRAC_PI_2 > EPS_LAT || lam.abs() > 10.0
    {
        return None;
    }
    let x = MERCATOR_RADIUS_M * adjlon(lam);
    let y = MERCATOR_RADIUS_M * phi.tan().asinh();
    Some((x, y))
}

/// PROJ's `adjlon`: a longitude in radians brought into [-π, π].
fn adjlon(lam: f64) -> f64 {
    if lam.abs() < PI + 1e-12 {
        return lam;
    }
    let shifted = lam + PI;
    shifted - 2.0 * PI * (shifted / (2.0 * PI)).floor() - PI
}

/// A target CRS built by proj4rs.
struct Target {
    proj: proj4rs::Proj,
    latlong: bool,
}

impl Target {
    fn forward(&self, lon_deg: f64, lat_deg: f64) -> Option<(f64, f64)> {
        let mut p = (lon_deg.to_radians(), lat_deg.to_radians(), 0.0);
        SOURCE.with(|src| proj4rs::transform::transform(src, &self.proj, &mut p).ok())?;
        if self.latlong {
            Some((p.0.to_degrees(), p.1.to_degrees()))
        } else {
            Some((p.0, p.1))
        }
    }
}

thread_local! {
    /// EPSG:4326 as proj4rs's source.
    static SOURCE: proj4rs::Proj = proj4rs::Proj::from_proj_string("+proj=longlat +datum=WGS84 +no_defs")
        .expect("a valid built-in definition");
    /// This core's built targets, by code (`Err`: why the code cannot be used).
    static TARGETS: RefCell<AHashMap<u16, Result<Rc<Target>, String>>> = RefCell::new(AHashMap::new());
}

/// Runs `f` on code's target, building it on first use.
fn with_proj<R>(code: u16, f: impl FnOnce(&Target) -> R) -> Result<R, String> {
    let cached = TARGETS.with(|t| t.borrow().get(&code).cloned());
    let target = match cached {
        Some(t) => t?,
        None => {
            let built = build(code).map(Rc::new);
            TARGETS.with(|t| {
                let mut t = t.borrow_mut();
                if t.len() >= MAX_CACHED {
                    t.clear();
                }
                t.insert(code, built.clone());
            });
            built?
        }
    };
    Ok(f(&target))
}

fn build(code: u16) -> Result<Target, String> {
    let def = crs_definitions::from_code(code)
        .ok_or_else(|| format!("EPSG:{code} is not in the EPSG definitions corekv knows"))?;
    // pyproj's always_xy: easting (longitude) first, whatever the definition's axis order.
    let text: Vec<&str> = def
        .proj4
        .split_whitespace()
        .filter(|p| !p.starts_with("+axis="))
        .collect();
    let proj = proj4rs::Proj::from_proj_string(&text.join(" "))
        .map_err(|e| format!("EPSG:{code} cannot be used ({e})"))?;
    if proj.is_geocent() {
        return Err(format!(
            "EPSG:{code} is geocentric (3D), not a 2D CRS for GeoJSON"
        ));
    }
    let latlong = proj.is_latlong();
    Ok(Target { proj, latlong })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64), b: (f64, f64), tol: f64) -> bool {
        (a.0 - b.0).abs() <= tol && (a.1 - b.1).abs() <= tol
    }

    // Expected values are pyproj 3.7.2 (PROJ 9.5.1), `Transformer.from_crs("epsg:4326", code,
    // always_xy=True)`, as the package calls it.

    #[test]
    fn web_mercator_known_points() {
        let m = Epsg(WEB_MERCATOR);
        assert_eq!(m.forward(0.0, 0.0), Some((0.0, 0.0)));
        assert_eq!(m.forward(180.0, 0.0), Some((20037508.342789244, 0.0)));
        let (x, y) = m.forward(0.0, 85.0511287798).expect("in domain");
        assert!(close((x, y), (0.0, 20037508.342780728), 1e-8), "{y}");
        let (x, y) = m.forward(-180.0, -85.0511287798).expect("in domain");
        assert!(close(
            (x, y),
            (-20037508.342789244, -20037508.342780728),
            1e-8
        ));
        assert!(close(
            m.forward(7.8486934304237375, 47.9914151679489)
                .expect("in domain"),
            (873712.556067282, 6105426.743535525),
            1e-8
        ));
        // The package's own test values (an older pyproj), to its tolerance.
        assert!(close(
            m.forward(0.1, 3.5).expect("in domain"),
            (11131.949079326665, 389860.7582541955),
            1e-9
        ));
        assert!(close(
            m.forward(2.1, 3.4).expect("in domain"),
            (233770.93066587413, 378708.59661392024),
            1e-9
        ));
    }

    #[test]
    fn web_mercator_domain() {
        let m = Epsg(WEB_MERCATOR);
        let (_, pole) = m.forward(0.0, 90.0).expect("PROJ gives the pole a value");
        assert!((pole - 242528680.94374272).abs() < 1.0, "{pole}");
        assert_eq!(m.forward(0.0, 91.0), None, "past the pole");
        assert_eq!(m.forward(f64::NAN, 0.0), None);
        assert_eq!(m.forward(600.0, 0.0), None, "beyond 10 radians");
        // Longitudes wrap as in PROJ: 190° is -170°.
        let wrapped = m.forward(190.0, 10.0).expect("wraps");
        assert!(close(
            wrapped,
            (-18924313.434856508, 1118889.9748579594),
            1e-8
        ));
    }

    #[test]
    fn codes() {
        assert_eq!(Epsg::parse("epsg:4326"), Ok(None));
        assert_eq!(Epsg::parse("EPSG:3857"), Ok(Some(Epsg(3857))));
        assert_eq!(Epsg::parse("epsg:32632"), Ok(Some(Epsg(32632))));
        for bad in [
            "egg",
            "epsg:",
            "epsg:x",
            "epsg:99999",
            "epsg:-1",
            "3857",
            "epsg:3857 ",
        ] {
            assert!(Epsg::parse(bad).is_err(), "{bad}");
        }
        let unknown = Epsg::parse("epsg:1").unwrap_err();
        assert!(unknown.contains("unsupported CRS 'epsg:1'"), "{unknown}");
    }

    #[test]
    fn proj4rs_targets() {
        // UTM 32N, Freiburg.
        let utm = Epsg(32632)
            .forward(7.8486934304237375, 47.9914151679489)
            .expect("in domain");
        assert!(
            close(utm, (414104.05445195705, 5315987.345638905), 1e-6),
            "{utm:?}"
        );
        // Swiss LV95 (a datum shift by +towgs84), Bern.
        let lv95 = Epsg(2056).forward(7.44, 46.95).expect("in domain");
        assert!(
            close(lv95, (2600104.109499608, 1199879.6282376593), 1e-6),
            "{lv95:?}"
        );
        // British National Grid, London: PROJ 9 picks another OSGB36 transformation than
        // the definition's +datum; inside Britain they agree to millimetres.
        let bng = Epsg(27700).forward(-0.1276, 51.5072).expect("in domain");
        assert!(
            close(bng, (530043.1949814068, 180358.20862000342), 0.01),
            "{bng:?}"
        );
        // A geographic target comes out in degrees.
        let (lon, lat) = Epsg(4258).forward(7.85, 47.99).expect("in domain");
        assert!(close((lon, lat), (7.85, 47.99), 1e-9), "{lon} {lat}");
        // proj4rs through 3857's own definition agrees with the native formulas.
        let via = with_proj(3857, |t| t.forward(0.1, 3.5))
            .expect("known")
            .expect("in domain");
        assert!(close(via, web_mercator(0.1, 3.5).expect("in domain"), 1e-6));
    }
}
