use super::*;

#[test]
fn format_double_known_examples() {
    let cases: &[(f64, &str)] = &[
        (1.5, "1.5"),
        (0.1, "0.1"),
        (3.0, "3"),
        (-3.0, "-3"),
        (0.0, "0"),
        (-0.0, "-0"),
        (1e300, "1e+300"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (1e-6, "0.000001"),
        (0.0001, "0.0001"),
        (1e-300, "1e-300"),
        (1e105, "1e+105"),
        (1.25e-105, "1.25e-105"),
        (1e21, "1e+21"),
        (1e22, "1e+22"),
        (1e18, "1000000000000000000"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
        (f64::NAN, "nan"),
        (1.2345678901234567, "1.2345678901234567"),
        (0.0012345678901234567, "0.0012345678901234567"),
        (0.00012345678901234567, "1.2345678901234567e-4"),
        (1234567.891, "1234567.891"),
        (-2.5, "-2.5"),
        (f64::MAX, "1.7976931348623157e+308"),
        (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        (-f64::MIN_POSITIVE, "-2.2250738585072014e-308"),
        (5e-324, "5e-324"),
        (2.71, "2.71"),
    ];
    for &(f, expected) in cases {
        assert_eq!(format_double(f), expected, "{f:e}");
    }
}

#[test]
fn integers_up_to_two_to_the_62_print_as_integers() {
    assert_eq!(
        format_double(4_611_686_018_427_387_904.0),
        "4611686018427387904"
    );
    assert_eq!(
        format_double(-4_611_686_018_427_387_904.0),
        "-4611686018427387904"
    );
    // 2^63 goes through fpconv: shortest digits, then zeros, no exponent yet.
    assert_eq!(
        format_double(9_223_372_036_854_775_808.0),
        "9223372036854776000"
    );
    assert_eq!(
        format_double(-1.1783348420979686e23),
        "-117833484209796860000000"
    );
    assert_eq!(
        format_double(1.1783348420979686e24),
        "1.1783348420979686e+24"
    );
    assert_eq!(format_double(1e19), "1e+19");
    assert_eq!(format_double(1.5e20), "1.5e+20");
    assert_eq!(format_double(1.2345678e23), "1.2345678e+23");
    assert_eq!(
        format_double(1.2345678901234567e20),
        "123456789012345670000"
    );
}

#[test]
fn format_double_round_trips_and_fits_the_buffer() {
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..20_000 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let f = f64::from_bits(rng);
        let text = double_text(f);
        assert!(text.len <= MAX_DOUBLE_TEXT_BYTES, "{}", text.as_str());
        if f.is_nan() {
            assert_eq!(text.as_str(), "nan");
        } else {
            assert_eq!(parse_double(text.as_bytes()), Some(f), "{}", text.as_str());
        }
    }
}

#[test]
fn incrbyfloat_text() {
    assert_eq!(format_incrbyfloat(10.5 + 0.1), "10.6");
    assert_eq!(format_incrbyfloat(5000.0), "5000");
    assert_eq!(format_incrbyfloat(1e20), "100000000000000000000");
    assert_eq!(format_incrbyfloat(0.1 + 0.2), "0.30000000000000004");
    assert_eq!(format_incrbyfloat(-1.5), "-1.5");
    assert_eq!(format_incrbyfloat(-0.0), "0");
    assert_eq!(format_incrbyfloat(1e-7), "0.0000001");
    assert_eq!(format_incrbyfloat(3.0e-17), "0.00000000000000003");
    // Beyond 17 fractional digits %.17Lf rounds, and "0.00000000000000000" strips to 0.
    assert_eq!(format_incrbyfloat(1e-20), "0");
    assert_eq!(format_incrbyfloat(-1e-20), "0");
    assert_eq!(format_incrbyfloat(1.23e-17), "0.00000000000000001");
    assert_eq!(format_incrbyfloat(f64::INFINITY), "inf");
}

#[test]
fn parse_double_accepts_what_strtod_accepts() {
    let cases: &[(&str, f64)] = &[
        ("1", 1.0),
        ("1.5", 1.5),
        ("-1.5", -1.5),
        ("+1.5", 1.5),
        ("1e3", 1000.0),
        ("1E+3", 1000.0),
        ("2.5e-3", 0.0025),
        (".5", 0.5),
        ("5.", 5.0),
        ("-.5e1", -5.0),
        ("0", 0.0),
        ("0e999999", 0.0),
        ("inf", f64::INFINITY),
        ("+inf", f64::INFINITY),
        ("-inf", f64::NEG_INFINITY),
        ("Infinity", f64::INFINITY),
        ("-INF", f64::NEG_INFINITY),
        ("0x10", 16.0),
        ("-0X1.8p1", -3.0),
        ("0x.8", 0.5),
        ("0x1p-1074", 5e-324),
        ("0x1.fffffffffffffp1023", f64::MAX),
        ("0x1.0000000000000800000000001p0", 1.0 + f64::EPSILON),
        ("0x1.00000000000008p0", 1.0),
        ("0x1.00000000000018p0", 1.0 + 2.0 * f64::EPSILON),
        ("0x1.8p-1074", 1e-323),
        ("4.9e-324", 5e-324),
    ];
    for &(text, expected) in cases {
        assert_eq!(parse_double(text.as_bytes()), Some(expected), "{text}");
    }
    assert!(parse_double(b"-0").is_some_and(|f| f == 0.0 && f.is_sign_negative()));
}

#[test]
fn parse_double_rejects_what_redis_rejects() {
    let cases = [
        "",
        " 1",
        "\t1",
        "1 ",
        "1x",
        "nan",
        "-nan",
        "NaN",
        "nan(1)",
        "1e400",
        "-1e400",
        "1e-400",
        "0x1p1024",
        "0x1p-1076",
        "0x",
        "0xg",
        "0x1p",
        "0x1p+",
        "e5",
        ".",
        "-",
        "+",
        "--1",
        "+-1",
        "1e",
        "1e+",
        "1,5",
        "in",
        "infinit",
        "1\x001",
        "0x1.8p-1075junk",
    ];
    for text in cases {
        assert_eq!(parse_double(text.as_bytes()), None, "{text:?}");
    }
    assert_eq!(parse_double(&[0xff, b'1']), None);
}
