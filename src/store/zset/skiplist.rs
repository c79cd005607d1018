//! A skiplist with spans (Redis's `zskiplist`), ordered by (score, member), in an arena.
//!
//! Nodes live in one `Vec` and link by `u32` index, so there is no `unsafe` and no
//! `Rc<RefCell<..>>`: a freed slot goes on a free list and is reused by the next insert.
//! Every forward link carries its *span* (how many rank positions it skips), which makes
//! rank lookups (`ZRANK`, `ZRANGE` by index) O(log n), as in Redis.
//!
//! The member→score lookup is not here: the owner pairs this list with a `Dict`.

use bytes::Bytes;

/// Redis's `ZSKIPLIST_MAXLEVEL`: enough for 2^64 elements at p = 1/4.
const MAX_LEVEL: usize = 32;
/// Index of "no node".
const NIL: u32 = u32::MAX;
/// The header node's index.
const HEAD: u32 = 0;

#[derive(Clone, Copy, Debug)]
struct Level {
    forward: u32,
    span: u32,
}

#[derive(Clone, Debug)]
struct Node {
    member: Bytes,
    score: f64,
    backward: u32,
    levels: Box<[Level]>,
}

#[derive(Clone, Debug)]
pub struct SkipList {
    nodes: Vec<Node>,
    free: Vec<u32>,
    tail: u32,
    len: usize,
    level: usize,
    /// xorshift state for node levels: structure only, never visible to clients.
    seed: u64,
}

impl Default for SkipList {
    fn default() -> SkipList {
        SkipList::new()
    }
}

/// (a_score, a_member) < (b_score, b_member).
fn less(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> bool {
    a_score < b_score || (a_score == b_score && a_member < b_member)
}

impl SkipList {
    pub fn new() -> SkipList {
        let head = Node {
            member: Bytes::new(),
            score: 0.0,
            backward: NIL,
            levels: vec![
                Level {
                    forward: NIL,
                    span: 0
                };
                MAX_LEVEL
            ]
            .into_boxed_slice(),
        };
        SkipList {
            nodes: vec![head],
            free: Vec::new(),
            tail: NIL,
            len: 0,
            level: 1,
            seed: 0x9E37_79B9_7F4A_7C15,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn random_level(&mut self) -> usize {
        let mut level = 1;
        loop {
            self.seed ^= self.seed << 13;
            self.seed ^= self.seed >> 7;
            self.seed ^= self.seed << 17;
            // p = 1/4, as Redis's ZSKIPLIST_P.
            if self.seed & 3 != 0 || level >= MAX_LEVEL {
                return level;
            }
            level += 1;
        }
    }

    fn fwd(&self, x: u32, i: usize) -> u32 {
        self.nodes[x as usize].levels[i].forward
    }

    fn span(&self, x: u32, i: usize) -> u32 {
        self.nodes[x as usize].levels[i].span
    }

    fn lvl(&mut self, x: u32, i: usize) -> &mut Level {
        &mut self.nodes[x as usize].levels[i]
    }

    /// For each level, the last node before (score, member), and its rank.
    fn path(&self, score: f64, member: &[u8]) -> ([u32; MAX_LEVEL], [u32; MAX_LEVEL]) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let f = self.fwd(x, i);
                if f == NIL {
                    break;
                }
                let n = &self.nodes[f as usize];
                if !less(n.score, &n.member, score, member) {
                    break;
                }
                rank[i] += self.span(x, i);
                x = f;
            }
            update[i] = x;
        }
        (update, rank)
    }

    /// Inserts a member that is not in the list (the caller's dict guarantees it).
    pub fn insert(&mut self, member: Bytes, score: f64) {
        let (mut update, mut rank) = self.path(score, &member);
        let level = self.random_level();
        if level > self.level {
            for i in self.level..level {
                rank[i] = 0;
                update[i] = HEAD;
                self.lvl(HEAD, i).span = self.len as u32;
            }
            self.level = level;
        }
        let node = Node {
            member,
            score,
            backward: if update[0] == HEAD { NIL } else { update[0] },
            levels: vec![
                Level {
                    forward: NIL,
                    span: 0
                };
                level
            ]
            .into_boxed_slice(),
        };
        let x = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        for i in 0..level {
            let prev = update[i];
            let prev_level = self.nodes[prev as usize].levels[i];
            let skipped = rank[0] - rank[i];
            *self.lvl(x, i) = Level {
                forward: prev_level.forward,
                span: prev_level.span - skipped,
            };
            *self.lvl(prev, i) = Level {
                forward: x,
                span: skipped + 1,
            };
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(level) {
            self.lvl(u, i).span += 1;
        }
        let next = self.fwd(x, 0);
        if next == NIL {
            self.tail = x;
        } else {
            self.nodes[next as usize].backward = x;
        }
        self.len += 1;
    }

    /// Removes (score, member). Returns true if it was there.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        let (update, _) = self.path(score, member);
        let x = self.fwd(update[0], 0);
        if x == NIL {
            return false;
        }
        let n = &self.nodes[x as usize];
        if n.score != score || n.member != member {
            return false;
        }
        for (i, &u) in update.iter().enumerate().take(self.level) {
            if self.fwd(u, i) == x {
                let gone = self.nodes[x as usize].levels[i];
                *self.lvl(u, i) = Level {
                    forward: gone.forward,
                    span: self.span(u, i) + gone.span - 1,
                };
            } else {
                self.lvl(u, i).span -= 1;
            }
        }
        let (next, back) = (self.fwd(x, 0), self.nodes[x as usize].backward);
        if next == NIL {
            self.tail = back;
        } else {
            self.nodes[next as usize].backward = back;
        }
        while self.level > 1 && self.fwd(HEAD, self.level - 1) == NIL {
            self.level -= 1;
        }
        let slot = &mut self.nodes[x as usize];
        slot.member = Bytes::new();
        slot.levels = Box::new([]);
        self.free.push(x);
        self.len -= 1;
        true
    }

    /// How many elements, from the lowest, satisfy `before` (which must hold for a prefix of
    /// the order and not after it): the rank where that prefix ends. O(log n).
    pub fn count_while(&self, before: impl Fn(&[u8], f64) -> bool) -> usize {
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f == NIL {
                    break;
                }
                let n = &self.nodes[f as usize];
                if !before(&n.member, n.score) {
                    break;
                }
                rank += self.span(x, i) as usize;
                x = f;
            }
        }
        rank
    }

    /// The node at 0-based `rank`. O(log n).
    fn node_at(&self, rank: usize) -> u32 {
        let target = rank as u64 + 1;
        let mut traversed = 0u64;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f == NIL || traversed + u64::from(self.span(x, i)) > target {
                    break;
                }
                traversed += u64::from(self.span(x, i));
                x = f;
            }
            if traversed == target {
                return x;
            }
        }
        NIL
    }

    /// Elements at ranks `start..end` (ascending), or walked from `end - 1` down when `rev`.
    pub fn range(&self, start: usize, end: usize, rev: bool) -> Vec<(Bytes, f64)> {
        let end = end.min(self.len);
        if start >= end {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(end - start);
        let mut x = self.node_at(if rev { end - 1 } else { start });
        while x != NIL && out.len() < end - start {
            let n = &self.nodes[x as usize];
            out.push((n.member.clone(), n.score));
            x = if rev { n.backward } else { n.levels[0].forward };
        }
        out
    }

    /// Every (member, score), lowest first.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, f64)> + '_ {
        let mut x = self.fwd(HEAD, 0);
        std::iter::from_fn(move || {
            if x == NIL {
                return None;
            }
            let n = &self.nodes[x as usize];
            x = n.levels[0].forward;
            Some((&n.member, n.score))
        })
    }

    pub fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * size_of::<Node>()
            + self
                .nodes
                .iter()
                .map(|n| n.levels.len() * size_of::<Level>())
                .sum::<usize>()
            + self.free.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_and_ranges_follow_a_sorted_model() {
        let mut sl = SkipList::new();
        let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
        let mut seed = 7u64;
        for step in 0..3000u64 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let m = format!("m{}", (seed >> 33) % 500).into_bytes();
            let score = ((seed >> 20) % 50) as f64;
            if let Some(i) = model.iter().position(|(_, x)| *x == m) {
                let (s, _) = model.remove(i);
                assert!(sl.remove(s, &m));
            } else if step % 3 != 0 {
                model.push((score, m.clone()));
                sl.insert(Bytes::from(m), score);
            }
            model.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            assert_eq!(sl.len(), model.len());
            if step % 100 == 0 {
                let all: Vec<(f64, Vec<u8>)> = sl.iter().map(|(m, s)| (s, m.to_vec())).collect();
                assert_eq!(all, model);
                for (r, (s, m)) in model.iter().enumerate() {
                    let got = sl.range(r, r + 1, false);
                    assert_eq!(got[0].0, m);
                    assert_eq!(sl.count_while(|x, xs| less(xs, x, *s, m)), r);
                }
                let rev = sl.range(1, model.len(), true);
                assert_eq!(rev.len(), model.len().saturating_sub(1));
            }
        }
    }
}
