//! Request-response protocol between a reporting node and a key's owner: additive counts in,
//! current global rates out. Kademlia's own records replace values instead of adding them, so
//! counting needs this protocol beside it.

use std::time::Duration;

use libp2p::request_response::{self, ProtocolSupport};
use libp2p::StreamProtocol;
use serde::{Deserialize, Serialize};

pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/restrouter/ratelimit/report/1");

/// A JSON request stays well under the codec's 1 MiB request limit.
pub const MAX_BATCH_BYTES: usize = 256 * 1024;

/// Counts this node saw since its previous sync, for keys the receiver owns.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ReportBatch {
    pub entries: Vec<ReportEntry>,
}

/// One key's counts, as in the sync API.
pub use restrouter_proto::ratelimit::Count as ReportEntry;

/// Global rates (req/s) after adding the batch, in the order of the batch's entries.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RateAnswer {
    pub window_ms: u64,
    pub rates: Vec<f64>,
}

pub type Behaviour = request_response::json::Behaviour<ReportBatch, RateAnswer>;

pub fn behaviour(request_timeout: Duration) -> Behaviour {
    Behaviour::new([(PROTOCOL, ProtocolSupport::Full)], request_response::Config::default().with_request_timeout(request_timeout))
}

/// Splits items into groups whose encoded batch stays under `MAX_BATCH_BYTES`;
/// `key_len` gives the key length of an item.
pub fn split_by_size<T>(items: Vec<T>, key_len: impl Fn(&T) -> usize) -> Vec<Vec<T>> {
    let mut groups = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0usize;
    for item in items {
        // Key (JSON escapes may double it) plus room for the numbers and punctuation.
        let size = key_len(&item).saturating_mul(2).saturating_add(64);
        if !current.is_empty() && bytes.saturating_add(size) > MAX_BATCH_BYTES {
            groups.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes = bytes.saturating_add(size);
        current.push(item);
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_bounded_and_keep_every_entry() {
        let entries: Vec<ReportEntry> = (0..5000).map(|i| ReportEntry { key: format!("{i:0>200}"), count: 1, limit: 1.0 }).collect();
        let groups = split_by_size(entries, |e| e.key.len());
        assert!(groups.len() > 1);
        assert_eq!(groups.iter().map(Vec::len).sum::<usize>(), 5000);
        for entries in groups {
            let batch = ReportBatch { entries };
            assert!(serde_json::to_vec(&batch).unwrap().len() < 1024 * 1024);
        }
    }
}
