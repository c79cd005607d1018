//! Splitting an inline command line into arguments, as Redis's `sdssplitargs` does.
//!
//! Inline requests (`SET k "hello world"\r\n`, typed into telnet) and the WebSocket text
//! dialect share this tokenizer, so both accept exactly what `redis-cli` and Redis accept.
//!
//! # Format
//! - Arguments are separated by runs of whitespace.
//! - `"double quotes"` understand `\n \r \t \b \a \\ \"` and `\xHH` (two hex digits); any
//!   other escaped byte stands for itself (`\z` is `z`).
//! - `'single quotes'` understand only `\'`; every other byte is literal.
//! - A quote may open in the middle of an argument (`a"b c"` is `ab c`), but a closing quote
//!   must be followed by whitespace or the end of the line.
//! - `""` is an empty argument.
//!
//! # Differences from Redis
//! Redis walks a C string, so an embedded NUL byte ends the line there. Here the line is a
//! slice with a length, and NUL is an ordinary byte; nothing that Redis accepts reads
//! differently, only the bytes after a NUL are kept instead of dropped.

/// Splits `line` (without its line terminator) into arguments.
///
/// # Returns
/// The arguments, possibly none for an empty or all-blank line, or `None` when a quote is
/// not closed or a closing quote is followed by something other than whitespace (Redis then
/// answers `Protocol error: unbalanced quotes in request`).
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut pos = 0;
    loop {
        // Leading blanks use C's `isspace`, which includes \v and \f, while an unquoted
        // argument ends only at space, tab, CR or LF: that asymmetry is Redis's.
        while line.get(pos).is_some_and(|&b| is_c_space(b)) {
            pos += 1;
        }
        if pos >= line.len() {
            return Some(args);
        }
        let mut arg = Vec::new();
        pos = read_arg(line, pos, &mut arg)?;
        args.push(arg);
    }
}

/// Where the tokenizer is inside one argument.
#[derive(Clone, Copy)]
enum Quoting {
    Bare,
    Double,
    Single,
}

/// Reads one argument starting at `pos` (a non-blank byte) into `arg`. Exposed for the
/// WebSocket text dialect ([`super::ws_text`]), which adds one rule on top of this tokenizer.
///
/// # Returns
/// The position just after the argument and its terminator, or `None` on unbalanced quotes.
pub(crate) fn read_arg(line: &[u8], mut pos: usize, arg: &mut Vec<u8>) -> Option<usize> {
    let mut quoting = Quoting::Bare;
    loop {
        let step = match quoting {
            Quoting::Bare => bare_step(line, pos, arg, &mut quoting),
            Quoting::Double => double_quoted_step(line, pos, arg)?,
            Quoting::Single => single_quoted_step(line, pos, arg)?,
        };
        match step {
            Step::Continue(next) => pos = next,
            Step::Done(next) => return Some(next),
        }
    }
}

/// The outcome of consuming one byte (or one escape sequence) of an argument.
enum Step {
    /// Keep reading at this position.
    Continue(usize),
    /// The argument ended; the next one starts at or after this position.
    Done(usize),
}

fn bare_step(line: &[u8], pos: usize, arg: &mut Vec<u8>, quoting: &mut Quoting) -> Step {
    match line.get(pos) {
        None => Step::Done(pos),
        Some(b' ' | b'\n' | b'\r' | b'\t') => Step::Done(pos + 1),
        Some(b'"') => {
            *quoting = Quoting::Double;
            Step::Continue(pos + 1)
        }
        Some(b'\'') => {
            *quoting = Quoting::Single;
            Step::Continue(pos + 1)
        }
        Some(&b) => {
            arg.push(b);
            Step::Continue(pos + 1)
        }
    }
}

fn double_quoted_step(line: &[u8], pos: usize, arg: &mut Vec<u8>) -> Option<Step> {
    let at = |i: usize| line.get(i).copied();
    match at(pos)? {
        b'\\' if at(pos + 1) == Some(b'x') => {
            if let (Some(hi), Some(lo)) = (hex_value(at(pos + 2)), hex_value(at(pos + 3))) {
                arg.push(hi * 16 + lo);
                Some(Step::Continue(pos + 4))
            } else {
                // `\x` without two hex digits is an ordinary escape: it stands for `x`.
                arg.push(b'x');
                Some(Step::Continue(pos + 2))
            }
        }
        b'\\' if pos + 1 < line.len() => {
            arg.push(unescape(line[pos + 1]));
            Some(Step::Continue(pos + 2))
        }
        b'"' => closing_quote(line, pos),
        b => {
            arg.push(b);
            Some(Step::Continue(pos + 1))
        }
    }
}

fn single_quoted_step(line: &[u8], pos: usize, arg: &mut Vec<u8>) -> Option<Step> {
    match *line.get(pos)? {
        b'\\' if line.get(pos + 1) == Some(&b'\'') => {
            arg.push(b'\'');
            Some(Step::Continue(pos + 2))
        }
        b'\'' => closing_quote(line, pos),
        b => {
            arg.push(b);
            Some(Step::Continue(pos + 1))
        }
    }
}

/// A closing quote at `pos` ends the argument only if whitespace or the end follows it.
fn closing_quote(line: &[u8], pos: usize) -> Option<Step> {
    match line.get(pos + 1) {
        Some(&next) if !is_c_space(next) => None,
        _ => Some(Step::Done(pos + 1)),
    }
}

fn unescape(b: u8) -> u8 {
    match b {
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'b' => 0x08,
        b'a' => 0x07,
        other => other,
    }
}

fn hex_value(b: Option<u8>) -> Option<u8> {
    match b? {
        d @ b'0'..=b'9' => Some(d - b'0'),
        h @ b'a'..=b'f' => Some(h - b'a' + 10),
        h @ b'A'..=b'F' => Some(h - b'A' + 10),
        _ => None,
    }
}

/// C's `isspace` in the "C" locale, which is what Redis runs with for this purpose.
pub(crate) fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Option<Vec<String>> {
        split_args(line.as_bytes()).map(|args| {
            args.into_iter()
                .map(|a| String::from_utf8(a).expect("test args are UTF-8"))
                .collect()
        })
    }

    fn ok(line: &str, expected: &[&str]) {
        assert_eq!(
            split(line),
            Some(expected.iter().map(|s| s.to_string()).collect()),
            "{line:?}"
        );
    }

    #[test]
    fn plain_words() {
        ok("SET key value", &["SET", "key", "value"]);
        ok("  GET\t\tkey  ", &["GET", "key"]);
        ok("a\rb\nc", &["a", "b", "c"]);
    }

    #[test]
    fn empty_and_blank_lines_have_no_args() {
        ok("", &[]);
        ok("   \t ", &[]);
        ok("\x0b\x0c", &[]);
    }

    #[test]
    fn vertical_tab_and_form_feed_skip_as_leading_blanks_but_do_not_end_a_word() {
        ok("\x0bab\x0bcd", &["ab\x0bcd"]);
        ok("a\x0c b", &["a\x0c", "b"]);
    }

    #[test]
    fn double_quotes_and_escapes() {
        ok(r#"SET k "hello world""#, &["SET", "k", "hello world"]);
        ok(
            r#""a\nb\rc\td\be\af\\g\"h""#,
            &["a\nb\rc\td\x08e\x07f\\g\"h"],
        );
        ok(r#""\x41\x6a\x6A""#, &["Ajj"]);
        ok(r#""\z\'""#, &["z'"]);
        ok(r#""""#, &[""]);
        ok(r#"a """#, &["a", ""]);
    }

    #[test]
    fn hex_escape_needs_two_hex_digits() {
        ok(r#""\x4""#, &["x4"]);
        ok(r#""\xZZ""#, &["xZZ"]);
        ok(r#""\x""#, &["x"]);
        assert_eq!(split_args(br#""\xff\x00""#), Some(vec![vec![0xff, 0x00]]));
    }

    #[test]
    fn single_quotes_only_escape_the_quote() {
        ok(r"'a\nb'", &[r"a\nb"]);
        ok(r"'it\'s'", &["it's"]);
        ok(r#"'say "hi"'"#, &[r#"say "hi""#]);
        ok("''", &[""]);
    }

    #[test]
    fn quotes_may_open_mid_word() {
        ok(r#"ab"c d" e"#, &["abc d", "e"]);
        ok("x'y z'", &["xy z"]);
    }

    #[test]
    fn closing_quote_must_be_followed_by_space_or_end() {
        assert_eq!(split(r#""a"b"#), None);
        assert_eq!(split("'a'b"), None);
        ok("\"a\"\x0bb", &["a", "b"]);
        ok("'a'\tb", &["a", "b"]);
    }

    #[test]
    fn unterminated_quotes_are_errors() {
        assert_eq!(split(r#""abc"#), None);
        assert_eq!(split("'abc"), None);
        assert_eq!(split(r#""abc\"#), None);
        assert_eq!(split(r#""abc\""#), None);
        assert_eq!(split(r"'abc\'"), None);
        assert_eq!(split("\""), None);
    }

    /// Lines checked against redis-server 7.0 (`RPUSH l <line>` then `LRANGE l 0 -1`).
    #[test]
    fn same_as_redis_server() {
        ok(
            r#""a\x41\x4\z\n" 'it\'s' x"y z" '' "" "\xZZ" 'a\nb'"#,
            &["aAx4z\n", "it's", "xy z", "", "", "xZZ", r"a\nb"],
        );
        ok("a\x0cb c\x0c \"q\"\x0cz", &["a\x0cb", "c\x0c", "q", "z"]);
    }

    #[test]
    fn nul_is_an_ordinary_byte() {
        assert_eq!(
            split_args(b"a\0b c"),
            Some(vec![b"a\0b".to_vec(), b"c".to_vec()])
        );
    }

    #[test]
    fn never_panics_on_any_short_input() {
        let alphabet = [
            b'a', b' ', b'"', b'\'', b'\\', b'x', b'4', b'f', 0x0b, b'\n',
        ];
        // Every string of length <= 5 over an alphabet that hits every branch.
        for len in 0..=5u32 {
            for n in 0..alphabet.len().pow(len) {
                let mut rest = n;
                let line: Vec<u8> = (0..len)
                    .map(|_| {
                        let b = alphabet[rest % alphabet.len()];
                        rest /= alphabet.len();
                        b
                    })
                    .collect();
                let _ = split_args(&line);
            }
        }
    }
}
