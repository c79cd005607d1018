//! A counting global allocator, so INFO's `used_memory` is the bytes the process really has
//! allocated, as Redis reports from jemalloc.
//!
//! Each thread adds to its own cache-line-padded counter (assigned round-robin), so cores do
//! not contend on one atomic. A block freed on another thread than the one that allocated it
//! (cross-core messages) makes one counter go down and another up; only the sum is meaningful.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

const SLOTS: usize = 64;

#[repr(align(64))]
struct Slot(AtomicIsize);

static COUNTERS: [Slot; SLOTS] = [const { Slot(AtomicIsize::new(0)) }; SLOTS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static MY_SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn slot() -> &'static AtomicIsize {
    let i = MY_SLOT
        .try_with(|s| {
            if s.get() == usize::MAX {
                s.set(NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % SLOTS);
            }
            s.get()
        })
        // During thread teardown the thread-local is gone; any slot keeps the sum right.
        .unwrap_or(0);
    &COUNTERS[i].0
}

pub struct CountingAlloc;

// SAFETY: forwards every call to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            slot().fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        slot().fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            slot().fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            slot().fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

/// Bytes currently allocated by the whole process.
pub fn used_bytes() -> usize {
    let sum: isize = COUNTERS.iter().map(|s| s.0.load(Ordering::Relaxed)).sum();
    let used = sum.max(0) as usize;
    PEAK.fetch_max(used, Ordering::Relaxed);
    used
}

/// Highest `used_bytes` observed so far (sampled when INFO or the housekeeping tick reads it).
pub fn peak_bytes() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Resident set size from /proc/self/statm, in bytes.
pub fn rss_bytes() -> usize {
    let page = 4096;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<usize>().ok())
        })
        .map_or(0, |pages| pages * page)
}
