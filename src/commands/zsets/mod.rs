//! The sorted-set family: ZADD and friends. Single-key commands run on the shard that owns
//! their key and follow the collection write protocol (`commands::collection`); the
//! multi-key ones (ZUNION..., ZRANGESTORE, ZMPOP) are atomic on one shard when their keys live
//! together and coordinated across shards otherwise (`combine`).
//!
//! Replies follow Redis 7.0.15: scores are `Reply::Double` (RESP3 `,`; RESP2 the `%.17g`
//! bulk text), member/score lists are `Reply::Pairs`.
//!
//! BZPOPMIN / BZPOPMAX / BZMPOP are not registered here: the blocking framework serves a
//! waiter through [`write::pop_for_waiter`].

mod combine;
mod range;
mod read;
mod write;

use bytes::Bytes;

use crate::commands::blocking;
use crate::commands::exec::CoordOp;
use crate::commands::spec::{CommandSpec, Exec, flag::*, numkeys_at};
use crate::protocol::Reply;

pub use combine::{combine_coord, zmpop_coord, zrangestore_coord};
pub use write::{mpop_reply, parse_zmpop, pop, pop_for_waiter};

use combine::*;
use read::*;
use write::*;

/// ZUNION / ZINTER / ZDIFF / ZINTERCARD / ZMPOP: `numkeys key...` at argument 1.
fn keys_at_1(args: &[Bytes]) -> Vec<usize> {
    numkeys_at(args, 1)
}

/// BZMPOP's keys: `numkeys` at 2 (after the timeout).
fn keys_at_2(args: &[Bytes]) -> Vec<usize> {
    numkeys_at(args, 2)
}

/// The *STORE forms: the destination, then `numkeys key...` at argument 2.
fn keys_of_store(args: &[Bytes]) -> Vec<usize> {
    let mut keys = vec![1];
    keys.extend(numkeys_at(args, 2));
    keys
}

pub static SPECS: &[CommandSpec] = &[
    CommandSpec::new("zadd", -4, WRITE | DENYOOM | FAST, (1, 1, 1), Exec::Shard(zadd))
        .acl(&["write", "sortedset", "fast"])
        .doc("sorted-set", "1.2.0", "Add one or more members to a sorted set, or update its score if it already exists", "O(log(N)) for each item added, where N is the number of elements in the sorted set."),
    CommandSpec::new("zincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), Exec::Shard(zincrby))
        .acl(&["write", "sortedset", "fast"])
        .doc("sorted-set", "1.2.0", "Increment the score of a member in a sorted set", "O(log(N)) where N is the number of elements in the sorted set."),
    CommandSpec::new("zrem", -3, WRITE | FAST, (1, 1, 1), Exec::Shard(zrem))
        .acl(&["write", "sortedset", "fast"])
        .doc("sorted-set", "1.2.0", "Remove one or more members from a sorted set", "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed."),
    CommandSpec::new("zcard", 2, READONLY | FAST, (1, 1, 1), Exec::Shard(zcard))
        .acl(&["read", "sortedset", "fast"])
        .doc("sorted-set", "1.2.0", "Get the number of members in a sorted set", "O(1)"),
    CommandSpec::new("zscore", 3, READONLY | FAST, (1, 1, 1), Exec::Shard(zscore))
        .acl(&["read", "sortedset", "fast"])
        .doc("sorted-set", "1.2.0", "Get the score associated with the given member in a sorted set", "O(1)"),
    CommandSpec::new("zmscore", -3, READONLY | FAST, (1, 1, 1), Exec::Shard(zmscore))
        .acl(&["read", "sortedset", "fast"])
        .doc("sorted-set", "6.2.0", "Get the score associated with the given members in a sorted set", "O(N) where N is the number of members being requested."),
    CommandSpec::new("zcount", 4, READONLY | FAST, (1, 1, 1), Exec::Shard(zcount))
        .acl(&["read", "sortedset", "fast"])
        .doc("sorted-set", "2.0.0", "Count the members in a sorted set with scores within the given values", "O(log(N)) with N being the number of elements in the sorted set."),
    CommandSpec::new("zlexcount", 4, READONLY | FAST, (1, 1, 1), Exec::Shard(zlexcount))
        .acl(&["read", "sortedset", "fast"])
        .doc("sorted-set", "2.8.9", "Count the number of members in a sorted set between a given lexicographical range", "O(log(N)) with N being the number of elements in the sorted set."),
    CommandSpec::new("zrange", -4, READONLY, (1, 1, 1), Exec::Shard(zrange))
        .acl(&["read", "sortedset", "slow"])
        .doc("sorted-set", "1.2.0", "Return a range of members in a sorted set", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned."),
    CommandSpec::new("zrangestore", -5, WRITE | DENYOOM, (1, 2, 1), Exec::ShardOrCoord(zrangestore, CoordOp::ZRangeStore))
        .acl(&["write", "sortedset", "slow"])
        .doc("sorted-set", "6.2.0", "Store a range of members from sorted set into another key", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key."),
    CommandSpec::new("zrangebyscore", -4, READONLY, (1, 1, 1), Exec::Shard(zrangebyscore))
        .acl(&["read", "sortedset", "slow"])
        .doc("sorted-set", "1.0.5", "Return a range of members in a sorted set, by score", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N))."),
    CommandSpec::new("zrevrangebyscore", -4, READONLY, (1, 1, 1), Exec::Shard(zrevrangebyscore))
        .acl(&["read", "sortedset", "slow"])
        .doc("sorted-set", "2.2.0", "Return a range of members in a sorted set, by score, with scores ordered from high to low", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N))."),
    CommandSpec::new("zrangebylex", -4, READONLY, (1, 1, 1), Exec::Shard(zrangebylex))
        .acl(&["read", "sortedset", "slow"])
        .doc("sorted-set", "2.8.9", "Return a range of members in a sorted set, by lexicographical range", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N))."),
    CommandSpec::new("zrevrangebylex", -4, READONLY, (1, 1, 1), Exec::Shard(zrevrangebylex))
        .acl(&["read", "sortedset", "slow"])
        .doc("sorted-set", "2.8.9", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N))."),
    CommandSpec::new("zrevrange", -4, READONLY, (1, 1, 1), Exec::Shard(zrevrange))
        .acl(&["read", "sortedset", "slow"])
        .doc("sorted-set", "1.2.0", "Return a range of members in a sorted set, by index, with scores ordered from high to low", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned."),
    CommandSpec::new("zrank", 3, READONLY | FAST, (1, 1, 1), Exec::Shard(zrank))
        .acl(&["read", "sortedset", "fast"])
        .doc("sorted-set", "2.0.0", "Determine the index of a member in a sorted set", "O(log(N))"),
    CommandSpec::new("zrevrank", 3, READONLY | FAST, (1, 1, 1), Exec::Shard(zrevrank))
        .acl(&["read", "sortedset", "fast"])
        .doc("sorted-set", "2.0.0", "Determine the index of a member in a sorted set, with scores ordered from high to low", "O(log(N))"),
    CommandSpec::new("zremrangebyrank", 4, WRITE, (1, 1, 1), Exec::Shard(zremrangebyrank))
        .acl(&["write", "sortedset", "slow"])
        .doc("sorted-set", "2.0.0", "Remove all members in a sorted set within the given indexes", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
    CommandSpec::new("zremrangebyscore", 4, WRITE, (1, 1, 1), Exec::Shard(zremrangebyscore))
        .acl(&["write", "sortedset", "slow"])
        .doc("sorted-set", "1.2.0", "Remove all members in a sorted set within the given scores", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
    CommandSpec::new("zremrangebylex", 4, WRITE, (1, 1, 1), Exec::Shard(zremrangebylex))
        .acl(&["write", "sortedset", "slow"])
        .doc("sorted-set", "2.8.9", "Remove all members in a sorted set between the given lexicographical range", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
    CommandSpec::new("zpopmin", -2, WRITE | FAST, (1, 1, 1), Exec::Shard(zpopmin))
        .acl(&["write", "sortedset", "fast"])
        .doc("sorted-set", "5.0.0", "Remove and return members with the lowest scores in a sorted set", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped."),
    CommandSpec::new("zpopmax", -2, WRITE | FAST, (1, 1, 1), Exec::Shard(zpopmax))
        .acl(&["write", "sortedset", "fast"])
        .doc("sorted-set", "5.0.0", "Remove and return members with the highest scores in a sorted set", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped."),
    CommandSpec::new("zmpop", -4, WRITE, (0, 0, 0), Exec::ShardOrCoord(zmpop, CoordOp::ZMPop))
        .movable(keys_at_1)
        .acl(&["write", "sortedset", "slow"])
        .doc("sorted-set", "7.0.0", "Remove and return members with scores in a sorted set", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped."),
    CommandSpec::new("bzpopmin", -3, WRITE | NOSCRIPT | BLOCKING | FAST, (1, -2, 1), Exec::ShardOrCoord(blocking::zsets::now, CoordOp::ZBlock))
        .acl(&["write", "sortedset", "fast", "blocking"])
        .doc("sorted-set", "5.0.0", "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available", "O(log(N)) with N being the number of elements in the sorted set."),
    CommandSpec::new("bzpopmax", -3, WRITE | NOSCRIPT | BLOCKING | FAST, (1, -2, 1), Exec::ShardOrCoord(blocking::zsets::now, CoordOp::ZBlock))
        .acl(&["write", "sortedset", "fast", "blocking"])
        .doc("sorted-set", "5.0.0", "Remove and return the member with the highest score from one or more sorted sets, or block until one is available", "O(log(N)) with N being the number of elements in the sorted set."),
    CommandSpec::new("bzmpop", -5, WRITE | BLOCKING, (0, 0, 0), Exec::ShardOrCoord(blocking::zsets::now, CoordOp::ZBlock))
        .movable(keys_at_2)
        .acl(&["write", "sortedset", "slow", "blocking"])
        .doc("sorted-set", "7.0.0", "Remove and return members with scores in a sorted set or block until one is available", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped."),
    CommandSpec::new("zrandmember", -2, READONLY, (1, 1, 1), Exec::Shard(zrandmember))
        .acl(&["read", "sortedset", "slow"])
        .doc("sorted-set", "6.2.0", "Get one or multiple random elements from a sorted set", "O(N) where N is the number of elements returned"),
    CommandSpec::new("zunion", -3, READONLY, (0, 0, 0), Exec::ShardOrCoord(zunion, CoordOp::ZCombine))
        .movable(keys_at_1)
        .acl(&["read", "sortedset", "slow"])
        .doc("sorted-set", "6.2.0", "Add multiple sorted sets", "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."),
    CommandSpec::new("zinter", -3, READONLY, (0, 0, 0), Exec::ShardOrCoord(zinter, CoordOp::ZCombine))
        .movable(keys_at_1)
        .acl(&["read", "sortedset", "slow"])
        .doc("sorted-set", "6.2.0", "Intersect multiple sorted sets", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set."),
    CommandSpec::new("zdiff", -3, READONLY, (0, 0, 0), Exec::ShardOrCoord(zdiff, CoordOp::ZCombine))
        .movable(keys_at_1)
        .acl(&["read", "sortedset", "slow"])
        .doc("sorted-set", "6.2.0", "Subtract multiple sorted sets", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set."),
    CommandSpec::new("zunionstore", -4, WRITE | DENYOOM, (1, 1, 1), Exec::ShardOrCoord(zunionstore, CoordOp::ZCombine))
        .movable(keys_of_store)
        .acl(&["write", "sortedset", "slow"])
        .doc("sorted-set", "2.0.0", "Add multiple sorted sets and store the resulting sorted set in a new key", "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."),
    CommandSpec::new("zinterstore", -4, WRITE | DENYOOM, (1, 1, 1), Exec::ShardOrCoord(zinterstore, CoordOp::ZCombine))
        .movable(keys_of_store)
        .acl(&["write", "sortedset", "slow"])
        .doc("sorted-set", "2.0.0", "Intersect multiple sorted sets and store the resulting sorted set in a new key", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set."),
    CommandSpec::new("zdiffstore", -4, WRITE | DENYOOM, (1, 1, 1), Exec::ShardOrCoord(zdiffstore, CoordOp::ZCombine))
        .movable(keys_of_store)
        .acl(&["write", "sortedset", "slow"])
        .doc("sorted-set", "6.2.0", "Subtract multiple sorted sets and store the resulting sorted set in a new key", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set."),
    CommandSpec::new("zintercard", -3, READONLY, (0, 0, 0), Exec::ShardOrCoord(zintercard, CoordOp::ZCombine))
        .movable(keys_at_1)
        .acl(&["read", "sortedset", "slow"])
        .doc("sorted-set", "7.0.0", "Intersect multiple sorted sets and return the cardinality of the result", "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets."),
    CommandSpec::new("zscan", -3, READONLY, (1, 1, 1), Exec::Shard(zscan))
        .acl(&["read", "sortedset", "slow"])
        .doc("sorted-set", "2.8.0", "Incrementally iterate sorted sets elements and associated scores", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.."),
];

fn bulk(b: &[u8]) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(b))
}

/// Members, or member/score pairs with WITHSCORES.
fn items_reply(items: Vec<(Bytes, f64)>, with_scores: bool) -> Reply {
    if with_scores {
        Reply::Pairs(
            items
                .into_iter()
                .map(|(m, s)| (Reply::Bulk(m), Reply::Double(s)))
                .collect(),
        )
    } else {
        Reply::Array(items.into_iter().map(|(m, _)| Reply::Bulk(m)).collect())
    }
}
