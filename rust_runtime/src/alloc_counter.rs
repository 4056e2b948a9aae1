//! A counting global allocator (for the binary, the memory tests and `heap_stats()`): live bytes,
//! peak live bytes, bytes allocated and number of allocations, with relaxed atomics.
//!
//! Install it with `#[global_allocator] static A: CountingAlloc = CountingAlloc;` in the final
//! artifact; the figures stay zero where it is not installed. [`WindowCountingAlloc`] counts only
//! inside [`measure_window`]: for the extension module, whose runs would otherwise pay a locked
//! instruction per allocation and free for figures that only its heap measurement reads.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// Live bytes, as a wrapping counter read as signed: inside a window, frees of blocks allocated
/// before it take it below zero.
static LIVE: AtomicU64 = AtomicU64::new(0);
static PEAK: AtomicU64 = AtomicU64::new(0);
static ALLOCATED: AtomicU64 = AtomicU64::new(0);
static COUNT: AtomicU64 = AtomicU64::new(0);
/// Whether [`WindowCountingAlloc`] counts (inside [`measure_window`]).
static WINDOW_OPEN: AtomicBool = AtomicBool::new(false);

/// The system allocator, counting.
pub struct CountingAlloc;

/// One locked operation per call (the live bytes, exact under threads); the peak and the totals
/// use plain loads and stores: exact for a single thread (the binary, the memory tests), and
/// cheap — a locked read-modify-write per counter cost ~20 % of the text scenario's run time.
#[inline]
fn grow(size: u64) {
    let live = LIVE.fetch_add(size, Relaxed).wrapping_add(size);
    if (live as i64) > (PEAK.load(Relaxed) as i64) {
        PEAK.store(live, Relaxed);
    }
    ALLOCATED.store(ALLOCATED.load(Relaxed) + size, Relaxed);
    COUNT.store(COUNT.load(Relaxed) + 1, Relaxed);
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size() as u64);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size() as u64);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as u64, Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size() as u64, Relaxed);
            grow(new_size as u64);
        }
        p
    }
}

/// The system allocator, counting only while a [`measure_window`] is open (one relaxed load per
/// call otherwise).
pub struct WindowCountingAlloc;

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for WindowCountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() && WINDOW_OPEN.load(Relaxed) {
            grow(layout.size() as u64);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() && WINDOW_OPEN.load(Relaxed) {
            grow(layout.size() as u64);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        if WINDOW_OPEN.load(Relaxed) {
            LIVE.fetch_sub(layout.size() as u64, Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() && WINDOW_OPEN.load(Relaxed) {
            LIVE.fetch_sub(layout.size() as u64, Relaxed);
            grow(new_size as u64);
        }
        p
    }
}

/// Runs `f` with [`WindowCountingAlloc`] counting; returns its result and what it allocated:
/// `peak_bytes` is the highest live heap above the heap live when the window opened (what `f`
/// needed), `current_bytes` what it left live (negative net frees read as 0).
pub fn measure_window<R>(f: impl FnOnce() -> R) -> (R, HeapStats) {
    LIVE.store(0, Relaxed);
    PEAK.store(0, Relaxed);
    ALLOCATED.store(0, Relaxed);
    COUNT.store(0, Relaxed);
    WINDOW_OPEN.store(true, Relaxed);
    let result = f();
    WINDOW_OPEN.store(false, Relaxed);
    let s = stats();
    let signed = |v: u64| (v as i64).max(0) as u64;
    let window = HeapStats {
        current_bytes: signed(s.current_bytes),
        peak_bytes: signed(s.peak_bytes),
        ..s
    };
    (result, window)
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeapStats {
    /// Bytes live now.
    pub current_bytes: u64,
    /// Highest live bytes since the last [`reset`].
    pub peak_bytes: u64,
    /// Bytes allocated since the last [`reset`] (a realloc counts its new size).
    pub allocated_bytes: u64,
    /// Allocations (and reallocations) since the last [`reset`].
    pub allocations: u64,
}

/// Reads the counters.
pub fn stats() -> HeapStats {
    HeapStats {
        current_bytes: LIVE.load(Relaxed),
        peak_bytes: PEAK.load(Relaxed),
        allocated_bytes: ALLOCATED.load(Relaxed),
        allocations: COUNT.load(Relaxed),
    }
}

/// Starts a new measurement: the peak becomes the live bytes now, the totals zero.
pub fn reset() {
    PEAK.store(LIVE.load(Relaxed), Relaxed);
    ALLOCATED.store(0, Relaxed);
    COUNT.store(0, Relaxed);
}
