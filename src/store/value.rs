//! The value types a key can hold.

use bytes::Bytes;

/// A stored value. Strings are kept as bytes; integers are parsed on demand by INCR and
/// friends (Redis's `int` encoding is reported by OBJECT ENCODING from the content).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(Bytes),
}

impl Value {
    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
        }
    }

    /// The encoding OBJECT ENCODING reports: Redis's name for the closest encoding.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(b) => {
                if b.len() <= 20 && crate::util::parse_i64(b).is_some() {
                    "int"
                } else if b.len() <= 44 {
                    "embstr"
                } else {
                    "raw"
                }
            }
        }
    }

    /// Approximate heap bytes owned by the value, for INFO memory.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Value::Str(b) => b.len(),
        }
    }
}

/// The command that recreates `value` at `key` (with its absolute deadline, if any): the
/// effect form written to the append-only log and emitted by a log rewrite.
pub fn restore_command(key: &[u8], value: &Value, expire_at_ms: Option<u64>) -> Vec<Bytes> {
    let mut cmd = match value {
        Value::Str(b) => vec![
            Bytes::from_static(b"SET"),
            Bytes::copy_from_slice(key),
            b.clone(),
        ],
    };
    if let Some(at) = expire_at_ms {
        cmd.push(Bytes::from_static(b"PXAT"));
        cmd.push(Bytes::from(at.to_string()));
    }
    cmd
}
