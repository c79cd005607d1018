//! The multi-key commands: ZUNION / ZINTER / ZDIFF and their STORE forms, ZINTERCARD,
//! ZRANGESTORE and ZMPOP, on one shard (atomic) or coordinated across shards.
//!
//! Both paths share one shape: read every input as a list of (member, score) (a plain set's
//! members score 1, as in Redis), combine on the caller's side, then reply or place the
//! result at the destination with `Db::insert` (an UNLINK-opened restore group) or
//! `Db::remove` when it is empty. Across shards each input is read on its owner and the
//! result is written on the destination's owner: the inputs are each read atomically, but
//! not all at one instant (docs/ARCHITECTURE.md, multi-shard commands).

use ahash::AHashMap;
use bytes::Bytes;

use super::items_reply;
use super::range::{self, RangeQuery};
use super::write::{mpop_reply, parse_zmpop, pop};
use crate::commands::collection as coll;
use crate::commands::exec::ExecCtx;
use crate::commands::strings::{c_str, not_integer, syntax_error, wrongtype};
use crate::core::Core;
use crate::protocol::{Reply, parse_double};
use crate::shard::shard_for_key;
use crate::store::Value;
use crate::store::zset::{ZSet, less};
use crate::util::parse_i64;

/// One input: `None` when the key is missing.
type Input = Option<Vec<(Bytes, f64)>>;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Agg {
    Sum,
    Min,
    Max,
}

/// A parsed ZUNION-family request. Option errors are kept until the inputs were read,
/// because Redis reports a WRONGTYPE input before a bad option.
struct Request {
    op: Op,
    /// The destination of a *STORE form.
    dst: Option<Bytes>,
    /// ZINTERCARD: only the size is wanted.
    card: bool,
    name: &'static str,
    keys: Vec<Bytes>,
    opts: Result<Opts, Reply>,
}

struct Opts {
    weights: Vec<f64>,
    agg: Agg,
    with_scores: bool,
    /// ZINTERCARD LIMIT (0 = none).
    limit: usize,
}

fn parse(args: &[Bytes]) -> Result<Request, Reply> {
    let lower = args[0].to_ascii_lowercase();
    let (op, store, card, name) = match lower.as_slice() {
        b"zunion" => (Op::Union, false, false, "zunion"),
        b"zinter" => (Op::Inter, false, false, "zinter"),
        b"zdiff" => (Op::Diff, false, false, "zdiff"),
        b"zunionstore" => (Op::Union, true, false, "zunionstore"),
        b"zinterstore" => (Op::Inter, true, false, "zinterstore"),
        b"zdiffstore" => (Op::Diff, true, false, "zdiffstore"),
        _ => (Op::Inter, false, true, "zintercard"),
    };
    let at = if store { 2 } else { 1 };
    let numkeys = parse_i64(&args[at]).ok_or_else(not_integer)?;
    if numkeys < 1 {
        return Err(Reply::error(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    if numkeys as u64 > (args.len() - at - 1) as u64 {
        return Err(syntax_error());
    }
    let first = at + 1;
    let end = first + numkeys as usize;
    let keys = args[first..end].to_vec();
    let opts = parse_opts(&args[end..], keys.len(), op, store, card);
    Ok(Request {
        op,
        dst: store.then(|| args[1].clone()),
        card,
        name,
        keys,
        opts,
    })
}

fn parse_opts(rest: &[Bytes], n: usize, op: Op, store: bool, card: bool) -> Result<Opts, Reply> {
    let mut o = Opts {
        weights: vec![1.0; n],
        agg: Agg::Sum,
        with_scores: false,
        limit: 0,
    };
    let mut j = 0;
    while j < rest.len() {
        let left = rest.len() - j - 1;
        let opt = c_str(&rest[j]);
        if card {
            if opt.eq_ignore_ascii_case(b"LIMIT") && left >= 1 {
                o.limit = parse_i64(&rest[j + 1])
                    .filter(|&l| l >= 0)
                    .ok_or_else(|| Reply::error("ERR LIMIT can't be negative"))?
                    as usize;
                j += 2;
                continue;
            }
            return Err(syntax_error());
        }
        if op != Op::Diff && opt.eq_ignore_ascii_case(b"WEIGHTS") && left >= n {
            for (k, w) in rest[j + 1..j + 1 + n].iter().enumerate() {
                o.weights[k] = parse_double(w)
                    .ok_or_else(|| Reply::error("ERR weight value is not a float"))?;
            }
            j += n + 1;
        } else if op != Op::Diff && opt.eq_ignore_ascii_case(b"AGGREGATE") && left >= 1 {
            o.agg = match c_str(&rest[j + 1]).to_ascii_lowercase().as_slice() {
                b"sum" => Agg::Sum,
                b"min" => Agg::Min,
                b"max" => Agg::Max,
                _ => return Err(syntax_error()),
            };
            j += 2;
        } else if !store && opt.eq_ignore_ascii_case(b"WITHSCORES") {
            o.with_scores = true;
            j += 1;
        } else {
            return Err(syntax_error());
        }
    }
    Ok(o)
}

/// Reads one input on its shard: lookupKeyWrite for a *STORE, lookupKeyRead otherwise.
fn load(ctx: &mut ExecCtx<'_>, key: &[u8], write: bool) -> Result<Input, Reply> {
    let v = if write {
        ctx.write(key).map(|v| &*v)
    } else {
        ctx.read(key)
    };
    match v {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(
            z.iter()
                .map(|(m, s)| (Bytes::copy_from_slice(m), s))
                .collect(),
        )),
        Some(Value::Set(s)) => {
            let mut out = Vec::with_capacity(s.len());
            s.for_each(|m| out.push((Bytes::copy_from_slice(m), 1.0)));
            Ok(Some(out))
        }
        Some(_) => Err(wrongtype()),
    }
}

fn weighted(w: f64, s: f64) -> f64 {
    let v = w * s;
    if v.is_nan() { 0.0 } else { v }
}

fn aggregate(agg: Agg, acc: &mut f64, v: f64) {
    match agg {
        Agg::Sum => {
            *acc += v;
            if acc.is_nan() {
                *acc = 0.0;
            }
        }
        Agg::Min => *acc = acc.min(v),
        Agg::Max => *acc = acc.max(v),
    }
}

/// The combined set, lowest (score, member) first; for ZINTERCARD stops at `limit`.
fn compute(op: Op, inputs: &[Input], o: &Opts) -> Vec<(Bytes, f64)> {
    let len = |i: usize| inputs[i].as_ref().map_or(0, Vec::len);
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    let mut out: Vec<(Bytes, f64)> = match op {
        Op::Union => {
            order.sort_by_key(|&i| len(i));
            let mut acc: AHashMap<Bytes, f64> = AHashMap::new();
            for &i in &order {
                for (m, s) in inputs[i].iter().flatten() {
                    let v = weighted(o.weights[i], *s);
                    acc.entry(m.clone())
                        .and_modify(|a| aggregate(o.agg, a, v))
                        .or_insert(v);
                }
            }
            acc.into_iter().collect()
        }
        Op::Inter => {
            if inputs.iter().any(|i| i.as_ref().is_none_or(Vec::is_empty)) {
                return Vec::new();
            }
            order.sort_by_key(|&i| len(i));
            let others: Vec<(usize, AHashMap<&[u8], f64>)> = order[1..]
                .iter()
                .map(|&i| {
                    (
                        i,
                        inputs[i]
                            .iter()
                            .flatten()
                            .map(|(m, s)| (&m[..], *s))
                            .collect(),
                    )
                })
                .collect();
            let mut out = Vec::new();
            'members: for (m, s) in inputs[order[0]].iter().flatten() {
                let mut acc = weighted(o.weights[order[0]], *s);
                for (i, map) in &others {
                    let Some(s2) = map.get(&m[..]) else {
                        continue 'members;
                    };
                    aggregate(o.agg, &mut acc, weighted(o.weights[*i], *s2));
                }
                out.push((m.clone(), acc));
                if o.limit > 0 && out.len() >= o.limit {
                    break;
                }
            }
            out
        }
        Op::Diff => {
            let Some(first) = inputs[0].as_ref() else {
                return Vec::new();
            };
            let others: Vec<AHashMap<&[u8], ()>> = inputs[1..]
                .iter()
                .map(|i| i.iter().flatten().map(|(m, _)| (&m[..], ())).collect())
                .collect();
            first
                .iter()
                .filter(|(m, _)| !others.iter().any(|o| o.contains_key(&m[..])))
                .cloned()
                .collect()
        }
    };
    out.sort_by(|a, b| {
        if less(a.1, &a.0, b.1, &b.0) {
            std::cmp::Ordering::Less
        } else {
            std::cmp::Ordering::Greater
        }
    });
    out
}

/// Places `items` at `dst` (or deletes `dst` when there are none); replies the count.
fn store_result(ctx: &mut ExecCtx<'_>, dst: &[u8], items: Vec<(Bytes, f64)>) -> Reply {
    if items.is_empty() {
        if ctx.exists(dst) {
            ctx.db().remove(dst);
        }
        return Reply::Integer(0);
    }
    let n = items.len();
    ctx.db()
        .insert(dst, Value::ZSet(Box::new(ZSet::from_items(items))), None);
    // A new sorted set wakes BZPOP* waiters, as Redis's dbAdd signals the key.
    crate::commands::blocking::signal(ctx, &Bytes::copy_from_slice(dst));
    Reply::Integer(n as i64)
}

/// The reply (or, for a *STORE, the stored result) of a request whose inputs were read.
fn finish(req: Request, inputs: Vec<Input>) -> Result<Vec<(Bytes, f64)>, Reply> {
    let o = req.opts?;
    Ok(compute(req.op, &inputs, &o))
}

/// Every ZUNION-family command on one shard.
fn run_local(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let req = match parse(args) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut inputs = Vec::with_capacity(req.keys.len());
    for k in &req.keys {
        match load(ctx, k, req.dst.is_some()) {
            Ok(i) => inputs.push(i),
            Err(e) => return e,
        }
    }
    let (dst, card, with_scores) = (
        req.dst.clone(),
        req.card,
        req.opts.as_ref().is_ok_and(|o| o.with_scores),
    );
    match finish(req, inputs) {
        Err(e) => e,
        Ok(items) if card => Reply::Integer(items.len() as i64),
        Ok(items) => match dst {
            Some(d) => store_result(ctx, &d, items),
            None => items_reply(items, with_scores),
        },
    }
}

pub fn zunion(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    run_local(ctx, args)
}
pub fn zinter(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    run_local(ctx, args)
}
pub fn zdiff(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    run_local(ctx, args)
}
pub fn zunionstore(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    run_local(ctx, args)
}
pub fn zinterstore(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    run_local(ctx, args)
}
pub fn zdiffstore(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    run_local(ctx, args)
}
pub fn zintercard(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    run_local(ctx, args)
}

fn unavailable() -> Reply {
    Reply::error("ERR shard unavailable")
}

/// The ZUNION family across shards: read each input on its owner, combine here, store on
/// the destination's owner.
pub async fn combine_coord(core: &Core, db: usize, args: &[Bytes]) -> Reply {
    let req = match parse(args) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let n = core.nr_shards();
    let write = req.dst.is_some();
    let mut inputs = Vec::with_capacity(req.keys.len());
    for k in &req.keys {
        let key = k.clone();
        let got = core
            .router
            .run_on(shard_for_key(k, n), move |s| {
                load(&mut ExecCtx::new(s, db), &key, write)
            })
            .await;
        match got {
            None => return unavailable(),
            Some(Err(e)) => return e,
            Some(Ok(i)) => inputs.push(i),
        }
    }
    let (dst, card, name) = (req.dst.clone(), req.card, req.name);
    let with_scores = req.opts.as_ref().is_ok_and(|o| o.with_scores);
    let items = match finish(req, inputs) {
        Err(e) => return e,
        Ok(items) => items,
    };
    if card {
        return Reply::Integer(items.len() as i64);
    }
    let Some(dst) = dst else {
        return items_reply(items, with_scores);
    };
    store_on(core, db, dst, items, name).await
}

/// Places a result on the destination's shard, raising `name`'s event.
async fn store_on(
    core: &Core,
    db: usize,
    dst: Bytes,
    items: Vec<(Bytes, f64)>,
    name: &'static str,
) -> Reply {
    let shard = shard_for_key(&dst, core.nr_shards());
    core.router
        .run_on(shard, move |s| {
            s.notify_cmd = Some(name);
            store_result(&mut ExecCtx::new(s, db), &dst, items)
        })
        .await
        .unwrap_or_else(unavailable)
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count].
fn parse_rangestore(args: &[Bytes]) -> Result<RangeQuery, Reply> {
    range::parse_query(args, 3, None, None, true)
}

fn range_of(ctx: &mut ExecCtx<'_>, src: &[u8], q: &RangeQuery) -> Result<Vec<(Bytes, f64)>, Reply> {
    Ok(coll::read::<ZSet>(ctx, src)?.map_or_else(Vec::new, |z| range::select(z, q)))
}

pub fn zrangestore(ctx: &mut ExecCtx<'_>, args: &[Bytes]) -> Reply {
    let q = match parse_rangestore(args) {
        Ok(q) => q,
        Err(e) => return e,
    };
    match range_of(ctx, &args[2], &q) {
        Err(e) => e,
        Ok(items) => store_result(ctx, &args[1], items),
    }
}

pub async fn zrangestore_coord(core: &Core, db: usize, args: &[Bytes]) -> Reply {
    let q = match parse_rangestore(args) {
        Ok(q) => q,
        Err(e) => return e,
    };
    let src = args[2].clone();
    let got = core
        .router
        .run_on(shard_for_key(&src, core.nr_shards()), move |s| {
            range_of(&mut ExecCtx::new(s, db), &src, &q)
        })
        .await;
    match got {
        None => unavailable(),
        Some(Err(e)) => e,
        Some(Ok(items)) => store_on(core, db, args[1].clone(), items, "zrangestore").await,
    }
}

/// ZMPOP across shards: the keys are tried in order, each on its owner, until one pops.
pub async fn zmpop_coord(core: &Core, db: usize, args: &[Bytes]) -> Reply {
    let (keys, max, count) = match parse_zmpop(args) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let n = core.nr_shards();
    for key in keys {
        let k = key.clone();
        let got = core
            .router
            .run_on(shard_for_key(&key, n), move |s| {
                pop(&mut ExecCtx::new(s, db), &k, max, count)
            })
            .await;
        match got {
            None => return unavailable(),
            Some(Err(e)) => return e,
            Some(Ok(None)) => continue,
            Some(Ok(Some(items))) => return mpop_reply(key, items),
        }
    }
    Reply::NilArray
}
