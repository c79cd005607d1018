//! What the load is made of: command templates, their mix, and the keys. Pure, no I/O.
//!
//! Every command is a template of parts (a literal, `__key__`, `__data__`): `SET __key__
//! __data__` and `GET __key__` for `--ratio`, or whatever `--command` gives. Keys are
//! `key:` and the key's number in 12 digits, zero-padded (`key:000000001234`): exactly what
//! redis-benchmark's `key:__rand_int__` sends, so both tools make the server do the same work.
//! Values are `--value-size` bytes of `x`, redis-benchmark's filler too.
//!
//! The mix is a cycle: `--ratio 1:10` is one SET then ten GETs, over and over; each connection
//! starts at a different point of the cycle, so the server sees the ratio at every moment and
//! the counts come out exact.

use super::zipf::{Rng, Zipf};

pub const KEY_PREFIX: &[u8] = b"key:";
/// Digits of a key's number (keys below 10^12 all have the same length).
pub const KEY_DIGITS: usize = 12;
/// Largest `--keyspace`: every key number fits [`KEY_DIGITS`].
pub const MAX_KEYSPACE: u64 = 1_000_000_000_000;
/// Most `--command` templates, and most arguments in one.
pub const MAX_COMMANDS: usize = 16;
pub const MAX_TEMPLATE_ARGS: usize = 64;
const MAX_ARG_BYTES: usize = 1024;
/// Largest part of `--ratio`.
pub const MAX_RATIO_PART: u32 = 1000;

/// One argument of a template.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    Literal(Vec<u8>),
    /// `__key__`: the request's key.
    Key,
    /// `__data__`: the value (`--value-size` bytes).
    Data,
}

/// Which replies count as success for a command; see [`super::verify`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Expect {
    /// `+OK` (SET).
    Ok,
    /// A bulk string (a hit) or nil (a miss) (GET).
    BulkOrNull,
    /// Anything but an error (`--command`).
    Any,
}

#[derive(Clone, Debug)]
pub struct Command {
    /// How reports name it: `SET`, `GET`, or the template as given.
    pub name: String,
    pub parts: Vec<Part>,
    pub expect: Expect,
}

impl Command {
    pub fn set() -> Command {
        Command {
            name: "SET".into(),
            parts: vec![Part::Literal(b"SET".to_vec()), Part::Key, Part::Data],
            expect: Expect::Ok,
        }
    }

    pub fn get() -> Command {
        Command {
            name: "GET".into(),
            parts: vec![Part::Literal(b"GET".to_vec()), Part::Key],
            expect: Expect::BulkOrNull,
        }
    }

    /// A `--command` template: whitespace-separated arguments, `__key__` and `__data__`
    /// placeholders (a whole argument each).
    pub fn parse_template(template: &str) -> Result<Command, String> {
        let parts: Vec<Part> = template
            .split_whitespace()
            .map(|arg| match arg {
                "__key__" => Part::Key,
                "__data__" => Part::Data,
                literal => Part::Literal(literal.as_bytes().to_vec()),
            })
            .collect();
        if parts.is_empty() {
            return Err("--command is empty".into());
        }
        if parts.len() > MAX_TEMPLATE_ARGS {
            return Err(format!(
                "--command has more than {MAX_TEMPLATE_ARGS} arguments"
            ));
        }
        if !matches!(parts[0], Part::Literal(_)) {
            return Err(format!(
                "--command {template:?} must start with a command name"
            ));
        }
        let too_long = parts
            .iter()
            .any(|p| matches!(p, Part::Literal(l) if l.len() > MAX_ARG_BYTES));
        if too_long {
            return Err(format!(
                "--command arguments are limited to {MAX_ARG_BYTES} bytes"
            ));
        }
        let name = template.split_whitespace().collect::<Vec<_>>().join(" ");
        Ok(Command {
            name,
            parts,
            expect: Expect::Any,
        })
    }
}

/// `--ratio SET:GET` as two counts (one may be 0, not both).
pub fn parse_ratio(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("--ratio must be SET:GET with whole numbers, like 1:10, not {text:?}");
    let (set, get) = text.split_once(':').ok_or_else(bad)?;
    let set: u32 = set.trim().parse().map_err(|_| bad())?;
    let get: u32 = get.trim().parse().map_err(|_| bad())?;
    if set == 0 && get == 0 {
        return Err("--ratio 0:0 sends nothing".into());
    }
    if set > MAX_RATIO_PART || get > MAX_RATIO_PART {
        return Err(format!("--ratio parts are limited to {MAX_RATIO_PART}"));
    }
    Ok((set, get))
}

/// How keys are drawn.
#[derive(Clone, Debug)]
pub enum Distribution {
    Uniform,
    /// Key `k - 1` for rank `k`: key 0 is the hottest. Placement on shards comes from the
    /// key's hash, so hot keys are spread over shards as any keys are.
    Zipf(Zipf),
}

/// The command cycle, the keys, and the value.
#[derive(Clone, Debug)]
pub struct Workload {
    pub commands: Vec<Command>,
    /// Indices into `commands`, one per step of the cycle.
    cycle: Vec<usize>,
    pub keyspace: u64,
    pub distribution: Distribution,
    pub value: Vec<u8>,
}

impl Workload {
    /// `set` SETs then `get` GETs per cycle.
    pub fn set_get(set: u32, get: u32, keys: (u64, Distribution), value_size: usize) -> Workload {
        let mut commands = Vec::new();
        let mut cycle = Vec::new();
        for (command, count) in [(Command::set(), set), (Command::get(), get)] {
            if count > 0 {
                cycle.extend(std::iter::repeat_n(commands.len(), count as usize));
                commands.push(command);
            }
        }
        Workload::new(commands, cycle, keys, value_size)
    }

    /// Each template once per cycle, in order.
    pub fn custom(
        commands: Vec<Command>,
        keys: (u64, Distribution),
        value_size: usize,
    ) -> Workload {
        let cycle = (0..commands.len()).collect();
        Workload::new(commands, cycle, keys, value_size)
    }

    fn new(
        commands: Vec<Command>,
        cycle: Vec<usize>,
        (keyspace, distribution): (u64, Distribution),
        value_size: usize,
    ) -> Workload {
        debug_assert!(!cycle.is_empty() && keyspace > 0);
        Workload {
            commands,
            cycle,
            keyspace,
            distribution,
            value: vec![b'x'; value_size],
        }
    }

    /// The command of step `i` of a connection whose cycle starts at `offset`.
    pub fn command_at(&self, offset: usize, i: u64) -> usize {
        let len = self.cycle.len() as u64;
        self.cycle[((offset as u64 % len + i % len) % len) as usize]
    }

    /// A key number in `0..keyspace`.
    pub fn key(&self, rng: &mut Rng) -> u64 {
        match &self.distribution {
            Distribution::Uniform => rng.below(self.keyspace),
            Distribution::Zipf(zipf) => zipf.sample(rng) - 1,
        }
    }
}

/// The key named by number `id` (< [`MAX_KEYSPACE`]).
pub fn key_name(id: u64) -> [u8; KEY_PREFIX.len() + KEY_DIGITS] {
    let mut key = [b'0'; KEY_PREFIX.len() + KEY_DIGITS];
    key[..KEY_PREFIX.len()].copy_from_slice(KEY_PREFIX);
    let mut n = id;
    for slot in key[KEY_PREFIX.len()..].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    key
}

/// The bytes of one argument.
fn arg<'a>(part: &'a Part, key: &'a [u8], value: &'a [u8]) -> &'a [u8] {
    match part {
        Part::Literal(bytes) => bytes,
        Part::Key => key,
        Part::Data => value,
    }
}

/// Appends the command as a RESP multibulk.
pub fn encode_resp(out: &mut Vec<u8>, command: &Command, key_id: u64, value: &[u8]) {
    let key = key_name(key_id);
    let mut num = itoa::Buffer::new();
    out.push(b'*');
    out.extend_from_slice(num.format(command.parts.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for part in &command.parts {
        let bytes = arg(part, &key, value);
        out.push(b'$');
        out.extend_from_slice(num.format(bytes.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
    }
}

/// Writes the command as one line of the WebSocket text dialect (arguments separated by
/// spaces) into `line`, replacing what was there.
pub fn encode_line(line: &mut Vec<u8>, command: &Command, key_id: u64, value: &[u8]) {
    let key = key_name(key_id);
    line.clear();
    for (i, part) in command.parts.iter().enumerate() {
        if i > 0 {
            line.push(b' ');
        }
        line.extend_from_slice(arg(part, &key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (u64, Distribution) {
        (100, Distribution::Uniform)
    }

    #[test]
    fn keys_look_like_redis_benchmark_keys() {
        assert_eq!(&key_name(0), b"key:000000000000");
        assert_eq!(&key_name(1234), b"key:000000001234");
        assert_eq!(&key_name(MAX_KEYSPACE - 1), b"key:999999999999");
    }

    #[test]
    fn commands_encode_in_both_protocols() {
        let mut out = Vec::new();
        encode_resp(&mut out, &Command::set(), 7, b"xyz");
        assert_eq!(
            out,
            b"*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000007\r\n$3\r\nxyz\r\n"
        );
        let mut line = b"junk".to_vec();
        encode_line(&mut line, &Command::get(), 42, b"");
        assert_eq!(line, b"GET key:000000000042");
        let incr = Command::parse_template("  INCRBY __key__  5 ").expect("valid");
        assert_eq!(incr.name, "INCRBY __key__ 5");
        encode_line(&mut line, &incr, 1, b"v");
        assert_eq!(line, b"INCRBY key:000000000001 5");
    }

    #[test]
    fn templates_and_ratios_are_validated() {
        assert!(Command::parse_template("").is_err());
        assert!(Command::parse_template("__key__ GET").is_err());
        assert!(Command::parse_template(&format!("GET {}", "a".repeat(2000))).is_err());
        assert_eq!(parse_ratio("1:10"), Ok((1, 10)));
        assert_eq!(parse_ratio("0:1"), Ok((0, 1)));
        for bad in ["0:0", "1", "a:b", "1:-1", "1:1001", ""] {
            assert!(parse_ratio(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_cycle_keeps_the_ratio_exactly_from_any_offset() {
        let w = Workload::set_get(1, 3, keys(), 4);
        assert_eq!(w.commands.len(), 2);
        for offset in 0..5 {
            let sets = (0..400).filter(|&i| w.command_at(offset, i) == 0).count();
            assert_eq!(sets, 100, "offset {offset}");
        }
        let only_gets = Workload::set_get(0, 1, keys(), 4);
        assert_eq!(only_gets.commands.len(), 1);
        assert_eq!(only_gets.commands[0].name, "GET");
        assert!((0..10).all(|i| only_gets.command_at(3, i) == 0));
    }

    #[test]
    fn keys_stay_in_the_keyspace() {
        let mut rng = Rng::new(1);
        let zipf = Workload::set_get(
            1,
            1,
            (10, Distribution::Zipf(Zipf::new(10, 0.99).unwrap())),
            1,
        );
        let uniform = Workload::set_get(1, 1, (10, Distribution::Uniform), 1);
        for w in [zipf, uniform] {
            let mut seen = [false; 10];
            for _ in 0..10_000 {
                seen[w.key(&mut rng) as usize] = true;
            }
            assert!(seen.iter().all(|&s| s), "every key is drawn");
        }
    }
}
