//! The WebSocket text dialect's tokenizer: one text frame is one command, typed as in
//! `redis-cli` (and as DiceDB's WebSocket interface documents it), plus JSON arguments.
//!
//! # Format
//! Everything [`super::inline`] (Redis's `sdssplitargs`) accepts, read the same way: words
//! separated by blanks, `"double quotes"` with redis-cli's backslash escapes (`\n`, `\xHH`,
//! `\"`, ...), `'single quotes'` with `\'`. One rule is added so that JSON needs no quoting:
//!
//! - an argument that starts with an unquoted `{` or `[` extends to its matching `}` or `]`,
//!   blanks and quotes included, and is kept byte for byte (no escapes are interpreted). JSON
//!   strings inside are skipped while matching, so `{"a":"}"}` is one argument. Bytes after
//!   the closing bracket, up to the next blank, belong to the same argument.
//! - when no matching bracket exists (`SET k [`, `SET k {abc`), the argument is an ordinary
//!   word, exactly as `sdssplitargs` reads it: nothing that Redis accepts reads differently.
//!
//! # Examples
//! `JSON.SET doc $ {"name": "Ada Lovelace", "tags": ["math", "poetry"]}` is four arguments,
//! the last one the JSON text as typed.

use super::inline::{is_c_space, read_arg};

/// Redis's answer to an inline request with unbalanced quotes.
pub const UNBALANCED_QUOTES: &str = "ERR Protocol error: unbalanced quotes in request";

/// Splits one text frame into a command's arguments.
///
/// # Returns
/// The arguments (none for an empty or blank frame), or the error reply's text when a quote
/// is not closed.
pub fn split_command(line: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    let mut args = Vec::new();
    let mut pos = 0;
    loop {
        while line.get(pos).is_some_and(|&b| is_c_space(b)) {
            pos += 1;
        }
        if pos >= line.len() {
            return Ok(args);
        }
        if let Some(end) = json_span_end(line, pos) {
            let mut stop = end;
            while stop < line.len() && !is_word_end(line[stop]) {
                stop += 1;
            }
            args.push(line[pos..stop].to_vec());
            pos = stop;
            continue;
        }
        let mut arg = Vec::new();
        pos = read_arg(line, pos, &mut arg).ok_or(UNBALANCED_QUOTES)?;
        args.push(arg);
    }
}

/// What ends an unquoted word in `sdssplitargs`.
fn is_word_end(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

/// Most nesting levels followed while matching brackets; deeper text is not a JSON argument
/// (it falls back to ordinary words), which bounds the matcher's memory.
const MAX_JSON_DEPTH: usize = 1024;

/// When `line[start]` is `{` or `[`: the index just after its matching closing bracket.
/// `None` when it does not start a bracket or the bracket is never matched.
fn json_span_end(line: &[u8], start: usize) -> Option<usize> {
    let mut expected: Vec<u8> = Vec::new();
    let mut i = start;
    let mut in_string = false;
    while i < line.len() {
        let b = line[i];
        if i == start && b != b'{' && b != b'[' {
            return None;
        }
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'{' => expected.push(b'}'),
                b'[' => expected.push(b']'),
                b'}' | b']' => {
                    if expected.pop() != Some(b) {
                        return None;
                    }
                    if expected.is_empty() {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
            if expected.len() > MAX_JSON_DEPTH {
                return None;
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Result<Vec<String>, &'static str> {
        split_command(line.as_bytes()).map(|args| {
            args.into_iter()
                .map(|a| String::from_utf8(a).expect("utf-8"))
                .collect()
        })
    }

    fn ok(line: &str, expected: &[&str]) {
        assert_eq!(
            split(line),
            Ok(expected.iter().map(|s| s.to_string()).collect())
        );
    }

    #[test]
    fn words_and_quotes_as_redis_cli() {
        ok("SET foo bar", &["SET", "foo", "bar"]);
        ok("  get   foo  ", &["get", "foo"]);
        ok(
            r#"SET mykey "Hello, WebSocket!""#,
            &["SET", "mykey", "Hello, WebSocket!"],
        );
        ok("SET k 'a  b'", &["SET", "k", "a  b"]);
        ok(r"SET k 'it\'s'", &["SET", "k", "it's"]);
        ok(r#"SET k "a\tb\n\x41\"""#, &["SET", "k", "a\tb\nA\""]);
        ok(r#"SET k """#, &["SET", "k", ""]);
        ok("", &[]);
        ok(" \t\r\n", &[]);
    }

    #[test]
    fn unbalanced_quotes_are_redis_errors() {
        assert_eq!(split(r#"SET k "abc"#), Err(UNBALANCED_QUOTES));
        assert_eq!(split("SET k 'abc"), Err(UNBALANCED_QUOTES));
        assert_eq!(split(r#"SET k "a"b"#), Err(UNBALANCED_QUOTES));
    }

    #[test]
    fn json_object_with_spaces_is_one_argument() {
        ok(
            r#"JSON.SET doc $ {"name": "Ada Lovelace", "tags": ["math", "poetry"]}"#,
            &[
                "JSON.SET",
                "doc",
                "$",
                r#"{"name": "Ada Lovelace", "tags": ["math", "poetry"]}"#,
            ],
        );
        ok("SET k [1, 2, 3]", &["SET", "k", "[1, 2, 3]"]);
        ok(
            r#"SET k {"a": 1} EX 10"#,
            &["SET", "k", r#"{"a": 1}"#, "EX", "10"],
        );
    }

    #[test]
    fn brackets_and_escapes_inside_json_strings_do_not_count() {
        ok(r#"SET k {"a": "}"} x"#, &["SET", "k", r#"{"a": "}"}"#, "x"]);
        ok(r#"SET k {"a": "\"}"}"#, &["SET", "k", r#"{"a": "\"}"}"#]);
        ok(r#"SET k ["it's", 'x']"#, &["SET", "k", r#"["it's", 'x']"#]);
    }

    #[test]
    fn text_after_the_closing_bracket_stays_in_the_argument() {
        ok("SET k [a b]c d", &["SET", "k", "[a b]c", "d"]);
    }

    #[test]
    fn unmatched_brackets_are_ordinary_words() {
        ok("SET k [", &["SET", "k", "["]);
        ok("SET k {abc def", &["SET", "k", "{abc", "def"]);
        ok("SET k [a}", &["SET", "k", "[a}"]);
        ok("SET k }", &["SET", "k", "}"]);
        assert_eq!(
            split(r#"SET k {"a b"#),
            Err(UNBALANCED_QUOTES),
            "read as sdssplitargs"
        );
    }

    #[test]
    fn bracket_inside_a_word_is_not_json() {
        ok("SET k a{b c}", &["SET", "k", "a{b", "c}"]);
    }

    #[test]
    fn very_deep_nesting_falls_back_to_words() {
        let deep = "[".repeat(MAX_JSON_DEPTH + 2) + &"]".repeat(MAX_JSON_DEPTH + 2);
        let args = split_command(format!("SET k {deep}").as_bytes()).expect("splits");
        assert_eq!(args.len(), 3);
    }

    #[test]
    fn never_panics_on_short_inputs() {
        let alphabet = [b'{', b'}', b'[', b']', b'"', b'\'', b'\\', b' ', b'a', b'x'];
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    for d in alphabet {
                        let _ = split_command(&[a, b, c, d]);
                    }
                }
            }
        }
    }
}
