//! Who owns a key: the nodes XOR-closest to the key's hash in Kademlia's key space, among
//! this node and the peers it can currently reach. With every node knowing every other one
//! (tens of pods), all nodes pick the same owners.

use libp2p::kad::KBucketKey;
use libp2p::PeerId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    Local,
    Remote(PeerId),
}

/// A snapshot of the eligible owners, published by the DHT task on every change.
#[derive(Debug, Clone)]
pub struct Membership {
    nodes: Vec<(Owner, KBucketKey<PeerId>)>,
}

/// A rate key hashed into the DHT key space.
pub fn key_hash(key: &str) -> KBucketKey<Vec<u8>> {
    KBucketKey::new(key.as_bytes().to_vec())
}

impl Membership {
    pub fn new(local: PeerId, remotes: impl IntoIterator<Item = PeerId>) -> Membership {
        let mut nodes = vec![(Owner::Local, KBucketKey::from(local))];
        nodes.extend(remotes.into_iter().filter(|p| *p != local).map(|p| (Owner::Remote(p), KBucketKey::from(p))));
        Membership { nodes }
    }

    pub fn remote_count(&self) -> usize {
        self.nodes.len().saturating_sub(1)
    }

    /// The `n` closest nodes to `key`, closest first.
    pub fn owners(&self, key: &KBucketKey<Vec<u8>>, n: usize) -> Vec<Owner> {
        let mut best: Vec<(libp2p::kad::KBucketDistance, Owner)> = Vec::with_capacity(n + 1);
        for (owner, node_key) in &self.nodes {
            let d = node_key.distance(key);
            let pos = best.partition_point(|(bd, _)| *bd < d);
            if pos < n {
                best.insert(pos, (d, *owner));
                best.truncate(n);
            }
        }
        best.into_iter().map(|(_, o)| o).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_closest_first_and_agree_between_nodes() {
        let peers: Vec<PeerId> = (0..10).map(|_| PeerId::random()).collect();
        let views: Vec<Membership> = peers.iter().map(|me| Membership::new(*me, peers.iter().copied())).collect();
        for k in 0..50 {
            let key = key_hash(&format!("route.GET|10.0.0.{k}"));
            let resolve = |m: &Membership, me: PeerId| -> Vec<PeerId> {
                m.owners(&key, 2)
                    .into_iter()
                    .map(|o| match o {
                        Owner::Local => me,
                        Owner::Remote(p) => p,
                    })
                    .collect()
            };
            let first = resolve(&views[0], peers[0]);
            assert_eq!(first.len(), 2);
            let d0 = KBucketKey::from(first[0]).distance(&key);
            let d1 = KBucketKey::from(first[1]).distance(&key);
            assert!(d0 < d1);
            for (m, me) in views.iter().zip(&peers) {
                assert_eq!(resolve(m, *me), first);
            }
        }
    }

    #[test]
    fn a_lone_node_owns_everything() {
        let m = Membership::new(PeerId::random(), []);
        assert_eq!(m.owners(&key_hash("k"), 2), vec![Owner::Local]);
    }
}
