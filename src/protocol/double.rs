//! The text of floating point numbers, as Redis writes and reads them.
//!
//! Three conversions with three different Redis ancestors:
//! - [`format_double`] / [`double_text`]: how Redis 7.2+ replies a double (`d2string`: integers
//!   up to 2^62 in plain digits, everything else through `fpconv_dtoa`). Used by RESP3 `,`
//!   replies, by their RESP2 bulk form and by ZSCORE-like replies.
//! - [`format_incrbyfloat`]: the value INCRBYFLOAT/HINCRBYFLOAT store and reply (Redis prints a
//!   long double with `%.17Lf` and strips trailing zeros): fixed notation, never an exponent.
//! - [`parse_double`]: Redis's `string2d` (`strtod` plus strictness checks).
//!
//! # Digits
//! `fpconv_dtoa` uses Grisu2, which for rare doubles emits a round-trip-correct string that
//! is longer than the shortest. We take the digits from Rust's formatter, which is always
//! shortest, and reproduce `fpconv_dtoa`'s layout (when it switches to exponent notation and
//! how the exponent is written) exactly. Checked against Redis's `d2string` compiled from
//! source: 500,000 mixed doubles printed identically, and of 3,000,000 random bit patterns
//! one differed (`-5.68013956065839e-309`, where Grisu2 prints `-5.680139560658392e-309`).
//! Both texts read back to the same double.

use std::fmt::Write as _;

use super::inline::is_c_space;

/// Longest text [`double_text`] produces: 17 digits and 7 zeros with a sign, e.g.
/// `-117833484209796860000000` (25 bytes); exponent forms are at most 24.
pub const MAX_DOUBLE_TEXT_BYTES: usize = 25;

/// Fractional digits INCRBYFLOAT keeps: Redis prints with `%.17Lf`.
const INCRBYFLOAT_FRACTION_DIGITS: usize = 17;

/// Redis prints integral doubles within ±(LLONG_MAX / 2) with its integer printer.
const INTEGER_PRINT_LIMIT: f64 = 4_611_686_018_427_387_904.0;

/// The text of a double on the stack, so encoding a reply does not allocate.
#[derive(Clone, Copy)]
pub struct DoubleText {
    buf: [u8; 32],
    len: usize,
}

impl DoubleText {
    fn new() -> Self {
        DoubleText {
            buf: [0; 32],
            len: 0,
        }
    }

    /// The ASCII text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The text as `&str` (always ASCII).
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever pushed; the fallback is unreachable but must not panic.
        std::str::from_utf8(self.as_bytes()).unwrap_or("nan")
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn push_all(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.push(b);
        }
    }
}

impl std::fmt::Write for DoubleText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.len + s.len() > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.push_all(s.as_bytes());
        Ok(())
    }
}

/// Formats `f` the way Redis 7.2+ replies a double: `1.5`, `0.1`, `3`, `-0`, `1e+300`,
/// `1e-7`, `inf`, `-inf`, `nan`.
pub fn format_double(f: f64) -> String {
    double_text(f).as_str().to_owned()
}

/// [`format_double`] without allocating.
pub fn double_text(f: f64) -> DoubleText {
    let mut text = DoubleText::new();
    if f.is_nan() {
        text.push_all(b"nan");
    } else if f.is_infinite() {
        text.push_all(if f < 0.0 { b"-inf" } else { b"inf" });
    } else if f == 0.0 {
        text.push_all(if f.is_sign_negative() { b"-0" } else { b"0" });
    } else if f.fract() == 0.0 && f.abs() <= INTEGER_PRINT_LIMIT {
        // Exact: the value is integral and far inside i64's range.
        let _ = write!(text, "{}", f as i64);
    } else {
        write_fpconv(f, &mut text);
    }
    text
}

/// Formats `f` as Redis 7.0 replies a double (`addReplyDouble`, and `d2string` for ZSCAN):
/// C's `%.17g` (`0.10000000000000001`, `3`, `-0`, `1.0000000000000001e+300`, `1e-05`), with
/// `inf`, `-inf` and `nan` spelled out. Redis 7.2 switched to the shortest round-trip form
/// ([`double_text`]); corekv answers as the 7.0 server it is checked against.
pub fn reply_double_text(f: f64) -> DoubleText {
    let mut text = DoubleText::new();
    if f.is_nan() {
        text.push_all(b"nan");
        return text;
    }
    if f.is_infinite() {
        text.push_all(if f < 0.0 { b"-inf" } else { b"inf" });
        return text;
    }
    if f == 0.0 {
        text.push_all(if f.is_sign_negative() { b"-0" } else { b"0" });
        return text;
    }
    // `{:.16e}` rounds to 17 significant digits exactly as printf does; %g then picks the
    // layout from the rounded exponent X: fixed when -4 <= X < 17, else exponent form.
    let mut sci = DoubleText::new();
    let _ = write!(sci, "{:.16e}", f);
    let bytes = sci.as_bytes();
    let e_pos = bytes.iter().position(|&b| b == b'e').unwrap_or(bytes.len());
    let x: i32 = std::str::from_utf8(&bytes[(e_pos + 1).min(bytes.len())..])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if (-4..17).contains(&x) {
        let mut fixed = DoubleText::new();
        let _ = write!(fixed, "{:.*}", (16 - x) as usize, f);
        text.push_all(strip_fraction_zeros(fixed.as_bytes()));
    } else {
        text.push_all(strip_fraction_zeros(&bytes[..e_pos]));
        text.push(b'e');
        text.push(if x < 0 { b'-' } else { b'+' });
        if x.unsigned_abs() < 10 {
            text.push(b'0');
        }
        let _ = write!(text, "{}", x.unsigned_abs());
    }
    text
}

/// `1.2500` -> `1.25`, `3.000` -> `3`; text without a `.` is returned as is.
fn strip_fraction_zeros(t: &[u8]) -> &[u8] {
    if !t.contains(&b'.') {
        return t;
    }
    let mut end = t.len();
    while end > 0 && t[end - 1] == b'0' {
        end -= 1;
    }
    if end > 0 && t[end - 1] == b'.' {
        end -= 1;
    }
    &t[..end]
}

/// Shortest digits of a finite, non-zero `|f|`, and `K` such that `|f| = digits × 10^K`.
fn shortest_digits(f: f64) -> (DoubleText, i32) {
    let mut sci = DoubleText::new();
    // `{:e}` prints the shortest round-trip digits: `1.2345e-5`, `1e300`.
    let _ = write!(sci, "{:e}", f.abs());
    let text = sci.as_bytes();
    let e_pos = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
    let exponent: i32 = std::str::from_utf8(&text[(e_pos + 1).min(text.len())..])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut digits = DoubleText::new();
    for &b in text[..e_pos].iter().filter(|b| b.is_ascii_digit()) {
        digits.push(b);
    }
    let k = exponent - (digits.len as i32 - 1);
    (digits, k)
}

/// The layout of `fpconv_dtoa`'s `emit_digits`, given the digits.
fn write_fpconv(f: f64, out: &mut DoubleText) {
    if f.is_sign_negative() {
        out.push(b'-');
    }
    let (digits, k) = shortest_digits(f);
    let digits = digits.as_bytes();
    let ndigits = digits.len() as i32;
    let exp = (k + ndigits - 1).abs();

    if k >= 0 && exp < ndigits + 7 {
        // Plain integer: digits then K zeros.
        out.push_all(digits);
        (0..k).for_each(|_| out.push(b'0'));
    } else if k < 0 && (k > -7 || exp < 4) {
        // Plain decimal, with a leading "0." when below one.
        let int_digits = ndigits + k;
        if int_digits <= 0 {
            out.push_all(b"0.");
            (0..-int_digits).for_each(|_| out.push(b'0'));
            out.push_all(digits);
        } else {
            let (int_part, frac_part) = digits.split_at(int_digits as usize);
            out.push_all(int_part);
            out.push(b'.');
            out.push_all(frac_part);
        }
    } else {
        write_scientific(digits, k + ndigits - 1, out);
    }
}

/// `d[.ddd]e±X`: the exponent has no leading zeros, except that a three-digit exponent
/// keeps its middle zero (`e+105`), as in `fpconv_dtoa`.
fn write_scientific(digits: &[u8], decimal_exponent: i32, out: &mut DoubleText) {
    if let Some((&first, rest)) = digits.split_first() {
        out.push(first);
        if !rest.is_empty() {
            out.push(b'.');
            out.push_all(rest);
        }
    }
    out.push(b'e');
    out.push(if decimal_exponent < 0 { b'-' } else { b'+' });
    let _ = write!(out, "{}", decimal_exponent.unsigned_abs());
}

/// Formats an INCRBYFLOAT/HINCRBYFLOAT result: fixed notation with trailing zeros (and a
/// trailing `.`) removed, `-0` written as `0`, e.g. `10.6`, `5000`, `100000000000000000000`.
///
/// Redis sums in 80-bit long double and prints `%.17Lf`; we get the same "human" text from
/// f64's shortest round-trip digits, cut to the 17 fractional digits `%.17Lf` keeps. What
/// stays different is the arithmetic, not this text: `0.1 + 0.2` is `0.30000000000000004` in
/// f64 but `0.3` in long double, while Redis shows long double's own error where f64 has
/// none (`123456789.123 + 0.001` is `123456789.12399999999615829` in Redis, `123456789.124`
/// here).
pub fn format_incrbyfloat(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_owned();
    }
    if f.is_infinite() {
        return if f < 0.0 { "-inf" } else { "inf" }.to_owned();
    }
    // `{}` never uses an exponent and prints the shortest round-trip digits.
    let mut text = format!("{f}");
    let fraction_digits = text.find('.').map_or(0, |dot| text.len() - dot - 1);
    if fraction_digits > INCRBYFLOAT_FRACTION_DIGITS {
        text = format!("{f:.INCRBYFLOAT_FRACTION_DIGITS$}");
    }
    if text.contains('.') {
        let kept = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(kept);
    }
    if text == "-0" {
        text = "0".to_owned();
    }
    text
}

/// Parses a double as Redis's `string2d` does, or `None`.
///
/// # Accepts
/// Everything `strtod` accepts that spans the whole input: an optional sign, decimal digits
/// with an optional `.` and exponent (`1e3`, `.5`, `5.`, `-1.5E-3`), `inf`/`infinity` in any
/// case, and C99 hexadecimal floats (`0x1.8p3`).
///
/// # Rejects
/// Empty input, a leading whitespace byte (`strtod` would skip it; Redis refuses it),
/// trailing bytes of any kind, NaN in any spelling, and values that overflow to infinity or
/// underflow to zero (`1e400`, `1e-400`: `strtod` reports ERANGE and Redis refuses those).
pub fn parse_double(b: &[u8]) -> Option<f64> {
    if b.first().is_none_or(|&c| is_c_space(c)) {
        return None;
    }
    let (negative, unsigned) = match b[0] {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    let magnitude = if is_hex_prefix(unsigned) {
        parse_hex_float(&unsigned[2..])?
    } else {
        parse_decimal(unsigned)?
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// Parses an unsigned decimal float or `inf`/`infinity`, with strtod's range checks.
fn parse_decimal(text: &[u8]) -> Option<f64> {
    // A sign here would be a second sign ("--1"), which strtod refuses; Rust would not.
    if matches!(text.first(), Some(b'+' | b'-')) {
        return None;
    }
    let value: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
    if value.is_nan() {
        return None;
    }
    let is_infinity_word =
        text.eq_ignore_ascii_case(b"inf") || text.eq_ignore_ascii_case(b"infinity");
    if value.is_infinite() && !is_infinity_word {
        return None; // overflow: ERANGE with HUGE_VAL
    }
    let mantissa_end = text
        .iter()
        .position(|&c| c == b'e' || c == b'E')
        .unwrap_or(text.len());
    if value == 0.0
        && text[..mantissa_end]
            .iter()
            .any(|c| (b'1'..=b'9').contains(c))
    {
        return None; // underflow: ERANGE with a zero result
    }
    Some(value)
}

fn is_hex_prefix(text: &[u8]) -> bool {
    text.len() >= 2 && text[0] == b'0' && (text[1] == b'x' || text[1] == b'X')
}

/// Parses the part of a C99 hex float after `0x`: `h[.h][p[±]d]`, at least one hex digit.
fn parse_hex_float(text: &[u8]) -> Option<f64> {
    let mut mantissa = HexMantissa::default();
    let mut pos = 0;
    while let Some(d) = text.get(pos).and_then(|&c| hex_digit(c)) {
        mantissa.push_integer_digit(d);
        pos += 1;
    }
    if text.get(pos) == Some(&b'.') {
        pos += 1;
        while let Some(d) = text.get(pos).and_then(|&c| hex_digit(c)) {
            mantissa.push_fraction_digit(d);
            pos += 1;
        }
    }
    if !mantissa.any_digit {
        return None;
    }
    let binary_exponent = match text.get(pos) {
        None => 0,
        Some(b'p' | b'P') => parse_binary_exponent(&text[pos + 1..])?,
        Some(_) => return None,
    };
    mantissa.to_f64(binary_exponent)
}

/// A hex float's significant bits: the first 60-64 bits exactly, the rest as a sticky bit.
#[derive(Default)]
struct HexMantissa {
    bits: u64,
    /// Power of two the accumulated `bits` are scaled by.
    exponent: i64,
    /// Some dropped digit was non-zero: decides ties when rounding.
    sticky: bool,
    any_digit: bool,
}

impl HexMantissa {
    fn has_room(&self) -> bool {
        self.bits >> 60 == 0
    }

    fn push_integer_digit(&mut self, d: u8) {
        self.any_digit = true;
        if self.has_room() {
            self.bits = self.bits * 16 + u64::from(d);
        } else {
            self.exponent += 4;
            self.sticky |= d != 0;
        }
    }

    fn push_fraction_digit(&mut self, d: u8) {
        self.any_digit = true;
        if self.has_room() {
            self.bits = self.bits * 16 + u64::from(d);
            self.exponent -= 4;
        } else {
            self.sticky |= d != 0;
        }
    }

    /// Rounds `bits × 2^(exponent + binary_exponent)` to the nearest double, ties to even,
    /// including subnormals; `None` on overflow or underflow to zero (strtod's ERANGE).
    fn to_f64(&self, binary_exponent: i64) -> Option<f64> {
        if self.bits == 0 {
            return Some(0.0);
        }
        let shift = self.bits.leading_zeros();
        let bits = self.bits << shift;
        // The value is `bits × 2^(e - 63)` with the top bit of `bits` set.
        let e = self.exponent + binary_exponent + 63 - i64::from(shift);
        if e > 1023 {
            return None;
        }
        // Normal doubles keep 53 bits; below 2^-1022 every halving loses one more bit.
        let dropped_bits = 11 + (-1022 - e).max(0);
        if dropped_bits > 64 {
            return None; // below half the smallest subnormal: rounds to zero
        }
        let rounded = round_half_even(bits, dropped_bits as u32, self.sticky);
        // Exact: `rounded` has at most 53 bits and the product is representable.
        let value = rounded as f64 * pow2(e - 63 + dropped_bits);
        if value == 0.0 || value.is_infinite() {
            return None;
        }
        Some(value)
    }
}

/// `bits >> dropped`, rounded to nearest with ties to even, `sticky` meaning "a bit below
/// `bits` was set".
fn round_half_even(bits: u64, dropped: u32, sticky: bool) -> u64 {
    if dropped == 0 {
        return bits;
    }
    let kept = if dropped == 64 { 0 } else { bits >> dropped };
    let half = 1u64 << (dropped - 1);
    let rest = bits & (half.wrapping_shl(1).wrapping_sub(1));
    let above_half = rest > half || (rest == half && sticky);
    let tie = rest == half && !sticky;
    if above_half || (tie && kept & 1 == 1) {
        kept + 1
    } else {
        kept
    }
}

/// 2^e, built from its bits so it is exact, for `e` in [-1074, 1023] (`to_f64` never asks
/// for more).
fn pow2(e: i64) -> f64 {
    if e >= -1022 {
        f64::from_bits(((e.min(1023) + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (e.max(-1074) + 1074))
    }
}

fn parse_binary_exponent(text: &[u8]) -> Option<i64> {
    // Anything past ±100000 overflows or underflows every mantissa anyway.
    parse_exponent(text, 100_000)
}

/// `[sign]digits` as an exponent, saturating at `cap` in magnitude (so a huge exponent still
/// parses, to overflow or underflow later, instead of wrapping).
pub(crate) fn parse_exponent(text: &[u8], cap: i64) -> Option<i64> {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits
        .iter()
        .fold(0i64, |acc, &d| (acc * 10 + i64::from(d - b'0')).min(cap));
    Some(if negative { -magnitude } else { magnitude })
}

fn hex_digit(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
#[path = "double_tests.rs"]
mod tests;
