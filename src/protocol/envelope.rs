//! Requests of the WebSocket envelope dialect (subprotocol `corekv.v1` or `?format=envelope`).
//!
//! # Format
//! One text frame is one request, in any of three forms:
//! - `{"id": 7, "cmd": ["SET", "k", "v"]}`: `id` is optional, any JSON value, and comes back
//!   verbatim in the reply (`{"id":7,"ok":"OK"}`); other fields are ignored.
//! - `["SET", "k", "v"]`: the same without an id.
//! - `SET k v`: a command line, split as the text dialect splits it ([`super::ws_text`]).
//!
//! Each element of `cmd` is one argument: a JSON string is its content (UTF-8); an object
//! `{"b64": "..."}` is the bytes its standard base64 decodes to (how a client sends bytes that
//! are not UTF-8, the same form replies use); any other JSON value (a number, `true`, an object,
//! an array) is its JSON text exactly as written, so `["EXPIRE", "k", 10]` and
//! `["JSON.SET", "doc", "$", {"a": [1, 2]}]` work.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use super::base64;
use super::ws_text::split_command;

/// A parsed envelope request.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    /// The request's `id`, as its JSON text (`7`, `"a"`), to be echoed in the reply.
    pub id: Option<String>,
    /// The command and its arguments; empty for a blank command line (no reply is due).
    pub args: Vec<Vec<u8>>,
}

/// A request that could not be read: the id, when it could be found, and the error text.
#[derive(Debug, PartialEq, Eq)]
pub struct Invalid {
    pub id: Option<String>,
    pub error: String,
}

fn invalid(id: Option<String>, why: impl std::fmt::Display) -> Invalid {
    Invalid {
        id,
        error: format!("ERR invalid request: {why}"),
    }
}

/// Reads one envelope-dialect text frame.
pub fn parse(text: &str) -> Result<Request, Invalid> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let fields: BTreeMap<String, &RawValue> =
            serde_json::from_str(text).map_err(|e| invalid(None, e))?;
        let id = fields.get("id").map(|raw| raw.get().to_string());
        let Some(cmd) = fields.get("cmd") else {
            return Err(invalid(id, "an object request needs a \"cmd\" array"));
        };
        let args = parse_cmd(cmd.get()).map_err(|why| invalid(id.clone(), why))?;
        return Ok(Request { id, args });
    }
    if trimmed.starts_with('[') {
        let args = parse_cmd(text).map_err(|why| invalid(None, why))?;
        return Ok(Request { id: None, args });
    }
    match split_command(text.as_bytes()) {
        Ok(args) => Ok(Request { id: None, args }),
        Err(e) => Err(Invalid {
            id: None,
            error: e.to_string(),
        }),
    }
}

/// `cmd`: a non-empty JSON array of arguments.
fn parse_cmd(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let items: Vec<&RawValue> =
        serde_json::from_str(text).map_err(|_| "\"cmd\" must be an array".to_string())?;
    if items.is_empty() {
        return Err("\"cmd\" is empty".into());
    }
    items.iter().map(|raw| argument(raw.get())).collect()
}

/// One argument from its JSON text.
fn argument(raw: &str) -> Result<Vec<u8>, String> {
    if raw.starts_with('"') {
        let s: String = serde_json::from_str(raw).map_err(|e| e.to_string())?;
        return Ok(s.into_bytes());
    }
    if raw.starts_with('{')
        && let Ok(obj) = serde_json::from_str::<BTreeMap<String, &RawValue>>(raw)
        && obj.len() == 1
        && let Some(b64) = obj.get("b64")
    {
        let coded: String =
            serde_json::from_str(b64.get()).map_err(|_| "\"b64\" must be a string".to_string())?;
        return base64::decode(coded.as_bytes())
            .ok_or_else(|| "\"b64\" is not valid base64".to_string());
    }
    Ok(raw.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(req: &str) -> Vec<String> {
        parse(req)
            .expect("valid")
            .args
            .into_iter()
            .map(|a| String::from_utf8(a).expect("utf-8"))
            .collect()
    }

    #[test]
    fn the_three_forms() {
        let r = parse(r#"{"id": 7, "cmd": ["SET", "k", "v"]}"#).expect("valid");
        assert_eq!(r.id.as_deref(), Some("7"));
        assert_eq!(args(r#"{"id":7,"cmd":["SET","k","v"]}"#), ["SET", "k", "v"]);
        assert_eq!(args(r#" ["GET", "k"]"#), ["GET", "k"]);
        assert_eq!(parse(r#"["GET","k"]"#).expect("valid").id, None);
        assert_eq!(args(r#"SET k "a b""#), ["SET", "k", "a b"]);
        assert!(parse("   ").expect("valid").args.is_empty());
    }

    #[test]
    fn ids_are_echoed_as_written() {
        let id = |req: &str| parse(req).expect("valid").id;
        assert_eq!(
            id(r#"{"id":"req-1","cmd":["PING"]}"#).as_deref(),
            Some(r#""req-1""#)
        );
        assert_eq!(
            id(r#"{"cmd":["PING"],"id":{"a":[1]}}"#).as_deref(),
            Some(r#"{"a":[1]}"#)
        );
        assert_eq!(id(r#"{"cmd":["PING"]}"#), None);
    }

    #[test]
    fn argument_kinds() {
        assert_eq!(
            args(r#"["SET","k",10,-1.5e3,true,null]"#),
            ["SET", "k", "10", "-1.5e3", "true", "null"]
        );
        assert_eq!(
            args(r#"["JSON.SET","d","$",{"a": [1, 2]}]"#),
            ["JSON.SET", "d", "$", r#"{"a": [1, 2]}"#]
        );
        assert_eq!(args(r#"["SET","k","\u00e9\n"]"#), ["SET", "k", "é\n"]);
        let r = parse(r#"["SET","k",{"b64":"/wBh"}]"#).expect("valid");
        assert_eq!(r.args[2], b"\xff\x00a");
    }

    #[test]
    fn errors_keep_the_id_when_known() {
        let e = parse(r#"{"id":3,"cmd":"SET k v"}"#).expect_err("cmd not an array");
        assert_eq!(e.id.as_deref(), Some("3"));
        assert!(e.error.starts_with("ERR invalid request"), "{}", e.error);
        let e = parse(r#"{"id":3}"#).expect_err("no cmd");
        assert_eq!(e.id.as_deref(), Some("3"));
        assert!(parse(r#"{"id":3,"cmd":[]}"#).is_err());
        assert!(parse(r#"{"id":3,"cmd":[{"b64":"!!"}]}"#).is_err());
        assert!(parse(r#"{"id":3"#).is_err());
        assert!(parse("[1,").is_err());
        assert_eq!(
            parse(r#"GET "k"#).expect_err("quotes").error,
            "ERR Protocol error: unbalanced quotes in request"
        );
    }
}
