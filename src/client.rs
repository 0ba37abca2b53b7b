//! Who is calling: the client address and its class.
//!
//! The address comes from Envoy's view of the connection (`source.address`, which already honours
//! the listener's configured number of trusted `x-forwarded-for` hops). A client-sent
//! `x-client-ip` is believed only when that address is one of the configured trusted proxies.

use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Internal,
    External,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    pub ip: Option<IpAddr>,
    pub class: Class,
}

/// The configured trust boundary.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    pub internal: Vec<IpNet>,
    pub trusted_proxies: Vec<IpNet>,
}

/// Parses `ip:port`, `[v6]:port` or a bare address.
pub fn parse_address(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    s.parse::<SocketAddr>().map(|a| a.ip()).ok().or_else(|| s.parse::<IpAddr>().ok())
}

/// IPv4-mapped IPv6 addresses are classified as the IPv4 address they carry.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn contains(nets: &[IpNet], ip: IpAddr) -> bool {
    nets.iter().any(|n| n.contains(&ip))
}

impl Trust {
    /// `source` is Envoy's downstream address; `x_client_ip` the header, if sent.
    pub fn client(&self, source: Option<&str>, x_client_ip: Option<&str>) -> Client {
        let peer = source.and_then(parse_address).map(canonical_ip);
        let ip = match (peer, x_client_ip) {
            (Some(p), Some(h)) if contains(&self.trusted_proxies, p) => parse_address(h).map(canonical_ip).or(Some(p)),
            (p, _) => p,
        };
        let class = match ip {
            Some(ip) if contains(&self.internal, ip) => Class::Internal,
            _ => Class::External,
        };
        Client { ip, class }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trust() -> Trust {
        Trust { internal: vec!["10.0.0.0/8".parse().unwrap(), "127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()], trusted_proxies: vec!["10.64.0.0/16".parse().unwrap()] }
    }

    #[test]
    fn classifies_by_connection_address() {
        let t = trust();
        assert_eq!(t.client(Some("127.0.0.1:4000"), None).class, Class::Internal);
        assert_eq!(t.client(Some("[::1]:4000"), None).class, Class::Internal);
        assert_eq!(t.client(Some("[::ffff:10.1.2.3]:4000"), None).class, Class::Internal);
        assert_eq!(t.client(Some("198.51.100.7:4000"), None).class, Class::External);
        assert_eq!(t.client(None, None), Client { ip: None, class: Class::External });
    }

    #[test]
    fn x_client_ip_only_from_trusted_proxies() {
        let t = trust();
        // An external client cannot claim to be internal.
        let c = t.client(Some("198.51.100.7:1"), Some("10.0.0.1"));
        assert_eq!(c.ip, Some("198.51.100.7".parse().unwrap()));
        assert_eq!(c.class, Class::External);
        // A trusted proxy may say who the client is, in both directions.
        let c = t.client(Some("10.64.1.1:1"), Some("203.0.113.9"));
        assert_eq!(c.ip, Some("203.0.113.9".parse().unwrap()));
        assert_eq!(c.class, Class::External);
        // Garbage from a trusted proxy falls back to the proxy's own address.
        let c = t.client(Some("10.64.1.1:1"), Some("not an ip"));
        assert_eq!(c.ip, Some("10.64.1.1".parse().unwrap()));
    }
}
