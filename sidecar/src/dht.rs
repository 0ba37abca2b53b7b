//! The libp2p node: Kademlia for membership and key placement, identify to learn and verify
//! each peer's advertised address, and the owner protocol to aggregate counts.
//!
//! Membership rules:
//! * a peer is admitted only after identify, if its id is the one derived from the address it
//!   advertises (see `identity`); only then is it added to the Kademlia routing table;
//! * a peer is an eligible key owner while it is connected; connections are kept open, so a
//!   closed connection means the peer left or died and its keys move to the next-closest node
//!   at once;
//! * seeds (all addresses they resolve to) and known peers that are not connected are dialled
//!   again every `redial`; a peer unreachable for `peer_expiry` leaves the routing table;
//! * a peer that fails three owner requests in a row is disconnected (a hung process keeps its
//!   TCP connection open but stops answering);
//! * a Kademlia lookup of our own id runs every `seed_refresh` and finds peers the seeds do not
//!   name (useful when the routing table is thin).

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::kad::{self, store::MemoryStore, BucketInserts, Mode, QueryResult};
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, NetworkBehaviour, SwarmEvent};
use libp2p::{identify, noise, tcp, yamux, PeerId, StreamProtocol, Swarm};
use tokio::sync::{mpsc, oneshot, watch};

use crate::clock::Clock;
use crate::config::Config;
use crate::identity::{keypair_for, peer_id_for, to_multiaddr, to_socket_addr};
use crate::membership::Membership;
use crate::metrics::Metrics;
use crate::owner_protocol::{self, RateAnswer, ReportBatch};
use crate::seeds;
use restrouter_proto::rate::RateTable;

const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/restrouter/ratelimit/kad/1");
const IDENTIFY_VERSION: &str = "/restrouter/ratelimit/1";
/// Owner requests slower than this fail (the sync itself waits much less, see `sync`).
const OWNER_REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Consecutive owner-request failures after which a peer is disconnected.
const MAX_FAILURES: u32 = 3;
const TICK: Duration = Duration::from_millis(250);

#[derive(NetworkBehaviour)]
struct Behaviour {
    kad: kad::Behaviour<MemoryStore>,
    identify: identify::Behaviour,
    owner: owner_protocol::Behaviour,
}

/// What the rest of the sidecar asks the node to do.
pub enum Command {
    /// Send a batch to an owner; the answer (or the failure) goes to `reply`.
    Report { peer: PeerId, batch: ReportBatch, reply: oneshot::Sender<Result<RateAnswer, String>> },
}

/// Handle to the running node.
#[derive(Clone)]
pub struct DhtHandle {
    pub commands: mpsc::Sender<Command>,
    pub membership: watch::Receiver<Arc<Membership>>,
    pub local_peer_id: PeerId,
}

struct Member {
    addr: SocketAddr,
    connected: bool,
    /// When `connected` last changed.
    since: Instant,
    failures: u32,
}

struct Node {
    swarm: Swarm<Behaviour>,
    local_peer_id: PeerId,
    advertise: SocketAddr,
    secret: Option<String>,
    members: HashMap<PeerId, Member>,
    membership: watch::Sender<Arc<Membership>>,
    pending: HashMap<OutboundRequestId, (PeerId, oneshot::Sender<Result<RateAnswer, String>>)>,
    dialing: HashMap<ConnectionId, SocketAddr>,
    seeds: watch::Receiver<BTreeSet<SocketAddr>>,
    owned: Arc<Mutex<RateTable>>,
    clock: Clock,
    metrics: Arc<Metrics>,
    redial: Duration,
    seed_refresh: Duration,
    peer_expiry: Duration,
    last_redial: Option<Instant>,
    last_lookup: Instant,
}

/// Builds the node, starts listening and spawns its event loop.
pub fn start(config: &Config, owned: Arc<Mutex<RateTable>>, clock: Clock, metrics: Arc<Metrics>) -> Result<DhtHandle, String> {
    let keypair = keypair_for(config.advertise, config.cluster_secret.as_deref())?;
    let local_peer_id = keypair.public().to_peer_id();
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| format!("building TCP transport: {e}"))?
        .with_behaviour(|key| {
            let mut kad_config = kad::Config::new(KAD_PROTOCOL);
            kad_config
                // Peers enter the table only after their identity is verified.
                .set_kbucket_inserts(BucketInserts::Manual)
                // No records are stored: the DHT is used for membership and placement only.
                .set_record_ttl(None)
                .set_replication_interval(None)
                .set_publication_interval(None)
                .set_periodic_bootstrap_interval(None)
                .set_query_timeout(Duration::from_secs(10));
            let peer_id = key.public().to_peer_id();
            Behaviour {
                kad: kad::Behaviour::with_config(peer_id, MemoryStore::new(peer_id), kad_config),
                identify: identify::Behaviour::new(
                    identify::Config::new(IDENTIFY_VERSION.to_owned(), key.public())
                        .with_agent_version(format!("restrouter-ratelimit/{}", env!("CARGO_PKG_VERSION")))
                        .with_hide_listen_addrs(true)
                        .with_interval(Duration::from_secs(60)),
                ),
                owner: owner_protocol::behaviour(OWNER_REQUEST_TIMEOUT),
            }
        })
        .map_err(|e| format!("building behaviour: {e}"))?
        // Connections stay open: a closed connection is the signal that a peer left.
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(24 * 3600)))
        .build();
    swarm.behaviour_mut().kad.set_mode(Some(Mode::Server));
    swarm.listen_on(to_multiaddr(config.dht_listen)).map_err(|e| format!("listening on {}: {e}", config.dht_listen))?;
    swarm.add_external_address(to_multiaddr(config.advertise));

    let (membership_tx, membership_rx) = watch::channel(Arc::new(Membership::new(local_peer_id, [])));
    let (command_tx, command_rx) = mpsc::channel(1024);
    let node = Node {
        swarm,
        local_peer_id,
        advertise: config.advertise,
        secret: config.cluster_secret.clone(),
        members: HashMap::new(),
        membership: membership_tx,
        pending: HashMap::new(),
        dialing: HashMap::new(),
        seeds: seeds::spawn_resolver(config.seeds.clone(), config.seed_refresh),
        owned,
        clock,
        metrics,
        redial: config.redial,
        seed_refresh: config.seed_refresh,
        peer_expiry: config.peer_expiry,
        last_redial: None,
        last_lookup: Instant::now(),
    };
    tracing::info!(peer_id = %local_peer_id, advertise = %config.advertise, listen = %config.dht_listen, "DHT node starting");
    tokio::spawn(node.run(command_rx));
    Ok(DhtHandle { commands: command_tx, membership: membership_rx, local_peer_id })
}

impl Node {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = commands.recv() => match command {
                    Some(c) => self.on_command(c),
                    None => return,
                },
                _ = tick.tick() => self.maintain(),
            }
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Report { peer, batch, reply } => {
                if !self.is_eligible(&peer) {
                    let _ = reply.send(Err(format!("{peer} is not connected")));
                    return;
                }
                let id = self.swarm.behaviour_mut().owner.send_request(&peer, batch);
                self.pending.insert(id, (peer, reply));
            }
        }
    }

    fn is_eligible(&self, peer: &PeerId) -> bool {
        self.members.get(peer).is_some_and(|m| m.connected)
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished { peer_id, connection_id, .. } => {
                self.dialing.remove(&connection_id);
                if let Some(m) = self.members.get_mut(&peer_id) {
                    if !m.connected {
                        m.connected = true;
                        m.since = Instant::now();
                        m.failures = 0;
                        tracing::info!(peer = %peer_id, addr = %m.addr, "peer reconnected");
                        self.publish();
                    }
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                if let Some(m) = self.members.get_mut(&peer_id) {
                    if m.connected {
                        m.connected = false;
                        m.since = Instant::now();
                        tracing::info!(peer = %peer_id, addr = %m.addr, "peer disconnected");
                        self.publish();
                    }
                }
            }
            SwarmEvent::OutgoingConnectionError { connection_id, error, .. } => {
                if let Some(addr) = self.dialing.remove(&connection_id) {
                    tracing::debug!(%addr, %error, "dial failed");
                }
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "DHT listening");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. })) => {
                self.on_identify(peer_id, info);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Owner(event)) => self.on_owner_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::OutboundQueryProgressed { result: QueryResult::GetClosestPeers(Ok(ok)), .. })) => {
                for info in ok.peers {
                    self.dial_discovered(info.peer_id, &info.addrs);
                }
            }
            _ => {}
        }
    }

    /// Admits a peer whose id matches one of the addresses it advertises.
    fn on_identify(&mut self, peer_id: PeerId, info: identify::Info) {
        let secret = self.secret.as_deref();
        let verified = (info.protocol_version == IDENTIFY_VERSION).then(|| info.listen_addrs.iter().filter_map(to_socket_addr).find(|a| peer_id_for(*a, secret) == Some(peer_id))).flatten();
        let Some(addr) = verified else {
            self.metrics.peers_refused.inc();
            tracing::warn!(peer = %peer_id, addrs = ?info.listen_addrs, "refusing peer: id does not match its advertised address");
            let _ = self.swarm.disconnect_peer_id(peer_id);
            return;
        };
        self.swarm.behaviour_mut().kad.add_address(&peer_id, to_multiaddr(addr));
        let connected = self.swarm.is_connected(&peer_id);
        let now = Instant::now();
        let member = self.members.entry(peer_id).or_insert_with(|| {
            tracing::info!(peer = %peer_id, %addr, "peer joined");
            Member { addr, connected: false, since: now, failures: 0 }
        });
        member.addr = addr;
        if member.connected != connected {
            member.connected = connected;
            member.since = now;
        }
        self.publish();
    }

    fn on_owner_event(&mut self, event: request_response::Event<ReportBatch, RateAnswer>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request { request, channel, .. } => {
                    if !self.members.contains_key(&peer) {
                        // Not verified (yet): dropping the channel fails the request.
                        tracing::debug!(%peer, "report from an unverified peer dropped");
                        return;
                    }
                    self.metrics.inbound_reports.inc();
                    let answer = self.aggregate(&request);
                    let _ = self.swarm.behaviour_mut().owner.send_response(channel, answer);
                }
                request_response::Message::Response { request_id, response } => {
                    if let Some(m) = self.members.get_mut(&peer) {
                        m.failures = 0;
                    }
                    if let Some((_, reply)) = self.pending.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure { peer, request_id, error, .. } => {
                if let Some((_, reply)) = self.pending.remove(&request_id) {
                    let _ = reply.send(Err(error.to_string()));
                }
                let failures = self.members.get_mut(&peer).map(|m| {
                    m.failures = m.failures.saturating_add(1);
                    m.failures
                });
                if failures.is_some_and(|f| f >= MAX_FAILURES) {
                    tracing::warn!(%peer, %error, "peer keeps failing owner requests, disconnecting");
                    let _ = self.swarm.disconnect_peer_id(peer);
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound report failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    /// Adds a batch to the keys this node owns and answers their global rates.
    fn aggregate(&self, batch: &ReportBatch) -> RateAnswer {
        let now = self.clock.now_ms();
        let mut table = self.owned.lock().unwrap_or_else(|e| e.into_inner());
        let rates = batch.entries.iter().map(|e| table.add(&e.key, e.count, e.limit, now)).collect();
        RateAnswer { window_ms: table.window_ms(), rates }
    }

    fn maintain(&mut self) {
        let now = Instant::now();
        if self.last_redial.is_none_or(|t| now.duration_since(t) >= self.redial) {
            self.last_redial = Some(now);
            self.dial_seeds();
            self.dial_disconnected_members();
        }
        self.expire_members(now);
        if now.duration_since(self.last_lookup) >= self.seed_refresh {
            self.last_lookup = now;
            if !self.members.is_empty() {
                self.swarm.behaviour_mut().kad.get_closest_peers(self.local_peer_id);
            }
        }
        // Fail requests whose caller has given up long ago (the protocol's own timeout also
        // fires; this only bounds the map if a peer never answers nor fails).
        self.pending.retain(|_, (_, reply)| !reply.is_closed());
        let peers: usize = self.swarm.behaviour_mut().kad.kbuckets().map(|b| b.num_entries()).sum();
        self.metrics.dht_peers.set(i64::try_from(peers).unwrap_or(i64::MAX));
        let connected = self.members.values().filter(|m| m.connected).count();
        self.metrics.connected_peers.set(i64::try_from(connected).unwrap_or(i64::MAX));
    }

    fn dial_seeds(&mut self) {
        let seeds: Vec<SocketAddr> = self.seeds.borrow().iter().copied().collect();
        for addr in seeds {
            let known = self.members.values().any(|m| m.addr == addr && m.connected);
            let in_flight = self.dialing.values().any(|a| *a == addr);
            if addr == self.advertise || known || in_flight {
                continue;
            }
            let opts = DialOpts::unknown_peer_id().address(to_multiaddr(addr)).build();
            let id = opts.connection_id();
            match self.swarm.dial(opts) {
                Ok(()) => {
                    self.dialing.insert(id, addr);
                }
                Err(e) => tracing::debug!(%addr, error = %e, "seed dial refused"),
            }
        }
    }

    fn dial_disconnected_members(&mut self) {
        let targets: Vec<(PeerId, SocketAddr)> = self.members.iter().filter(|(_, m)| !m.connected).map(|(p, m)| (*p, m.addr)).collect();
        for (peer, addr) in targets {
            let opts = DialOpts::peer_id(peer).addresses(vec![to_multiaddr(addr)]).condition(PeerCondition::DisconnectedAndNotDialing).build();
            let _ = self.swarm.dial(opts);
        }
    }

    /// Dials a peer found by a Kademlia lookup if one of its addresses matches its id.
    fn dial_discovered(&mut self, peer: PeerId, addrs: &[libp2p::Multiaddr]) {
        if peer == self.local_peer_id || self.members.contains_key(&peer) {
            return;
        }
        let secret = self.secret.as_deref();
        let Some(addr) = addrs.iter().filter_map(to_socket_addr).find(|a| peer_id_for(*a, secret) == Some(peer)) else {
            return;
        };
        let opts = DialOpts::peer_id(peer).addresses(vec![to_multiaddr(addr)]).condition(PeerCondition::DisconnectedAndNotDialing).build();
        let _ = self.swarm.dial(opts);
    }

    fn expire_members(&mut self, now: Instant) {
        let expiry = self.peer_expiry;
        let gone: Vec<PeerId> = self.members.iter().filter(|(_, m)| !m.connected && now.duration_since(m.since) >= expiry).map(|(p, _)| *p).collect();
        for peer in gone {
            if let Some(m) = self.members.remove(&peer) {
                tracing::info!(%peer, addr = %m.addr, "peer removed after being unreachable");
            }
            self.swarm.behaviour_mut().kad.remove_peer(&peer);
        }
    }

    /// Publishes the eligible owners (this node and the connected, verified peers).
    fn publish(&mut self) {
        let remotes: Vec<PeerId> = self.members.iter().filter(|(_, m)| m.connected).map(|(p, _)| *p).collect();
        self.metrics.connected_peers.set(i64::try_from(remotes.len()).unwrap_or(i64::MAX));
        self.membership.send_replace(Arc::new(Membership::new(self.local_peer_id, remotes)));
    }
}
