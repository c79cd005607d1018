//! The list family's command table (data).

use bytes::Bytes;

use super::basic::*;
use super::moves::*;
use crate::commands::blocking;
use crate::commands::exec::CoordOp;
use crate::commands::spec::{CommandSpec, Exec, flag::*};

/// LMPOP's keys: `numkeys` at 1.
fn lmpop_keys(args: &[Bytes]) -> Vec<usize> {
    crate::commands::spec::numkeys_at(args, 1)
}

/// BLMPOP's keys: `numkeys` at 2 (after the timeout).
fn blmpop_keys(args: &[Bytes]) -> Vec<usize> {
    crate::commands::spec::numkeys_at(args, 2)
}

pub static SPECS: &[CommandSpec] = &[
    CommandSpec::new("lpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), Exec::Shard(lpush))
        .acl(&["write", "list", "fast"])
        .doc("list", "1.0.0", "Prepend one or multiple elements to a list", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
    CommandSpec::new("rpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), Exec::Shard(rpush))
        .acl(&["write", "list", "fast"])
        .doc("list", "1.0.0", "Append one or multiple elements to a list", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
    CommandSpec::new("lpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), Exec::Shard(lpushx))
        .acl(&["write", "list", "fast"])
        .doc("list", "2.2.0", "Prepend an element to a list, only if the list exists", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
    CommandSpec::new("rpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), Exec::Shard(rpushx))
        .acl(&["write", "list", "fast"])
        .doc("list", "2.2.0", "Append an element to a list, only if the list exists", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
    CommandSpec::new("lpop", -2, WRITE | FAST, (1, 1, 1), Exec::Shard(lpop))
        .acl(&["write", "list", "fast"])
        .doc("list", "1.0.0", "Remove and get the first elements in a list", "O(N) where N is the number of elements returned"),
    CommandSpec::new("rpop", -2, WRITE | FAST, (1, 1, 1), Exec::Shard(rpop))
        .acl(&["write", "list", "fast"])
        .doc("list", "1.0.0", "Remove and get the last elements in a list", "O(N) where N is the number of elements returned"),
    CommandSpec::new("llen", 2, READONLY | FAST, (1, 1, 1), Exec::Shard(llen))
        .acl(&["read", "list", "fast"])
        .doc("list", "1.0.0", "Get the length of a list", "O(1)"),
    CommandSpec::new("lrange", 4, READONLY, (1, 1, 1), Exec::Shard(lrange))
        .acl(&["read", "list", "slow"])
        .doc("list", "1.0.0", "Get a range of elements from a list", "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range."),
    CommandSpec::new("lindex", 3, READONLY, (1, 1, 1), Exec::Shard(lindex))
        .acl(&["read", "list", "slow"])
        .doc("list", "1.0.0", "Get an element from a list by its index", "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1)."),
    CommandSpec::new("lset", 4, WRITE | DENYOOM, (1, 1, 1), Exec::Shard(lset))
        .acl(&["write", "list", "slow"])
        .doc("list", "1.0.0", "Set the value of an element in a list by its index", "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1)."),
    CommandSpec::new("linsert", 5, WRITE | DENYOOM, (1, 1, 1), Exec::Shard(linsert))
        .acl(&["write", "list", "slow"])
        .doc("list", "2.2.0", "Insert an element before or after another element in a list", "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N)."),
    CommandSpec::new("lrem", 4, WRITE, (1, 1, 1), Exec::Shard(lrem))
        .acl(&["write", "list", "slow"])
        .doc("list", "1.0.0", "Remove elements from a list", "O(N+M) where N is the length of the list and M is the number of elements removed."),
    CommandSpec::new("ltrim", 4, WRITE, (1, 1, 1), Exec::Shard(ltrim))
        .acl(&["write", "list", "slow"])
        .doc("list", "1.0.0", "Trim a list to the specified range", "O(N) where N is the number of elements to be removed by the operation."),
    CommandSpec::new("lpos", -3, READONLY, (1, 1, 1), Exec::Shard(lpos))
        .acl(&["read", "list", "slow"])
        .doc("list", "6.0.6", "Return the index of matching elements on a list", "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time."),
    CommandSpec::new("lmove", 5, WRITE | DENYOOM, (1, 2, 1), Exec::ShardOrCoord(lmove, CoordOp::LMove))
        .acl(&["write", "list", "slow"])
        .doc("list", "6.2.0", "Pop an element from a list, push it to another list and return it", "O(1)"),
    CommandSpec::new("rpoplpush", 3, WRITE | DENYOOM, (1, 2, 1), Exec::ShardOrCoord(rpoplpush, CoordOp::LMove))
        .acl(&["write", "list", "slow"])
        .doc("list", "1.2.0", "Remove the last element in a list, prepend it to another list and return it", "O(1)"),
    CommandSpec::new("lmpop", -4, WRITE, (0, 0, 0), Exec::ShardOrCoord(lmpop, CoordOp::LMPop))
        .movable(lmpop_keys)
        .acl(&["write", "list", "slow"])
        .doc("list", "7.0.0", "Pop elements from a list", "O(N+M) where N is the number of provided keys and M is the number of elements returned."),
    CommandSpec::new("blpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), Exec::ShardOrCoord(blocking::lists::blpop_now, CoordOp::Block))
        .acl(&["write", "list", "slow", "blocking"])
        .doc("list", "2.0.0", "Remove and get the first element in a list, or block until one is available", "O(N) where N is the number of provided keys."),
    CommandSpec::new("brpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), Exec::ShardOrCoord(blocking::lists::brpop_now, CoordOp::Block))
        .acl(&["write", "list", "slow", "blocking"])
        .doc("list", "2.0.0", "Remove and get the last element in a list, or block until one is available", "O(N) where N is the number of provided keys."),
    CommandSpec::new("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, (1, 2, 1), Exec::ShardOrCoord(blocking::lists::brpoplpush_now, CoordOp::Block))
        .acl(&["write", "list", "slow", "blocking"])
        .doc("list", "2.2.0", "Pop an element from a list, push it to another list and return it; or block until one is available", "O(1)"),
    CommandSpec::new("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, (1, 2, 1), Exec::ShardOrCoord(blocking::lists::blmove_now, CoordOp::Block))
        .acl(&["write", "list", "slow", "blocking"])
        .doc("list", "6.2.0", "Pop an element from a list, push it to another list and return it; or block until one is available", "O(1)"),
    CommandSpec::new("blmpop", -5, WRITE | BLOCKING, (0, 0, 0), Exec::ShardOrCoord(blocking::lists::blmpop_now, CoordOp::Block))
        .movable(blmpop_keys)
        .acl(&["write", "list", "slow", "blocking"])
        .doc("list", "7.0.0", "Pop elements from a list, or block until one is available", "O(N+M) where N is the number of provided keys and M is the number of elements returned."),
];
