//! The native machine reference: a small frozen workload that shares no code with the pipeline.
//!
//! `rmprof bench` times it in every round beside the runtimes, so that `rmprof compare` can tell the
//! machine's move from the code's. It must stay frozen: the extension exposes this file's text
//! (`machine_reference_source`) and rmprof digests it, so any edit here, comments included, makes a new
//! reference that is never compared with results of the old one. It uses only `std`, never the executor,
//! the nodes or the values of this crate.

use std::collections::HashMap;
use std::fmt::Write;
use std::hash::{BuildHasherDefault, DefaultHasher};
use std::hint::black_box;
use std::time::Instant;

/// Values drawn per pass.
const VALUES: usize = 2048;
/// Distinct keys of the map filled per pass.
const KEYS: u64 = 509;

/// One xorshift64 step (Marsaglia 2003): fixed integer arithmetic, no library code.
fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

/// One pass: draw integers, sort them, count them in a hash map (SipHash with fixed keys, so every
/// process hashes alike) and write every sixteenth one into a string. Returns a checksum of it all.
pub fn workload(seed: u64) -> u64 {
    let mut x = seed | 1;
    let mut values = Vec::with_capacity(VALUES);
    for _ in 0..VALUES {
        x = xorshift(x);
        values.push(x >> 16);
    }
    values.sort_unstable();
    let mut counts: HashMap<u64, u64, BuildHasherDefault<DefaultHasher>> = HashMap::default();
    for v in &values {
        *counts.entry(v % KEYS).or_insert(0) += 1;
    }
    let mut text = String::new();
    for v in values.iter().step_by(16) {
        let _ = write!(text, "{},", v % 100_000);
    }
    let spread = counts
        .values()
        .fold(0u64, |acc, c| acc.wrapping_mul(31).wrapping_add(*c));
    let bytes = text.bytes().fold(0u64, |acc, b| {
        acc.wrapping_mul(131).wrapping_add(u64::from(b))
    });
    spread ^ bytes ^ values[VALUES / 2] ^ counts.len() as u64
}

/// Nanoseconds that `loops` back-to-back passes take (the result of each kept alive with `black_box`).
pub fn time_passes(loops: u32) -> u64 {
    let start = Instant::now();
    for _ in 0..loops {
        black_box(workload(black_box(0x9E37_79B9_7F4A_7C15)));
    }
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_is_deterministic_and_depends_on_its_seed() {
        assert_eq!(workload(7), workload(7));
        assert_ne!(workload(7), workload(8));
    }

    #[test]
    fn timing_counts_every_pass() {
        assert!(time_passes(3) > 0);
    }
}
