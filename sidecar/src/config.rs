//! Command line and environment.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::Parser;

/// Port used when a seed or the advertised address names no port.
pub const DEFAULT_DHT_PORT: u16 = 3050;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "restrouter-ratelimit",
    version,
    about = "Rate-limit sidecar: global per-key request rates over a Kademlia DHT"
)]
pub struct Args {
    /// Local HTTP API for Envoy's singleton (keep it on loopback).
    #[arg(
        long,
        env = "RESTROUTER_RATELIMIT_HTTP",
        default_value = "127.0.0.1:7235"
    )]
    pub http_listen: SocketAddr,

    /// DHT listen address (libp2p TCP); may be a wildcard.
    #[arg(
        long,
        env = "RESTROUTER_RATELIMIT_DHT_LISTEN",
        default_value = "0.0.0.0:3050"
    )]
    pub dht_listen: SocketAddr,

    /// Address other pods reach this node at, `ip[:port]` (port defaults to the listen port).
    /// Required when the listen address is a wildcard; falls back to `$POD_IP`.
    #[arg(long, env = "RESTROUTER_RATELIMIT_ADVERTISE")]
    pub advertise: Option<String>,

    /// Seed `host[:port]`, repeatable or comma separated; a DNS name may resolve to many pods.
    #[arg(
        long = "seed",
        env = "RESTROUTER_RATELIMIT_SEEDS",
        value_delimiter = ','
    )]
    pub seeds: Vec<String>,

    /// Shared secret mixed into node identities; peers without it are refused.
    #[arg(
        long,
        env = "RESTROUTER_RATELIMIT_CLUSTER_SECRET",
        hide_env_values = true
    )]
    pub cluster_secret: Option<String>,

    /// Sliding window of the rate estimate (whole seconds).
    #[arg(long, env = "RESTROUTER_RATELIMIT_WINDOW_MS", default_value_t = 5000)]
    pub window_ms: u64,

    /// Longest wait for key owners during a sync before answering from local knowledge.
    #[arg(
        long,
        env = "RESTROUTER_RATELIMIT_OWNER_TIMEOUT_MS",
        default_value_t = 250
    )]
    pub owner_timeout_ms: u64,

    /// Nodes each key is aggregated on (closest first; 2 = owner plus one replica).
    #[arg(long, env = "RESTROUTER_RATELIMIT_REPLICAS", default_value_t = 2,
          value_parser = clap::value_parser!(u8).range(1..=3))]
    pub replicas: u8,

    /// Most keys tracked per table (local counts, owned keys); least recently updated go first.
    #[arg(
        long,
        env = "RESTROUTER_RATELIMIT_MAX_KEYS",
        default_value_t = 1_000_000
    )]
    pub max_keys: usize,

    /// How often seeds are resolved again (DNS), so pods that start later are found.
    #[arg(
        long,
        env = "RESTROUTER_RATELIMIT_SEED_REFRESH_MS",
        default_value_t = 15_000
    )]
    pub seed_refresh_ms: u64,

    /// How often unconnected seeds and known peers are dialled.
    #[arg(long, env = "RESTROUTER_RATELIMIT_REDIAL_MS", default_value_t = 2_000)]
    pub redial_ms: u64,

    /// A peer unreachable for this long is removed from the routing table.
    #[arg(
        long,
        env = "RESTROUTER_RATELIMIT_PEER_EXPIRY_MS",
        default_value_t = 30_000
    )]
    pub peer_expiry_ms: u64,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub http_listen: SocketAddr,
    pub dht_listen: SocketAddr,
    pub advertise: SocketAddr,
    pub seeds: Vec<String>,
    pub cluster_secret: Option<String>,
    pub window_ms: u64,
    pub owner_timeout: Duration,
    pub replicas: usize,
    pub max_keys: usize,
    pub seed_refresh: Duration,
    pub redial: Duration,
    pub peer_expiry: Duration,
}

impl Config {
    /// Validates `args`; `pod_ip` is `$POD_IP` when set.
    pub fn from_args(args: Args, pod_ip: Option<String>) -> Result<Config, String> {
        let advertise = resolve_advertise(
            args.advertise.as_deref(),
            pod_ip.as_deref(),
            args.dht_listen,
        )?;
        let seeds = args
            .seeds
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        Ok(Config {
            http_listen: args.http_listen,
            dht_listen: args.dht_listen,
            advertise,
            seeds,
            cluster_secret: args.cluster_secret.filter(|s| !s.is_empty()),
            window_ms: args.window_ms.max(1000),
            owner_timeout: Duration::from_millis(args.owner_timeout_ms.clamp(10, 5_000)),
            replicas: usize::from(args.replicas),
            max_keys: args.max_keys.max(1),
            seed_refresh: Duration::from_millis(args.seed_refresh_ms.max(1_000)),
            redial: Duration::from_millis(args.redial_ms.max(200)),
            peer_expiry: Duration::from_millis(args.peer_expiry_ms.max(1_000)),
        })
    }
}

/// The concrete address this node is known by. A wildcard or missing address is refused:
/// node identity derives from it, and a shared wildcard gave every pod one id in the old
/// limiter.
fn resolve_advertise(
    advertise: Option<&str>,
    pod_ip: Option<&str>,
    listen: SocketAddr,
) -> Result<SocketAddr, String> {
    let given = advertise
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .or(pod_ip.map(str::trim).filter(|s| !s.is_empty()));
    let addr = match given {
        Some(text) => parse_ip_port(text, listen.port())
            .ok_or_else(|| format!("--advertise {text:?} is not an ip[:port]"))?,
        None if listen.ip().is_unspecified() => {
            return Err(format!(
                "--advertise (or POD_IP) is required when the DHT listens on the wildcard {listen}"
            ))
        }
        None => listen,
    };
    if addr.ip().is_unspecified() {
        return Err(format!(
            "advertised address {addr} is a wildcard; give the pod's own IP"
        ));
    }
    if addr.port() == 0 {
        return Err(format!("advertised address {addr} has no port"));
    }
    Ok(addr)
}

/// `ip`, `ip:port`, `[v6]:port` or bare v6.
pub fn parse_ip_port(text: &str, default_port: u16) -> Option<SocketAddr> {
    if let Ok(a) = text.parse::<SocketAddr>() {
        return Some(a);
    }
    let ip: IpAddr = text
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    Some(SocketAddr::new(ip, default_port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn wildcard_or_missing_advertise_is_refused() {
        let wild = listen("0.0.0.0:3050");
        assert!(resolve_advertise(None, None, wild).is_err());
        assert!(resolve_advertise(Some("0.0.0.0:3050"), None, wild).is_err());
        assert!(resolve_advertise(Some("[::]:3050"), None, wild).is_err());
        assert!(resolve_advertise(Some("pod.example:3050"), None, wild).is_err());
        assert!(resolve_advertise(Some("10.1.2.3:0"), None, listen("10.1.2.3:0")).is_err());
    }

    #[test]
    fn advertise_sources() {
        let wild = listen("0.0.0.0:3050");
        assert_eq!(
            resolve_advertise(Some("10.1.2.3"), None, wild),
            Ok(listen("10.1.2.3:3050"))
        );
        assert_eq!(
            resolve_advertise(None, Some("10.9.9.9"), wild),
            Ok(listen("10.9.9.9:3050"))
        );
        assert_eq!(
            resolve_advertise(Some("10.1.2.3:4000"), Some("10.9.9.9"), wild),
            Ok(listen("10.1.2.3:4000"))
        );
        let concrete = listen("127.0.0.1:4001");
        assert_eq!(resolve_advertise(None, None, concrete), Ok(concrete));
    }
}
