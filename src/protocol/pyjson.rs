//! JSON text exactly as Python's `json.dumps` writes it with its defaults, which is what the
//! redis_websocket_api package sends: `", "` and `": "` separators, every non-ASCII character
//! escaped (`ensure_ascii`, `\u00e9`, surrogate pairs above U+FFFF), and floats as `repr`
//! prints them (`1.0`, `1e-05`, `1e+16`, `1700000000123.456`). Clients that compare text
//! (the package's own tests look for `"source": "egg"`) see the same bytes.
//!
//! Differences that remain, all in values no JSON parser tells apart: an integer beyond
//! 64 bits is read as a float (`1e+20`, where Python keeps `100000000000000000000`).

use serde_json::Value;

/// Appends `v` as `json.dumps(v)` would write it.
pub fn write_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
            } else if let Some(u) = n.as_u64() {
                out.extend_from_slice(itoa::Buffer::new().format(u).as_bytes());
            } else {
                write_float(n.as_f64().unwrap_or(0.0), out);
            }
        }
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_value(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_str(k, out);
                out.extend_from_slice(b": ");
                write_value(item, out);
            }
            out.push(b'}');
        }
    }
}

/// A JSON string with Python's `ensure_ascii` escaping.
pub fn write_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            ' '..='~' => out.push(c as u8),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.extend_from_slice(format!("\\u{u:04x}").as_bytes());
                }
            }
        }
    }
    out.push(b'"');
}

/// A finite float as Python's `repr`: the shortest digits that read back to the same
/// double, positional when the decimal exponent is in -4..16, scientific otherwise.
pub fn write_float(f: f64, out: &mut Vec<u8>) {
    // Rust's `{:e}` gives the same shortest digits: "d.ddde±x".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    out.extend_from_slice(sign.as_bytes());
    // Python's rule: scientific when decpt <= -4 or decpt > 16, where the value is
    // 0.DIGITS × 10^decpt.
    let decpt = exp + 1;
    if !(-4 < decpt && decpt <= 16) {
        let (first, rest) = digits.split_at(1);
        out.extend_from_slice(first.as_bytes());
        if !rest.is_empty() {
            out.push(b'.');
            out.extend_from_slice(rest.as_bytes());
        }
        let sign = if exp < 0 { '-' } else { '+' };
        out.extend_from_slice(format!("e{sign}{:02}", exp.abs()).as_bytes());
    } else if decpt <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-decpt) as usize));
        out.extend_from_slice(digits.as_bytes());
    } else {
        let decpt = decpt as usize;
        if digits.len() <= decpt {
            out.extend_from_slice(digits.as_bytes());
            out.extend(std::iter::repeat_n(b'0', decpt - digits.len()));
            out.extend_from_slice(b".0");
        } else {
            out.extend_from_slice(&digits.as_bytes()[..decpt]);
            out.push(b'.');
            out.extend_from_slice(&digits.as_bytes()[decpt..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dumps(v: &Value) -> String {
        let mut out = Vec::new();
        write_value(v, &mut out);
        String::from_utf8(out).expect("ASCII")
    }

    fn repr(f: f64) -> String {
        let mut out = Vec::new();
        write_float(f, &mut out);
        String::from_utf8(out).expect("ASCII")
    }

    #[test]
    fn floats_as_python_repr() {
        // Each right-hand side is what CPython 3.11 prints for repr(float).
        for (f, py) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000012345, "1.2345e-05"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (1e300, "1e+300"),
            (5e-324, "5e-324"),
            (1700000000123.456, "1700000000123.456"),
            (11131.949079327358, "11131.949079327358"),
            (100.0, "100.0"),
        ] {
            assert_eq!(repr(f), py, "{f:e}");
        }
    }

    #[test]
    fn values_as_json_dumps() {
        let v: Value = serde_json::from_str(
            r#"{"b": 1, "a": [true, null, -3, 2.5e3, 18446744073709551615], "s": "é\u0001\"\\/€𝄞"}"#,
        )
        .expect("valid");
        assert_eq!(
            dumps(&v),
            r#"{"b": 1, "a": [true, null, -3, 2500.0, 18446744073709551615], "s": "\u00e9\u0001\"\\/\u20ac\ud834\udd1e"}"#
        );
        assert_eq!(dumps(&serde_json::json!({})), "{}");
        assert_eq!(dumps(&serde_json::json!([])), "[]");
        assert_eq!(dumps(&serde_json::json!("\u{7f}\n\t")), r#""\u007f\n\t""#);
    }
}
