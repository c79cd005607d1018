//! Glob-style matching, an exact port of Redis 7's `stringmatchlen` (`util.c`), used by
//! `KEYS`, `SCAN ... MATCH`, `PSUBSCRIBE` and friends.
//!
//! # Contract
//!
//! [`glob_match`] returns what Redis returns for the same bytes, including the corner cases
//! clients end up depending on:
//!
//! - `*` matches any run of bytes, `?` any single byte, `\x` the byte `x`.
//! - `[abc]`, `[^abc]`, `[a-z]`; a reversed range `[z-a]` means `[a-z]`; `\` escapes inside
//!   brackets too (and an escaped byte there is compared case-sensitively even when
//!   `nocase` is set, as in Redis).
//! - An unterminated `[abc` is a class that runs to the end of the pattern; `[` alone as the
//!   last byte matches nothing, while `[^` alone matches any one byte.
//! - A trailing lone `\` matches a literal `\`.
//! - The empty string is matched by no non-empty pattern, **not even `*`**: Redis's matcher
//!   only consumes trailing `*`s after a byte of input. `KEYS *` and `SCAN` without `MATCH`
//!   special-case a lone `*` before calling the matcher (Redis does the same in
//!   `keysCommand`/`scanGenericCommand`), so callers must too to return the key `""`.
//! - Case folding (`nocase`) is ASCII-only, as Redis runs with the C locale for `LC_CTYPE`.
//! - Range bounds compare as **signed** bytes, as `char` is signed in Redis on x86-64: in
//!   `[a-\xff]` the bounds are 97 and -1, so the class is bytes -1..=97 (`\xff`, `\0`..`a`).
//!
//! # Bounded work
//!
//! A naive backtracking matcher is exponential on `a*a*a*...b`. Two guards from Redis 7
//! keep it polynomial and the stack bounded (CVE-2022-36021):
//!
//! - once the rest of the pattern after a `*` has failed at every remaining position of the
//!   input, no earlier `*` can help (it would only start that rest later), so the whole
//!   match fails at once (`skipLongerMatches` in Redis, `skip_longer` here);
//! - recursion stops at depth [`MAX_NESTING`] and that branch reports no match, so
//!   `"*?" x 50000` against 50000 `a`s is, as in Redis, *not* a match.

/// Maximum `*` recursion depth; deeper branches count as no match (Redis: `nesting > 1000`).
pub const MAX_NESTING: usize = 1000;

/// Does `pattern` match all of `string`? `nocase` folds ASCII letters. See the module docs.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    match_from(pattern, string, nocase, &mut skip_longer, 0)
}

/// Redis's `stringmatchlen_impl`. Where the C code reads `pattern[patternLen]` (the NUL
/// terminator of an sds string) this reads "end of slice", which never equals `*`, `]`,
/// `^`, `-` or `\`.
fn match_from(
    mut pattern: &[u8],
    mut string: &[u8],
    nocase: bool,
    skip_longer: &mut bool,
    nesting: usize,
) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    while let (Some(&p), Some(&s)) = (pattern.first(), string.first()) {
        match p {
            b'*' => {
                // Collapse a run of stars into its last one.
                while pattern.get(1) == Some(&b'*') {
                    pattern = &pattern[1..];
                }
                if pattern.len() == 1 {
                    return true;
                }
                while !string.is_empty() {
                    if match_from(&pattern[1..], string, nocase, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    string = &string[1..];
                }
                // The rest failed at every position: an earlier `*` taking more won't help.
                *skip_longer = true;
                return false;
            }
            b'?' => pattern = &pattern[1..],
            b'[' => {
                let (matched, rest) = match_class(&pattern[1..], s, nocase);
                if !matched {
                    return false;
                }
                pattern = rest;
            }
            _ => {
                // `\x` is a literal `x`; a lone trailing `\` is a literal `\`.
                if p == b'\\' && pattern.len() >= 2 {
                    pattern = &pattern[1..];
                }
                if !bytes_equal(pattern[0], s, nocase) {
                    return false;
                }
                pattern = &pattern[1..];
            }
        }
        string = &string[1..];
        if string.is_empty() {
            // Trailing stars match the empty rest; Redis only does this here, after a byte.
            while pattern.first() == Some(&b'*') {
                pattern = &pattern[1..];
            }
            break;
        }
    }
    pattern.is_empty() && string.is_empty()
}

/// Matches byte `c` against the class whose body starts at `class` (just after `[`).
/// Returns whether it matched (after `^` negation) and the pattern after the closing `]`,
/// or the empty pattern if the class is unterminated.
fn match_class(mut class: &[u8], c: u8, nocase: bool) -> (bool, &[u8]) {
    let negate = class.first() == Some(&b'^');
    if negate {
        class = &class[1..];
    }
    let mut matched = false;
    loop {
        match class {
            [b'\\', escaped, ..] => {
                // Redis compares escaped bytes exactly, ignoring `nocase`.
                matched |= *escaped == c;
                class = &class[2..];
            }
            [b']', rest @ ..] => {
                class = rest;
                break;
            }
            [] => break,
            [start, b'-', end, ..] => {
                matched |= in_range(*start, *end, c, nocase);
                class = &class[3..];
            }
            [b, ..] => {
                matched |= bytes_equal(*b, c, nocase);
                class = &class[1..];
            }
        }
    }
    (matched != negate, class)
}

fn bytes_equal(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// Redis's range test, on C's signed `char` values (x86-64), bounds swapped if reversed,
/// and with `nocase` lowering the bounds and the byte *after* the swap.
fn in_range(start: u8, end: u8, c: u8, nocase: bool) -> bool {
    let signed = |b: u8| i32::from(b as i8);
    let lower = |v: i32| {
        if nocase && (i32::from(b'A')..=i32::from(b'Z')).contains(&v) {
            v + 32
        } else {
            v
        }
    };
    let (start, end) = (signed(start), signed(end));
    let (start, end) = if start > end {
        (end, start)
    } else {
        (start, end)
    };
    (lower(start)..=lower(end)).contains(&lower(signed(c)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn m(pattern: &str, string: &str) -> bool {
        glob_match(pattern.as_bytes(), string.as_bytes(), false)
    }

    fn mi(pattern: &str, string: &str) -> bool {
        glob_match(pattern.as_bytes(), string.as_bytes(), true)
    }

    /// A literal transliteration of Redis's C code: indices, the NUL read past the end,
    /// the `pattern--` step-back in unterminated classes. The production code is shaped
    /// differently (slices, a class helper); this checks they agree byte for byte.
    fn redis_c(pat: &[u8], s: &[u8], nocase: bool, use_skip: bool) -> bool {
        fn at(b: &[u8], i: usize) -> u8 {
            b.get(i).copied().unwrap_or(0)
        }
        fn lower(c: i32) -> i32 {
            if (65..=90).contains(&c) { c + 32 } else { c }
        }
        #[allow(clippy::too_many_arguments)]
        fn imp(
            pat: &[u8],
            mut p: usize,
            s: &[u8],
            mut i: usize,
            nocase: bool,
            use_skip: bool,
            skip: &mut bool,
            nesting: usize,
        ) -> bool {
            if nesting > 1000 {
                return false;
            }
            let (mut plen, mut slen) = (pat.len() - p, s.len() - i);
            let eq = |a: u8, b: u8| {
                if nocase {
                    lower(a as i32) == lower(b as i32)
                } else {
                    a == b
                }
            };
            while plen > 0 && slen > 0 {
                match at(pat, p) {
                    b'*' => {
                        while plen > 0 && at(pat, p + 1) == b'*' {
                            p += 1;
                            plen -= 1;
                        }
                        if plen == 1 {
                            return true;
                        }
                        while slen > 0 {
                            if imp(pat, p + 1, s, i, nocase, use_skip, skip, nesting + 1) {
                                return true;
                            }
                            if use_skip && *skip {
                                return false;
                            }
                            i += 1;
                            slen -= 1;
                        }
                        *skip = true;
                        return false;
                    }
                    b'?' => {
                        i += 1;
                        slen -= 1;
                    }
                    b'[' => {
                        p += 1;
                        plen -= 1;
                        let not = at(pat, p) == b'^';
                        if not {
                            p += 1;
                            plen -= 1;
                        }
                        let mut matched = false;
                        loop {
                            if at(pat, p) == b'\\' && plen >= 2 {
                                p += 1;
                                plen -= 1;
                                if at(pat, p) == s[i] {
                                    matched = true;
                                }
                            } else if at(pat, p) == b']' {
                                break;
                            } else if plen == 0 {
                                p -= 1;
                                plen += 1;
                                break;
                            } else if plen >= 3 && at(pat, p + 1) == b'-' {
                                let (mut start, mut end) =
                                    (at(pat, p) as i8 as i32, at(pat, p + 2) as i8 as i32);
                                let mut c = s[i] as i8 as i32;
                                if start > end {
                                    std::mem::swap(&mut start, &mut end);
                                }
                                if nocase {
                                    (start, end, c) = (lower(start), lower(end), lower(c));
                                }
                                p += 2;
                                plen -= 2;
                                if c >= start && c <= end {
                                    matched = true;
                                }
                            } else if eq(at(pat, p), s[i]) {
                                matched = true;
                            }
                            p += 1;
                            plen -= 1;
                        }
                        if not {
                            matched = !matched;
                        }
                        if !matched {
                            return false;
                        }
                        i += 1;
                        slen -= 1;
                    }
                    c => {
                        if c == b'\\' && plen >= 2 {
                            p += 1;
                            plen -= 1;
                        }
                        if !eq(at(pat, p), s[i]) {
                            return false;
                        }
                        i += 1;
                        slen -= 1;
                    }
                }
                p += 1;
                plen -= 1;
                if slen == 0 {
                    while at(pat, p) == b'*' {
                        p += 1;
                        plen -= 1;
                    }
                    break;
                }
            }
            plen == 0 && slen == 0
        }
        imp(pat, 0, s, 0, nocase, use_skip, &mut false, 0)
    }

    #[test]
    fn redis_keys_test_suite() {
        // tests/unit/keyspace.tcl
        let keys = ["key_x", "key_y", "key_z", "foo_a", "foo_b", "foo_c"];
        let foo: Vec<_> = keys.iter().filter(|k| m("foo*", k)).collect();
        assert_eq!(foo, [&"foo_a", &"foo_b", &"foo_c"]);
        assert!(keys.iter().all(|k| m("*", k)));
        let tagged = ["{a}x", "{a}y", "{a}z", "{b}a", "{b}b", "{b}c"];
        assert_eq!(tagged.iter().filter(|k| m("{a}*", k)).count(), 3);
        assert!(
            tagged
                .iter()
                .filter(|k| m("*{b}*", k))
                .all(|k| k.starts_with("{b}"))
        );
        assert!(m("*", "dlskeriewrioeuwqoirueioqwrueoqwrueqw"));
        // tests/unit/scan.tcl
        let n = (0..1000)
            .filter(|i| m("key:1??", &format!("key:{i}")))
            .count();
        assert_eq!(n, 100);
        let members = ["foo", "fab", "fiz", "foobar", "1", "a", "2", "b", "3", "c"];
        let matched: Vec<_> = members.iter().filter(|k| m("foo*", k)).collect();
        assert_eq!(matched, [&"foo", &"foobar"]);
    }

    #[test]
    fn redis_psubscribe_test_suite() {
        // tests/unit/pubsub.tcl: PSUBSCRIBE foo.* bar.*
        let hits = |ch: &str| ["foo.*", "bar.*"].iter().filter(|p| m(p, ch)).count();
        assert_eq!(hits("foo.1"), 1);
        assert_eq!(hits("bar.1"), 1);
        assert_eq!(hits("foo1"), 0);
        assert_eq!(hits("barfoo.foo"), 0);
        assert_eq!(hits("qux.foo"), 0);
        assert!(m("__keyspace@*__:*", "__keyspace@9__:foo"));
        assert!(m("__key*__:*", "__keyevent@9__:set"));
        assert!(!m("__keyspace@*__:*", "__keyevent@9__:set"));
    }

    #[test]
    fn wildcards_and_classes() {
        assert!(m("h?llo", "hello") && m("h?llo", "hallo") && !m("h?llo", "hllo"));
        assert!(m("h*llo", "hllo") && m("h*llo", "heeeello"));
        assert!(m("h[ae]llo", "hello") && m("h[ae]llo", "hallo") && !m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo") && !m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hallo") && m("h[a-b]llo", "hbllo") && !m("h[a-b]llo", "hcllo"));
        assert!(
            m("h[b-a]llo", "hallo") && !m("h[b-a]llo", "hcllo"),
            "reversed range"
        );
        assert!(m("a**b", "ab") && m("a***", "a") && m("***", "x"));
        assert!(m("a*", "a") && m("a*b*", "ab"));
        assert!(!m("a", "ab") && !m("ab", "a") && !m("", "a"));
        assert!(m("", ""));
        assert!(
            !m("*", ""),
            "Redis: a non-empty pattern never matches the empty string"
        );
        assert!(!m("?", ""));
        assert!(m("[a-]]", "]"), "range a..] (swapped)");
        assert!(
            !m("[]a]x", "]") && !m("[]", "]"),
            "`[]` is an empty class, unlike POSIX"
        );
    }

    #[test]
    fn escapes_and_unterminated_classes() {
        assert!(m(r"h\*llo", "h*llo") && !m(r"h\*llo", "hello"));
        assert!(m(r"\?", "?") && !m(r"\?", "x"));
        assert!(m(r"[\]]", "]") && m(r"[\-]", "-") && !m(r"[\-]", "x"));
        assert!(m(r"[\^a]", "^"));
        // Trailing backslash: literal `\`.
        assert!(m("a\\", "a\\") && !m("a\\", "a") && !m("a\\", "ab"));
        assert!(m("[\\", "\\"), "unterminated class ending in a backslash");
        // Unterminated class: runs to the end of the pattern.
        assert!(m("[abc", "a") && m("[abc", "c") && !m("[abc", "d") && !m("[abc", "ab"));
        assert!(m("x[a-c", "xb") && !m("x[a-c", "xd"));
        assert!(!m("[", "x") && !m("a[", "a") && !m("[", ""));
        assert!(m("[^", "x") && m("[^", "^") && !m("[^", "xy"));
        assert!(!m("*[", "ab") && !m("*[", ""));
    }

    #[test]
    fn nocase_and_binary() {
        assert!(mi("HELLO", "hello") && mi("h*O", "HELLO") && !m("HELLO", "hello"));
        assert!(mi("[A-C]x", "bX") && mi("[a-c]", "B"));
        assert!(
            !mi(r"[\A]", "a"),
            "escaped bytes in a class are compared exactly"
        );
        assert!(!mi("[A-z]", "_"), "nocase lowers the bounds: a..z");
        assert!(m("[A-z]", "_"));
        assert!(glob_match(b"a\0*\xff", b"a\0bc\xff", false));
        assert!(glob_match(b"?", b"\0", false) && glob_match(b"\xff", b"\xff", true));
        assert!(
            !glob_match(b"\xe9", b"\xc9", true),
            "no folding outside ASCII"
        );
        // Signed-char ranges, as Redis on x86-64: [a-\xff] is -1..=97.
        assert!(glob_match(b"[a-\xff]", b"0", false));
        assert!(glob_match(b"[a-\xff]", b"\xff", false));
        assert!(!glob_match(b"[a-\xff]", b"\x80", false));
        assert!(!glob_match(b"[a-\xff]", b"b", false));
        assert!(glob_match(b"[\x80-\xff]", b"\x90", false));
    }

    #[test]
    fn pathological_patterns_finish_fast() {
        let start = Instant::now();
        // keyspace.tcl "Regression for pattern matching long nested loops"
        let a40 = "a".repeat(40);
        assert!(!m("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", &a40));
        let a100k = "a".repeat(100_000);
        assert!(!m("a*a*a*a*a*a*a*a*a*a*b", &a100k));
        assert!(m("a*a*a*a*a*a*a*a*a*a*", &a100k));
        // "...very long nested loops": Redis gives up past depth 1000 and says no match.
        let a50k = "a".repeat(50_000);
        assert!(!m(&"*?".repeat(50_000), &a50k));
        assert!(
            m(&"*?".repeat(500), &a50k),
            "within the depth limit it does match"
        );
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "took {:?}",
            start.elapsed()
        );
    }

    #[test]
    fn agrees_with_literal_c_port_on_random_inputs() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"ab*?[]^-\\A\xff\x80";
        let mut nr_matches = 0;
        for _ in 0..200_000 {
            let mut gen_bytes = |max: u64| -> Vec<u8> {
                let n = next() % max;
                (0..n)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect()
            };
            let (pattern, string) = (gen_bytes(10), gen_bytes(8));
            for nocase in [false, true] {
                let got = glob_match(&pattern, &string, nocase);
                assert_eq!(
                    got,
                    redis_c(&pattern, &string, nocase, true),
                    "{pattern:?} {string:?}"
                );
                // skip_longer is an optimisation: it must not change any answer.
                assert_eq!(
                    got,
                    redis_c(&pattern, &string, nocase, false),
                    "{pattern:?} {string:?}"
                );
                nr_matches += usize::from(got);
            }
        }
        assert!(nr_matches > 10_000, "inputs too rarely match: {nr_matches}");
    }
}
