//! Render ids: time-based (version 1) UUIDs, as RESTBase uses for `tid`.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// 100 ns intervals between the Gregorian reform (UUID epoch) and the Unix epoch.
const GREGORIAN_OFFSET: u64 = 0x01B2_1DD2_1381_4000;

pub struct TidGenerator {
    node: u64,
    clock_seq: u16,
    last: AtomicU64,
}

impl TidGenerator {
    /// A generator with a random node id (multicast bit set, as RFC 4122 asks for ids not
    /// taken from a network card) and a random clock sequence.
    pub fn new() -> Self {
        let seed = std::collections::hash_map::RandomState::new().hash_one(std::process::id());
        Self {
            node: (seed & 0xFFFF_FFFF_FFFF) | 0x0100_0000_0000,
            clock_seq: ((seed >> 48) & 0x3FFF) as u16,
            last: AtomicU64::new(0),
        }
    }

    /// A new UUID v1; timestamps are strictly increasing so ids never repeat in this process.
    pub fn next(&self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos() / 100).unwrap_or(u64::MAX))
            .unwrap_or(0)
            .saturating_add(GREGORIAN_OFFSET);
        let mut previous = self.last.load(Ordering::Relaxed);
        let ts = loop {
            let candidate = now.max(previous.wrapping_add(1));
            match self.last.compare_exchange_weak(
                previous,
                candidate,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break candidate,
                Err(actual) => previous = actual,
            }
        };
        format_v1(ts, self.clock_seq, self.node)
    }
}

fn format_v1(ts: u64, clock_seq: u16, node: u64) -> String {
    let time_low = ts & 0xFFFF_FFFF;
    let time_mid = (ts >> 32) & 0xFFFF;
    let time_hi_and_version = ((ts >> 48) & 0x0FFF) | 0x1000;
    let clock_seq_hi = ((clock_seq >> 8) & 0x3F) | 0x80;
    let clock_seq_low = clock_seq & 0xFF;
    format!(
        "{time_low:08x}-{time_mid:04x}-{time_hi_and_version:04x}-{clock_seq_hi:02x}{clock_seq_low:02x}-{:012x}",
        node & 0xFFFF_FFFF_FFFF
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_1_and_unique() {
        let tids = TidGenerator::new();
        let a = tids.next();
        let b = tids.next();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'1');
        assert!(matches!(a.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
    }

    #[test]
    fn known_layout() {
        // 2015-01-01T00:00:00Z; expected value checked against Python's uuid module.
        let ts = 1_420_070_400 * 10_000_000 + GREGORIAN_OFFSET;
        assert_eq!(format_v1(ts, 0, 1), "20fc4000-9149-11e4-8000-000000000001");
    }
}
