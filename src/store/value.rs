//! The value types a key can hold, and the effect form that recreates a whole value.

use bytes::Bytes;

use super::hash::Hash;
use super::list::List;
use super::set::Set;
use super::zset::ZSet;

/// A stored value. Strings are kept as bytes; integers are parsed on demand by INCR and
/// friends (Redis's `int` encoding is reported by OBJECT ENCODING from the content).
/// Collections are boxed so a `Value` stays the size of a string handle plus a tag.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(Bytes),
    Hash(Box<Hash>),
    List(Box<List>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
}

impl Value {
    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Hash(_) => "hash",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
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
            Value::Hash(h) => h.encoding(),
            Value::List(l) => l.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
        }
    }

    /// Approximate heap bytes owned by the value, for INFO memory.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Value::Str(b) => b.len(),
            Value::Hash(h) => size_of::<Hash>() + h.heap_bytes(),
            Value::List(l) => size_of::<List>() + l.heap_bytes(),
            Value::Set(s) => size_of::<Set>() + s.heap_bytes(),
            Value::ZSet(z) => size_of::<ZSet>() + z.heap_bytes(),
        }
    }
}

/// Elements (a hash's field-value pair counts as one) per command of a whole-value
/// restore, like Redis's AOF rewrite (`AOF_REWRITE_ITEMS_PER_CMD`).
const RESTORE_ITEMS_PER_COMMAND: usize = 64;
/// ... and bytes of arguments per command, so one huge element does not drag 63 more into
/// one record.
const RESTORE_BYTES_PER_COMMAND: usize = 1 << 20;

/// The commands that recreate `value` at `key` (with its absolute deadline, if any): the
/// effect form written to the append-only log when a whole value is placed (RENAME, MOVE,
/// COPY, *STORE) and emitted by a log rewrite.
///
/// A string is one `SET key value [PXAT t]`, which replaces whatever was there. A collection
/// is `UNLINK key` (the marker "a whole value follows": it clears the destination, and
/// keyspace notifications treat it and the records after it for that key as one event, see
/// `pubsub::notify`), then `HSET`/`RPUSH`/`SADD`/`ZADD` commands of at most
/// [`RESTORE_ITEMS_PER_COMMAND`] elements, then `PEXPIREAT key t` if it has a deadline.
/// Every record names exactly one key, at position 1 (re-sharding routes records by it).
pub fn restore_commands(key: &[u8], value: &Value, expire_at_ms: Option<u64>) -> Vec<Vec<Bytes>> {
    let key = Bytes::copy_from_slice(key);
    if let Value::Str(b) = value {
        let mut cmd = vec![Bytes::from_static(b"SET"), key, b.clone()];
        if let Some(at) = expire_at_ms {
            cmd.push(Bytes::from_static(b"PXAT"));
            cmd.push(Bytes::from(at.to_string()));
        }
        return vec![cmd];
    }
    let mut out = vec![vec![Bytes::from_static(b"UNLINK"), key.clone()]];
    let mut chunks = Chunker::new(&key, &mut out);
    match value {
        Value::Str(_) => unreachable!("handled above"),
        Value::Hash(h) => {
            for (f, v) in h.iter() {
                chunks.add(b"HSET", &[f, v]);
            }
        }
        Value::List(l) => {
            for e in l.iter() {
                chunks.add(b"RPUSH", &[e]);
            }
        }
        Value::Set(s) => s.for_each(|m| chunks.add(b"SADD", &[m])),
        Value::ZSet(z) => {
            for (m, score) in z.iter() {
                let s = crate::protocol::double::format_double(score);
                chunks.add(b"ZADD", &[s.as_bytes(), m]);
            }
        }
    }
    chunks.finish();
    if let Some(at) = expire_at_ms {
        out.push(vec![
            Bytes::from_static(b"PEXPIREAT"),
            key,
            Bytes::from(at.to_string()),
        ]);
    }
    out
}

/// Groups elements into bounded `NAME key element...` commands.
struct Chunker<'a> {
    key: &'a Bytes,
    out: &'a mut Vec<Vec<Bytes>>,
    cur: Vec<Bytes>,
    items: usize,
    bytes: usize,
}

impl<'a> Chunker<'a> {
    fn new(key: &'a Bytes, out: &'a mut Vec<Vec<Bytes>>) -> Chunker<'a> {
        Chunker {
            key,
            out,
            cur: Vec::new(),
            items: 0,
            bytes: 0,
        }
    }

    fn add(&mut self, name: &'static [u8], parts: &[&[u8]]) {
        if self.cur.is_empty() {
            self.cur.push(Bytes::from_static(name));
            self.cur.push(self.key.clone());
        }
        for p in parts {
            self.cur.push(Bytes::copy_from_slice(p));
            self.bytes += p.len();
        }
        self.items += 1;
        if self.items >= RESTORE_ITEMS_PER_COMMAND || self.bytes >= RESTORE_BYTES_PER_COMMAND {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.cur.is_empty() {
            self.out.push(std::mem::take(&mut self.cur));
        }
        self.items = 0;
        self.bytes = 0;
    }

    fn finish(mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(cmds: &[Vec<Bytes>]) -> Vec<String> {
        cmds.iter()
            .map(|c| {
                c.iter()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    #[test]
    fn a_string_is_one_set() {
        let v = Value::Str(Bytes::from_static(b"v"));
        assert_eq!(
            text(&restore_commands(b"k", &v, Some(5))),
            ["SET k v PXAT 5"]
        );
    }

    #[test]
    fn a_collection_is_unlink_then_bounded_chunks_then_its_deadline() {
        let mut h = Hash::new();
        for i in 0..130 {
            h.set(format!("f{i}").as_bytes(), b"v");
        }
        let cmds = restore_commands(b"k", &Value::Hash(Box::new(h)), Some(9));
        let t = text(&cmds);
        assert_eq!(t[0], "UNLINK k");
        assert_eq!(cmds.len(), 1 + 3 + 1, "130 fields in chunks of 64");
        assert_eq!(cmds[1].len(), 2 + 64 * 2);
        assert_eq!(cmds[3].len(), 2 + 2 * 2);
        assert_eq!(t[4], "PEXPIREAT k 9");
        let mut z = ZSet::new();
        let empty = restore_commands(b"z", &Value::ZSet(Box::new(std::mem::take(&mut z))), None);
        assert_eq!(text(&empty), ["UNLINK z"]);
    }
}
