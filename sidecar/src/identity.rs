//! Node identity derived from the advertised address.
//!
//! The ed25519 key is seeded from SHA-256 of the advertised `ip:port` and the optional cluster
//! secret. Why:
//! * two pods never share an id, because no two pods advertise the same `ip:port` (the old
//!   limiter advertised `0.0.0.0:3050` everywhere and so gave every pod the same node id);
//! * a pod restarted at the same address keeps its id, so the other nodes' routing tables and
//!   the key→owner placement stay valid across a restart, and no key store is needed;
//! * with a cluster secret, only holders of the secret can produce the private key for an
//!   address: a peer is admitted only if its id equals the id derived from the address it
//!   advertises (checked after the Noise handshake proved it holds the key), so an outsider
//!   can neither join nor impersonate a pod. Without a secret the check still catches
//!   misconfigured peers, but ids are predictable.

use std::net::SocketAddr;

use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use sha2::{Digest, Sha256};

const DOMAIN: &[u8] = b"restrouter-ratelimit node identity v1";

/// The keypair of the node that advertises `addr`.
pub fn keypair_for(addr: SocketAddr, secret: Option<&str>) -> Result<Keypair, String> {
    let mut hasher = Sha256::new();
    hasher.update(DOMAIN);
    let secret = secret.unwrap_or_default().as_bytes();
    // Length prefixes keep (secret, address) pairs unambiguous.
    hasher.update((secret.len() as u64).to_be_bytes());
    hasher.update(secret);
    let addr = addr.to_string();
    hasher.update((addr.len() as u64).to_be_bytes());
    hasher.update(addr.as_bytes());
    let mut seed: [u8; 32] = hasher.finalize().into();
    Keypair::ed25519_from_bytes(&mut seed).map_err(|e| format!("deriving node key: {e}"))
}

/// The peer id a legitimate node advertising `addr` must have.
pub fn peer_id_for(addr: SocketAddr, secret: Option<&str>) -> Option<PeerId> {
    keypair_for(addr, secret)
        .ok()
        .map(|k| k.public().to_peer_id())
}

/// `/ip4/…/tcp/…` (or ip6) for a socket address.
pub fn to_multiaddr(addr: SocketAddr) -> Multiaddr {
    Multiaddr::empty()
        .with(Protocol::from(addr.ip()))
        .with(Protocol::Tcp(addr.port()))
}

/// The socket address of an `/ip4|ip6/…/tcp/…[/p2p/…]` multiaddr.
pub fn to_socket_addr(addr: &Multiaddr) -> Option<SocketAddr> {
    let mut ip = None;
    let mut port = None;
    for p in addr.iter() {
        match p {
            Protocol::Ip4(a) => ip = Some(std::net::IpAddr::V4(a)),
            Protocol::Ip6(a) => ip = Some(std::net::IpAddr::V6(a)),
            Protocol::Tcp(p) => port = Some(p),
            _ => {}
        }
    }
    Some(SocketAddr::new(ip?, port?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_stable_per_address_and_distinct_across_addresses() {
        let a: SocketAddr = "10.0.0.1:3050".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:3050".parse().unwrap();
        assert_eq!(peer_id_for(a, None), peer_id_for(a, None));
        assert_ne!(peer_id_for(a, None), peer_id_for(b, None));
        assert_ne!(peer_id_for(a, None), peer_id_for(a, Some("s")));
    }

    #[test]
    fn multiaddr_round_trip() {
        let a: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        assert_eq!(to_socket_addr(&to_multiaddr(a)), Some(a));
        let v6: SocketAddr = "[::1]:4000".parse().unwrap();
        assert_eq!(to_socket_addr(&to_multiaddr(v6)), Some(v6));
    }
}
