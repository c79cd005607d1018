use super::*;

fn finite(text: &str) -> LongDouble {
    match parse(text.as_bytes()) {
        Some(Operand::Finite(v)) => v,
        other => panic!("{text}: {other:?}"),
    }
}

fn sum(a: &str, b: &str) -> String {
    format(add(finite(a), finite(b)).expect("finite sum"))
}

/// Replies of Redis 7.0.15 on x86-64 to `SET k a` + `INCRBYFLOAT k b`.
#[test]
fn sums_match_redis() {
    let cases = [
        ("10.5", "0.1", "10.6"),
        ("0.1", "0.2", "0.3"),
        ("123456789.123", "0.001", "123456789.12399999999615829"),
        (
            "123456789.12399999999615829",
            "1.5",
            "123456790.62399999999615829",
        ),
        ("5000", "-5200.25", "-200.25"),
        ("0", "5.0e3", "5000"),
        ("16", "+.5", "16.5"),
        ("100", "1E-1", "100.1"),
        ("0x10", "1", "17"),
        ("1e5", "1", "100001"),
        ("1.5", "-1.5", "0"),
        ("-1e-20", "0", "0"),
    ];
    for (a, b, expected) in cases {
        assert_eq!(sum(a, b), expected, "{a} + {b}");
    }
}

#[test]
fn beyond_double_range() {
    let text = sum("0", "1e400");
    assert_eq!(text.len(), 401);
    assert!(text.starts_with("10000000000000000000281880683947586514586453433629"));
    assert_eq!(sum("0", "1e-4940"), "0");
    assert!(add(finite("1e4932"), finite("1e4932")).is_none());
}

#[test]
fn parse_follows_strtold_and_string2ld() {
    for bad in [
        "",
        " 1",
        "1 ",
        "abc",
        "nan",
        "-nan",
        "1e5000",
        "-1e5000",
        "1e-5000",
        "--1",
        "1,5",
        "0x",
        "0x1p",
        "1e",
        ".",
        "+",
        "1\x00",
        "0x1p-16446",
    ] {
        assert_eq!(parse(bad.as_bytes()), None, "{bad:?}");
    }
    let long = format!("1.{}", "1".repeat(5117));
    assert!(parse(long.as_bytes()).is_some());
    assert_eq!(parse(format!("{long}1").as_bytes()), None, "5120 bytes");
    for inf in ["inf", "-INF", "Infinity", "+infinity"] {
        assert_eq!(parse(inf.as_bytes()), Some(Operand::Infinite), "{inf}");
    }
    assert_eq!(finite("0e-5000").mant, 0);
    // The smallest subnormal, and the largest finite value.
    assert_eq!(
        finite("0x1p-16445"),
        LongDouble {
            neg: false,
            mant: 1,
            exp: -16445
        }
    );
    assert_eq!(
        finite("0x.ffffffffffffffffp16384"),
        LongDouble {
            neg: false,
            mant: u64::MAX,
            exp: 16320
        }
    );
    assert_eq!(parse(b"0x1p16384"), None);
    assert_eq!(
        finite("1.5"),
        LongDouble {
            neg: false,
            mant: 3,
            exp: -1
        }
        .normalized()
    );
    assert_eq!(
        finite("-2"),
        LongDouble {
            neg: true,
            mant: 1,
            exp: 1
        }
        .normalized()
    );
}

#[test]
fn decimal_rounding_is_exact() {
    // 0.1 in long double: 0xCCCCCCCCCCCCCCCD × 2^-67.
    assert_eq!(
        finite("0.1"),
        LongDouble {
            neg: false,
            mant: 0xCCCC_CCCC_CCCC_CCCD,
            exp: -67
        }
    );
    // A tie: 2^64 + 1 needs 65 bits; halfway rounds to even (down).
    assert_eq!(
        finite("18446744073709551617"),
        LongDouble {
            neg: false,
            mant: 1 << 63,
            exp: 1
        }
    );
    // Just above the tie rounds up.
    assert_eq!(
        finite("18446744073709551617.000001"),
        LongDouble {
            neg: false,
            mant: (1 << 63) + 1,
            exp: 1
        }
    );
}

impl LongDouble {
    /// The same value with its significand's top bit set (for comparisons in tests).
    fn normalized(mut self) -> LongDouble {
        while self.mant != 0 && self.mant >> 63 == 0 && self.exp > MIN_LSB_EXP {
            self.mant <<= 1;
            self.exp -= 1;
        }
        self
    }
}
