//! INCRBYFLOAT's arithmetic, exactly as Redis does it on x86-64: the x87 80-bit `long double`.
//!
//! Redis reads both operands with `strtold`, adds them in `long double` and prints the sum with
//! `%.17Lf`, trailing zeros stripped. A double cannot give the same text: `0.1 + 0.2` prints
//! `0.3` in Redis and `0.30000000000000004` in f64, `123456789.123 + 0.001` prints
//! `123456789.12399999999615829` in Redis, and Redis accepts `1e400`. So this module does the
//! three steps in software, each exactly:
//!
//! 1. [`parse`]: glibc's `strtold`, correctly rounded (ties to even) to a 64-bit significand
//!    with the x87 exponent range and gradual underflow, with Redis's `string2ld` rules on top.
//! 2. [`add`]: one correctly rounded addition (the x87 default precision control is 64 bits).
//! 3. [`format`]: `%.17Lf` (glibc rounds the exact binary value, ties to even), then Redis's
//!    `ld2string` human mode: trailing zeros and a trailing `.` removed, `-0` written `0`.
//!
//! Exactness comes from a small arbitrary-precision integer ([`Big`]): a value is
//! `mant × 2^exp`, and every step first computes an exact integer, then rounds once.

use std::cmp::Ordering;

/// Significand bits of the x87 extended format.
const MANT_BITS: i64 = 64;
/// Exponent of the least significant bit of the smallest subnormal: 2^-16445.
const MIN_LSB_EXP: i64 = -16445;
/// Every finite value is below 2^16384.
const MAX_EXP_EXCLUSIVE: i64 = 16384;
/// `MAX_LONG_DOUBLE_CHARS` in Redis: longer inputs are refused before `strtold` sees them.
const MAX_INPUT_BYTES: usize = 5 * 1024;
/// Fraction digits `%.17Lf` prints.
const FRACTION_DIGITS: u32 = 17;

/// A finite `long double`: `(-1)^neg × mant × 2^exp`, exactly representable in the x87 format.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LongDouble {
    neg: bool,
    mant: u64,
    exp: i64,
}

/// A parsed operand: finite, or an infinity (`inf` is valid input; any sum with it is refused).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Operand {
    Finite(LongDouble),
    Infinite,
}

impl LongDouble {
    pub const ZERO: LongDouble = LongDouble {
        neg: false,
        mant: 0,
        exp: 0,
    };
}

/// Parses a number as Redis's `string2ld` does: `strtold` must consume the whole input, which
/// must be non-empty, shorter than 5120 bytes and not start with whitespace; NaN is refused, and
/// so are finite inputs that overflow to infinity or underflow to zero (`ERANGE`).
///
/// Accepted syntax is `strtold`'s in the C locale: an optional sign, then `inf`/`infinity` (any
/// case), a hexadecimal float (`0x1.8p3`) or a decimal one (`.5`, `5.`, `1e-3`).
pub fn parse(text: &[u8]) -> Option<Operand> {
    if text.is_empty() || text.len() >= MAX_INPUT_BYTES {
        return None;
    }
    let (neg, rest) = match text[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if rest.eq_ignore_ascii_case(b"inf") || rest.eq_ignore_ascii_case(b"infinity") {
        return Some(Operand::Infinite);
    }
    let value = if rest.len() > 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        parse_hex(&rest[2..], neg)?
    } else {
        parse_decimal(rest, neg)?
    };
    value.map(Operand::Finite)
}

/// The outcome of rounding: a value, or None when it overflowed to infinity.
type Rounded = Option<LongDouble>;

/// `digits[.digits][(e|E)[sign]digits]` with at least one mantissa digit. Returns None on
/// bad syntax, Some(None) on overflow or underflow to zero (both refused by Redis).
fn parse_decimal(text: &[u8], neg: bool) -> Option<Rounded> {
    let mut digits: Vec<u8> = Vec::new();
    let mut point_shift: i64 = 0;
    let mut seen_point = false;
    let mut any_digit = false;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            d @ b'0'..=b'9' => {
                any_digit = true;
                if seen_point {
                    point_shift -= 1;
                }
                // Leading zeros are not significant (after the point they still shifted it).
                if !(digits.is_empty() && d == b'0') {
                    digits.push(d - b'0');
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if !any_digit {
        return None;
    }
    let mut exp10: i64 = 0;
    if i < text.len() {
        if text[i] | 0x20 != b'e' {
            return None;
        }
        exp10 = parse_exponent(&text[i + 1..])?;
    }
    if digits.is_empty() {
        return Some(Some(LongDouble {
            neg,
            ..LongDouble::ZERO
        }));
    }
    let exp10 = exp10.saturating_add(point_shift);
    let nr_digits = digits.len() as i64;
    // The value lies in [10^(nr_digits - 1 + exp10), 10^(nr_digits + exp10)).
    if nr_digits - 1 + exp10 > 4932 {
        return Some(None); // ≥ 1e4933 > LDBL_MAX
    }
    if nr_digits + exp10 <= -4952 {
        return Some(None); // below 1e-4952, under half the smallest subnormal: rounds to zero
    }
    let mut n = Big::zero();
    for chunk in digits.chunks(19) {
        let mut v = 0u64;
        for &d in chunk {
            v = v * 10 + u64::from(d);
        }
        n.mul_small(10u64.pow(chunk.len() as u32));
        n.add_small(v);
    }
    let rounded = if exp10 >= 0 {
        n.mul_pow10(exp10 as u32);
        round(&n, 0, false, neg)
    } else {
        let mut p = Big::from_u64(1);
        p.mul_pow10((-exp10) as u32);
        // Scale so the quotient has at least 66 bits, then divide; the remainder is sticky.
        let shift = 66 + p.bit_len() as i64 - n.bit_len() as i64;
        let (mut a, b) = if shift >= 0 {
            (n.shl(shift as u64), p)
        } else {
            (n, p.shl((-shift) as u64))
        };
        let q = a.div_rem_small_quotient(&b);
        let sticky = !a.is_zero();
        // Either way the quotient's unit is 2^-shift.
        round(&Big::from_u128(q), -shift, sticky, neg)
    };
    Some(refuse_underflow(rounded))
}

/// `hexdigits[.hexdigits][(p|P)[sign]digits]` after the `0x`.
fn parse_hex(text: &[u8], neg: bool) -> Option<Rounded> {
    let mut n = Big::zero();
    let mut exp2: i64 = 0;
    let mut seen_point = false;
    let mut any_digit = false;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'.' if !seen_point => seen_point = true,
            c if c.is_ascii_hexdigit() => {
                any_digit = true;
                let d = (c as char).to_digit(16).unwrap_or(0);
                n.mul_small(16);
                n.add_small(u64::from(d));
                if seen_point {
                    exp2 -= 4;
                }
            }
            _ => break,
        }
        i += 1;
    }
    if !any_digit {
        return None;
    }
    if i < text.len() {
        if text[i] | 0x20 != b'p' {
            return None;
        }
        exp2 = exp2.saturating_add(parse_exponent(&text[i + 1..])?);
    }
    if n.is_zero() {
        return Some(Some(LongDouble {
            neg,
            ..LongDouble::ZERO
        }));
    }
    Some(refuse_underflow(round(&n, exp2, false, neg)))
}

/// A non-zero input that rounded to zero is `strtold`'s underflow: Redis refuses it like an
/// overflow, so both become None here.
fn refuse_underflow(r: Rounded) -> Rounded {
    r.filter(|v| v.mant != 0)
}

/// `[sign]digits`, saturating far beyond any exponent that could matter.
fn parse_exponent(text: &[u8]) -> Option<i64> {
    crate::protocol::double::parse_exponent(text, 1_000_000_000)
}

/// Rounds `n × 2^exp2` (plus, if `sticky`, something positive below its last bit) to the
/// nearest `long double`, ties to even, with gradual underflow. None on overflow.
///
/// With `sticky` set the caller guarantees `n` has at least 66 bits, so the sticky part lies
/// below the rounding bit.
fn round(n: &Big, exp2: i64, sticky: bool, neg: bool) -> Rounded {
    let len = n.bit_len() as i64;
    if len == 0 {
        return Some(LongDouble {
            neg,
            ..LongDouble::ZERO
        });
    }
    let msb_exp = exp2 + len - 1;
    let lsb_exp = (msb_exp - (MANT_BITS - 1)).max(MIN_LSB_EXP);
    let drop = lsb_exp - exp2;
    let (mut mant, mut lsb_exp) = if drop <= 0 {
        (n.bits(0, len as u64) << (-drop), lsb_exp)
    } else {
        let drop = drop as u64;
        let kept = n.bits(drop, (len as u64).saturating_sub(drop));
        let half = n.bit(drop - 1);
        let below_half = sticky || n.any_below(drop - 1);
        let up = half && (below_half || kept & 1 == 1);
        (kept + u128::from(up), lsb_exp)
    };
    if mant >> MANT_BITS != 0 {
        mant >>= 1;
        lsb_exp += 1;
    }
    if mant != 0 && lsb_exp + (128 - mant.leading_zeros() as i64) > MAX_EXP_EXCLUSIVE {
        return None;
    }
    Some(LongDouble {
        neg,
        mant: mant as u64,
        exp: lsb_exp,
    })
}

/// `a + b`, rounded once. None when the sum overflows.
pub fn add(a: LongDouble, b: LongDouble) -> Option<LongDouble> {
    if a.mant == 0 {
        return Some(b);
    }
    if b.mant == 0 {
        return Some(a);
    }
    let base = a.exp.min(b.exp);
    let big_a = Big::from_u64(a.mant).shl((a.exp - base) as u64);
    let big_b = Big::from_u64(b.mant).shl((b.exp - base) as u64);
    if a.neg == b.neg {
        return round(&big_a.add(&big_b), base, false, a.neg);
    }
    match big_a.cmp(&big_b) {
        Ordering::Equal => Some(LongDouble::ZERO),
        Ordering::Greater => round(&big_a.sub(&big_b), base, false, a.neg),
        Ordering::Less => round(&big_b.sub(&big_a), base, false, b.neg),
    }
}

/// `%.17Lf`, then Redis's `ld2string` human form: `10.6`, `5000`, `-0.25`, never `-0`.
pub fn format(v: LongDouble) -> String {
    let int_part: String;
    let frac: u64;
    if v.exp >= 0 {
        int_part = Big::from_u64(v.mant).shl(v.exp as u64).to_decimal();
        frac = 0;
    } else if -v.exp >= 128 {
        // Below 2^64 × 2^-128 = 2^-64, far under half of 10^-17: prints as zero.
        int_part = "0".to_owned();
        frac = 0;
    } else {
        let f = (-v.exp) as u32;
        let scaled = u128::from(v.mant) * 10u128.pow(FRACTION_DIGITS);
        let mut q = scaled >> f;
        let rem = scaled & ((1u128 << f) - 1);
        let half = 1u128 << (f - 1);
        if rem > half || (rem == half && q & 1 == 1) {
            q += 1;
        }
        let unit = 10u128.pow(FRACTION_DIGITS);
        int_part = (q / unit).to_string();
        frac = (q % unit) as u64;
    }
    let mut text = String::with_capacity(int_part.len() + 20);
    if v.neg {
        text.push('-');
    }
    text.push_str(&int_part);
    let frac_text = format!("{frac:017}");
    let frac_text = frac_text.trim_end_matches('0');
    if !frac_text.is_empty() {
        text.push('.');
        text.push_str(frac_text);
    }
    if text == "-0" {
        return "0".to_owned();
    }
    text
}

/// An unsigned integer of any size: little-endian 64-bit limbs, no trailing zero limbs.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u64>);

impl Big {
    fn zero() -> Big {
        Big(Vec::new())
    }

    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v]);
        b.trim();
        b
    }

    fn from_u128(v: u128) -> Big {
        let mut b = Big(vec![v as u64, (v >> 64) as u64]);
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bit_len(&self) -> u64 {
        self.0.last().map_or(0, |&top| {
            self.0.len() as u64 * 64 - u64::from(top.leading_zeros())
        })
    }

    fn bit(&self, i: u64) -> bool {
        self.0
            .get((i / 64) as usize)
            .is_some_and(|&limb| limb >> (i % 64) & 1 == 1)
    }

    /// True when any bit below position `i` is set.
    fn any_below(&self, i: u64) -> bool {
        let (whole, part) = ((i / 64) as usize, i % 64);
        self.0[..whole.min(self.0.len())].iter().any(|&l| l != 0)
            || (part > 0
                && self
                    .0
                    .get(whole)
                    .is_some_and(|&l| l & ((1 << part) - 1) != 0))
    }

    /// Bits `lo .. lo + len` (len ≤ 64) as an integer.
    fn bits(&self, lo: u64, len: u64) -> u128 {
        debug_assert!(len <= 64);
        let mut out = 0u128;
        for k in (0..len).rev() {
            out = (out << 1) | u128::from(self.bit(lo + k));
        }
        out
    }

    fn mul_small(&mut self, m: u64) {
        let mut carry = 0u128;
        for limb in &mut self.0 {
            let p = u128::from(*limb) * u128::from(m) + carry;
            *limb = p as u64;
            carry = p >> 64;
        }
        if carry != 0 {
            self.0.push(carry as u64);
        }
        self.trim();
    }

    fn add_small(&mut self, a: u64) {
        let mut carry = a;
        for limb in &mut self.0 {
            if carry == 0 {
                return;
            }
            let (s, overflow) = limb.overflowing_add(carry);
            *limb = s;
            carry = overflow as u64;
        }
        if carry != 0 {
            self.0.push(carry);
        }
    }

    fn mul_pow10(&mut self, mut e: u32) {
        while e >= 19 {
            self.mul_small(10u64.pow(19));
            e -= 19;
        }
        self.mul_small(10u64.pow(e));
    }

    fn shl(&self, bits: u64) -> Big {
        let (whole, part) = ((bits / 64) as usize, bits % 64);
        let mut out = vec![0u64; whole];
        let mut carry = 0u64;
        for &limb in &self.0 {
            if part == 0 {
                out.push(limb);
            } else {
                out.push((limb << part) | carry);
                carry = limb >> (64 - part);
            }
        }
        if carry != 0 {
            out.push(carry);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn shr1(&mut self) {
        for i in 0..self.0.len() {
            let next = self.0.get(i + 1).map_or(0, |&n| n << 63);
            self.0[i] = (self.0[i] >> 1) | next;
        }
        self.trim();
    }

    fn add(&self, other: &Big) -> Big {
        let (long, short) = if self.0.len() >= other.0.len() {
            (self, other)
        } else {
            (other, self)
        };
        let mut out = Vec::with_capacity(long.0.len() + 1);
        let mut carry = false;
        for (i, &l) in long.0.iter().enumerate() {
            let s = short.0.get(i).copied().unwrap_or(0);
            let (x, o1) = l.overflowing_add(s);
            let (y, o2) = x.overflowing_add(carry as u64);
            out.push(y);
            carry = o1 || o2;
        }
        if carry {
            out.push(1);
        }
        Big(out)
    }

    /// `self - other`, for `self >= other`.
    fn sub(&self, other: &Big) -> Big {
        let mut out = self.clone();
        out.sub_assign(other);
        out
    }

    fn sub_assign(&mut self, other: &Big) {
        let mut borrow = false;
        for i in 0..self.0.len() {
            let o = other.0.get(i).copied().unwrap_or(0);
            let (x, b1) = self.0[i].overflowing_sub(o);
            let (y, b2) = x.overflowing_sub(borrow as u64);
            self.0[i] = y;
            borrow = b1 || b2;
        }
        debug_assert!(!borrow, "sub_assign underflow");
        self.trim();
    }

    /// Divides in place, leaving the remainder in `self`; the quotient must fit in 127 bits
    /// (the callers scale so it has 66 to 67).
    fn div_rem_small_quotient(&mut self, divisor: &Big) -> u128 {
        if *self < *divisor {
            return 0;
        }
        let k = self.bit_len() - divisor.bit_len();
        debug_assert!(k < 127);
        let mut d = divisor.shl(k);
        let mut q = 0u128;
        for i in (0..=k).rev() {
            if *self >= d {
                self.sub_assign(&d);
                q |= 1u128 << i;
            }
            d.shr1();
        }
        q
    }

    fn to_decimal(&self) -> String {
        const CHUNK: u64 = 10_000_000_000_000_000_000; // 10^19
        let mut n = self.0.clone();
        let mut chunks: Vec<u64> = Vec::new();
        while !n.is_empty() {
            let mut rem = 0u128;
            for limb in n.iter_mut().rev() {
                let cur = (rem << 64) | u128::from(*limb);
                *limb = (cur / u128::from(CHUNK)) as u64;
                rem = cur % u128::from(CHUNK);
            }
            chunks.push(rem as u64);
            while n.last() == Some(&0) {
                n.pop();
            }
        }
        let Some((top, rest)) = chunks.split_last() else {
            return "0".to_owned();
        };
        let mut out = top.to_string();
        for c in rest.iter().rev() {
            out.push_str(&format!("{c:019}"));
        }
        out
    }
}

impl PartialOrd for Big {
    fn partial_cmp(&self, other: &Big) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Big {
    fn cmp(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }
}

#[cfg(test)]
#[path = "long_double_tests.rs"]
mod tests;
