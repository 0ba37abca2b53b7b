//! Prometheus metrics of the sidecar.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

// Variant names are the label values.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum RpcResult {
    success,
    failure,
    timeout,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RpcLabels {
    pub result: RpcResult,
}

#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum KeyTable {
    local,
    owned,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TableLabels {
    pub table: KeyTable,
}

pub struct Metrics {
    registry: Registry,
    pub syncs: Counter,
    pub bad_syncs: Counter,
    pub invalid_entries: Counter,
    pub keys_tracked: Family<TableLabels, Gauge>,
    pub dht_peers: Gauge,
    pub connected_peers: Gauge,
    pub owner_rpcs: Family<RpcLabels, Counter>,
    pub keys_unanswered: Counter,
    pub over_limit_keys: Gauge,
    pub over_limit_reports: Counter,
    pub inbound_reports: Counter,
    pub peers_refused: Counter,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("restrouter_ratelimit");
        let m = Metrics {
            registry: Registry::default(),
            syncs: Counter::default(),
            bad_syncs: Counter::default(),
            invalid_entries: Counter::default(),
            keys_tracked: Family::default(),
            dht_peers: Gauge::default(),
            connected_peers: Gauge::default(),
            owner_rpcs: Family::default(),
            keys_unanswered: Counter::default(),
            over_limit_keys: Gauge::default(),
            over_limit_reports: Counter::default(),
            inbound_reports: Counter::default(),
            peers_refused: Counter::default(),
        };
        registry.register("syncs", "Sync requests served", m.syncs.clone());
        registry.register("bad_syncs", "Sync requests refused as malformed", m.bad_syncs.clone());
        registry.register("invalid_entries", "Sync entries ignored (empty or oversized key, bad limit)", m.invalid_entries.clone());
        registry.register("keys_tracked", "Keys tracked: this pod's own counts (local) and keys aggregated here (owned)", m.keys_tracked.clone());
        registry.register("dht_peers", "Peers in the Kademlia routing table", m.dht_peers.clone());
        registry.register("connected_peers", "Verified peers currently connected (eligible key owners)", m.connected_peers.clone());
        registry.register("owner_rpcs", "Report batches sent to key owners, by result", m.owner_rpcs.clone());
        registry.register("keys_unanswered", "Keys judged from local counts because no owner answered in time", m.keys_unanswered.clone());
        registry.register("over_limit_keys", "Keys over their limit in the last sync answer", m.over_limit_keys.clone());
        registry.register("over_limit_reports", "Over-limit keys reported to Envoy", m.over_limit_reports.clone());
        registry.register("inbound_reports", "Report batches received from other nodes", m.inbound_reports.clone());
        registry.register("peers_refused", "Peers refused because their id does not match their address", m.peers_refused.clone());
        Metrics { registry, ..m }
    }

    pub fn rpc(&self, result: RpcResult) {
        self.owner_rpcs.get_or_create(&RpcLabels { result }).inc();
    }

    pub fn set_keys(&self, table: KeyTable, n: usize) {
        self.keys_tracked.get_or_create(&TableLabels { table }).set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
