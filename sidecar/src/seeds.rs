//! Seed resolution. A seed is `host[:port]`; the host may be a DNS name resolving to many pods
//! (a Kubernetes headless Service), so every address is kept, and names are resolved again
//! periodically so that pods started later are found.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::{parse_ip_port, DEFAULT_DHT_PORT};

/// Splits `host[:port]` (`[v6]:port` too) into host and port.
pub fn split_host_port(seed: &str) -> (String, u16) {
    if let Some(addr) = parse_ip_port(seed, DEFAULT_DHT_PORT) {
        return (addr.ip().to_string(), addr.port());
    }
    match seed.rsplit_once(':') {
        Some((host, port)) => match port.parse::<u16>() {
            Ok(p) => (host.to_owned(), p),
            Err(_) => (seed.to_owned(), DEFAULT_DHT_PORT),
        },
        None => (seed.to_owned(), DEFAULT_DHT_PORT),
    }
}

/// All addresses the seeds resolve to now; names that fail to resolve are skipped.
pub async fn resolve_all(seeds: &[String]) -> BTreeSet<SocketAddr> {
    let mut out = BTreeSet::new();
    for seed in seeds {
        let (host, port) = split_host_port(seed);
        let target = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let lookup = tokio::net::lookup_host(target);
        match tokio::time::timeout(Duration::from_secs(5), lookup).await {
            Ok(Ok(addrs)) => out.extend(addrs),
            Ok(Err(e)) => tracing::debug!(%seed, error = %e, "seed does not resolve"),
            Err(_) => tracing::debug!(%seed, "seed resolution timed out"),
        }
    }
    out
}

/// Resolves the seeds every `refresh` (every second while nothing resolves, as DNS records of
/// a starting Service may lag) and publishes the addresses.
pub fn spawn_resolver(
    seeds: Vec<String>,
    refresh: Duration,
) -> watch::Receiver<BTreeSet<SocketAddr>> {
    let (tx, rx) = watch::channel(BTreeSet::new());
    if seeds.is_empty() {
        return rx;
    }
    tokio::spawn(async move {
        loop {
            let addrs = resolve_all(&seeds).await;
            let empty = addrs.is_empty();
            tx.send_if_modified(|current| {
                let changed = *current != addrs;
                *current = addrs;
                changed
            });
            let pause = if empty {
                Duration::from_secs(1)
            } else {
                refresh
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = tx.closed() => return,
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_parse_with_default_port() {
        assert_eq!(split_host_port("10.0.0.1:4000"), ("10.0.0.1".into(), 4000));
        assert_eq!(split_host_port("10.0.0.1"), ("10.0.0.1".into(), 3050));
        assert_eq!(split_host_port("[::1]:4000"), ("::1".into(), 4000));
        assert_eq!(
            split_host_port("rl.ns.svc.cluster.local"),
            ("rl.ns.svc.cluster.local".into(), 3050)
        );
        assert_eq!(
            split_host_port("rl.ns.svc:3051"),
            ("rl.ns.svc".into(), 3051)
        );
    }

    #[tokio::test]
    async fn localhost_resolves() {
        let addrs = resolve_all(&["127.0.0.1:4000".into(), "localhost:4001".into()]).await;
        assert!(addrs.contains(&"127.0.0.1:4000".parse().unwrap()));
        assert!(addrs.iter().any(|a| a.port() == 4001));
    }
}
