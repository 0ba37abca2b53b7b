//! Render ids: time-based (version 1) UUIDs, as RESTBase uses for `tid`.

use uuid::Uuid;

pub struct TidGenerator {
    node: [u8; 6],
}

impl TidGenerator {
    /// A generator with a random node id, multicast bit set as RFC 9562 asks for node ids not
    /// taken from a network card.
    pub fn new() -> Self {
        let random = Uuid::new_v4().into_bytes();
        let mut node = [0u8; 6];
        for (n, r) in node.iter_mut().zip(random.iter().rev()) {
            *n = *r;
        }
        node[0] |= 0x01;
        Self { node }
    }

    /// A new UUID v1 of the current time. The crate's clock sequence advances with every id,
    /// so ids made in the same clock tick still differ.
    pub fn next(&self) -> String {
        Uuid::now_v1(&self.node).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_1_time_based_and_unique() {
        let tids = TidGenerator::new();
        let ids: Vec<String> = (0..1000).map(|_| tids.next()).collect();
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        let u = Uuid::parse_str(&ids[0]).unwrap();
        assert_eq!(u.get_version_num(), 1);
        assert_eq!(u.get_variant(), uuid::Variant::RFC4122);
        let (seconds, _) = u.get_timestamp().unwrap().to_unix();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(seconds.abs_diff(now) < 3600, "{seconds} vs {now}");
    }
}
