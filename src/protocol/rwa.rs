//! The redis_websocket_api dialect (`/rwa`) on the wire: requests in, envelopes out. Pure.
//!
//! # Requests
//! A text frame is split at whitespace (Python's `str.split()`); the first token is the
//! command, case-sensitive. Tokens with `=` are keyword arguments (`client_ref=abc`, split at
//! the first `=`; a repeated name keeps the last value), the others positional. Arguments
//! bind to each command's parameters as the package's Python methods bind them:
//!
//! | command | parameters |
//! | --- | --- |
//! | `GET` | `channel_name [ref [client_ref]]` |
//! | `PGET` | `channel_name [ref [client_ref [projection]]]` |
//! | `SUB`, `DEL` | `channel_name` |
//! | `PING` | any positional arguments (ignored) |
//! | `BBOX` | none (clears) or `left bottom right top` (numbers as Python's `float()`) |
//! | `PROJECTION` | one: `epsg:N` |
//!
//! A frame whose command is not one of these is ignored, as the package ignores unknown
//! commands. A known command whose arguments do not bind (missing, too many, an unknown or
//! doubled keyword, a number that is not one) is where the package raises and hangs up;
//! corekv answers an error envelope instead ([`Parsed::Invalid`]) and keeps the connection.
//!
//! # Envelopes
//! Every frame the server sends is
//! `{"source": ..., "content": ..., "timestamp": <epoch ms, float>, "client_reference": ...}`,
//! written as Python's `json.dumps` writes it ([`super::pyjson`]).

use crate::geo::BBox;

use super::pyjson;

/// Longest request text quoted back in an error envelope.
const MAX_QUOTED_CHARS: usize = 200;

#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// `GET channel_name [ref] [client_ref]`: HVALS, or HGET with `ref`.
    Get {
        key: String,
        field: Option<String>,
        client_ref: Option<String>,
    },
    /// `PGET`: GET with its own projection (`projection=epsg:N`).
    PGet {
        key: String,
        field: Option<String>,
        client_ref: Option<String>,
        projection: Option<String>,
    },
    Sub(String),
    Del(String),
    Ping,
    /// `BBOX l b r t`, or bare `BBOX` (`None`) to clear.
    BBox(Option<BBox>),
    Projection(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Parsed {
    Request(Request),
    /// Not a command of the dialect (or an empty frame): no answer.
    Ignored,
    /// A command whose arguments do not fit: answered with an error envelope.
    Invalid {
        error: String,
        client_ref: Option<String>,
    },
}

/// Python's `str.split()` whitespace: Unicode White_Space plus the ASCII separators
/// U+001C..U+001F.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Reads one request frame (see the module docs).
pub fn parse(text: &str) -> Parsed {
    let mut tokens = text.split(is_py_space).filter(|t| !t.is_empty());
    let Some(command) = tokens.next() else {
        return Parsed::Ignored;
    };
    let mut args: Vec<&str> = Vec::new();
    let mut kwargs: Vec<(&str, &str)> = Vec::new();
    for t in tokens {
        match t.split_once('=') {
            Some((name, value)) => {
                kwargs.retain(|(n, _)| *n != name);
                kwargs.push((name, value));
            }
            None => args.push(t),
        }
    }
    let client_ref = kwargs
        .iter()
        .find(|(n, _)| *n == "client_ref")
        .map(|(_, v)| v.to_string());
    let invalid = |error: String| Parsed::Invalid {
        error,
        client_ref: client_ref.clone(),
    };
    let request = match command {
        "GET" => bind(command, &GET_PARAMS, &args, &kwargs).map(|mut p| Request::Get {
            key: p[0].take().unwrap_or_default(),
            field: p[1].take(),
            client_ref: p[2].take(),
        }),
        "PGET" => bind(command, &PGET_PARAMS, &args, &kwargs).map(|mut p| Request::PGet {
            key: p[0].take().unwrap_or_default(),
            field: p[1].take(),
            client_ref: p[2].take(),
            projection: p[3].take(),
        }),
        "SUB" | "DEL" => bind(command, &CHANNEL_PARAMS, &args, &kwargs).map(|mut p| {
            let channel = p[0].take().unwrap_or_default();
            if command == "SUB" {
                Request::Sub(channel)
            } else {
                Request::Del(channel)
            }
        }),
        "PING" => no_kwargs(command, &kwargs).map(|()| Request::Ping),
        "BBOX" => no_kwargs(command, &kwargs).and_then(|()| bbox(&args)),
        "PROJECTION" => no_kwargs(command, &kwargs).and_then(|()| match args.as_slice() {
            [crs] => Ok(Request::Projection(crs.to_string())),
            _ => Err(format!(
                "PROJECTION takes one argument (epsg:<code>), got {}",
                args.len()
            )),
        }),
        _ => return Parsed::Ignored,
    };
    match request {
        Ok(r) => Parsed::Request(r),
        Err(e) => invalid(e),
    }
}

const GET_PARAMS: [&str; 3] = ["channel_name", "ref", "client_ref"];
const PGET_PARAMS: [&str; 4] = ["channel_name", "ref", "client_ref", "projection"];
const CHANNEL_PARAMS: [&str; 1] = ["channel_name"];

/// Binds positional then keyword arguments to `params` (the first one required), as Python
/// binds a call to `def f(self, channel_name, ref=None, ...)`.
fn bind(
    command: &str,
    params: &[&str],
    args: &[&str],
    kwargs: &[(&str, &str)],
) -> Result<Vec<Option<String>>, String> {
    if args.len() > params.len() {
        return Err(format!(
            "{command} takes at most {} arguments ({}), got {}",
            params.len(),
            params.join(" "),
            args.len()
        ));
    }
    let mut bound: Vec<Option<String>> = vec![None; params.len()];
    for (slot, a) in bound.iter_mut().zip(args) {
        *slot = Some(a.to_string());
    }
    for (name, value) in kwargs {
        let Some(i) = params.iter().position(|p| p == name) else {
            return Err(format!(
                "{command} got an unexpected keyword argument '{}'",
                quoted(name)
            ));
        };
        if bound[i].is_some() {
            return Err(format!(
                "{command} got multiple values for argument '{name}'"
            ));
        }
        bound[i] = Some(value.to_string());
    }
    if bound[0].is_none() {
        return Err(format!("{command} is missing its argument '{}'", params[0]));
    }
    Ok(bound)
}

fn no_kwargs(command: &str, kwargs: &[(&str, &str)]) -> Result<(), String> {
    match kwargs.first() {
        None => Ok(()),
        Some((name, _)) => Err(format!(
            "{command} takes no keyword arguments, got '{}'",
            quoted(name)
        )),
    }
}

fn bbox(args: &[&str]) -> Result<Request, String> {
    match args {
        [] => Ok(Request::BBox(None)),
        [l, b, r, t] => {
            let mut n = [0.0; 4];
            for (slot, text) in n.iter_mut().zip([l, b, r, t]) {
                *slot = py_float(text).ok_or_else(|| {
                    format!("BBOX: could not convert '{}' to a number", quoted(text))
                })?;
            }
            Ok(Request::BBox(Some(BBox {
                left: n[0],
                bottom: n[1],
                right: n[2],
                top: n[3],
            })))
        }
        _ => Err(format!(
            "BBOX takes no arguments (to clear) or four (left bottom right top), got {}",
            args.len()
        )),
    }
}

/// Python's `float(text)` for one token: decimal and exponent forms, `inf`, `infinity`,
/// `nan` in any case with a sign, and `_` between digits.
pub fn py_float(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let underscores_ok = b.iter().enumerate().all(|(i, &c)| {
        c != b'_'
            || (i > 0 && i + 1 < b.len() && b[i - 1].is_ascii_digit() && b[i + 1].is_ascii_digit())
    });
    if !underscores_ok {
        return None;
    }
    // Rust reads the same forms (sign, `inf`, `infinity`, `nan` in any case, exponents).
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    plain.parse::<f64>().ok()
}

/// Client text in an error message: at most [`MAX_QUOTED_CHARS`] characters.
fn quoted(text: &str) -> String {
    text.chars().take(MAX_QUOTED_CHARS).collect()
}

/// What an envelope's `content` is.
pub enum Content<'a> {
    /// JSON text already written by [`pyjson`].
    Json(&'a [u8]),
    Null,
    Str(&'a str),
}

/// One envelope, as the package's `_send` writes it.
pub fn envelope(
    source: &str,
    content: Content<'_>,
    timestamp_ms: f64,
    client_ref: Option<&str>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(96 + source.len());
    out.extend_from_slice(b"{\"source\": ");
    pyjson::write_str(source, &mut out);
    out.extend_from_slice(b", \"content\": ");
    match content {
        Content::Json(json) => out.extend_from_slice(json),
        Content::Null => out.extend_from_slice(b"null"),
        Content::Str(s) => pyjson::write_str(s, &mut out),
    }
    out.extend_from_slice(b", \"timestamp\": ");
    pyjson::write_float(timestamp_ms, &mut out);
    out.extend_from_slice(b", \"client_reference\": ");
    match client_ref {
        Some(r) => pyjson::write_str(r, &mut out),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
    out
}

/// The source of corekv's own error envelopes (a choice: the package has none).
pub const ERROR_SOURCE: &str = "error";

/// `{"source": "error", "content": {"error": ..., <context>}, ...}`: what corekv sends where
/// the package would hang up. `context` pairs (`"request"`, `"channel"`, `"key"`, ...) say
/// what it was about.
pub fn error_envelope(
    error: &str,
    context: &[(&str, &str)],
    timestamp_ms: f64,
    client_ref: Option<&str>,
) -> Vec<u8> {
    let mut content = Vec::with_capacity(64 + error.len());
    content.extend_from_slice(b"{\"error\": ");
    pyjson::write_str(error, &mut content);
    for (name, value) in context {
        content.extend_from_slice(b", ");
        pyjson::write_str(name, &mut content);
        content.extend_from_slice(b": ");
        pyjson::write_str(&quoted(value), &mut content);
    }
    content.push(b'}');
    envelope(
        ERROR_SOURCE,
        Content::Json(&content),
        timestamp_ms,
        client_ref,
    )
}

/// Now, in milliseconds since the epoch with microseconds as the fraction: the package's
/// `datetime.now().timestamp() * 1000`.
pub fn timestamp_ms() -> f64 {
    crate::util::now_us() as f64 / 1000.0
}

#[cfg(test)]
#[path = "rwa_tests.rs"]
mod tests;
