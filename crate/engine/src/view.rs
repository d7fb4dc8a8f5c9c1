//! The server's view of a run: what a stoq-bench server shares about the connections it serves (quiche's
//! counters and path state, what pacing did), its I/O threads (CPU time), its sockets (fast path) and the
//! settings it sends with, so that a record can hold the sender's side of a download. Server workers
//! publish to a [`Board`]; a client reads it directly (an embedded server) or asks a remote server for it.
//! [`ServerSide`] turns successive snapshots into the server's side of each interval.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::client::Pacing;
use crate::metrics::{PathSample, SideCounters, SideInterval, ThreadTime};
use crate::scenario::Settings;
use crate::socket::{DropTable, FastPath};

/// How often a server worker publishes its connections and its thread unasked.
pub const PUBLISH_PERIOD: Duration = Duration::from_millis(10);

/// How long a snapshot waits for every worker to publish what it has now (a worker that cannot answer by
/// then leaves an older publication, and the snapshot says it is not fresh).
const FRESH_WAIT: Duration = Duration::from_millis(250);

/// How long a closed connection's last figures stay readable, so a client that ends its run can read them.
const KEEP_CLOSED: Duration = Duration::from_secs(10);

/// One connection as a server worker saw it last: cumulative counters and path state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnView {
    pub counters: SideCounters,
    pub path: Option<PathSample>,
}

/// The server's state as shared with a client.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerSnapshot {
    /// The asked-for connections the server knows, by the server's connection ID (hex).
    pub connections: HashMap<String, ConnView>,
    /// Each I/O thread's time since the server started.
    pub threads: Vec<ThreadTime>,
    /// The server's sockets, cumulative since it started (socket drops only when asked for).
    pub fast_path: FastPath,
    /// The transport settings the server sends with (`threads`: its I/O threads).
    pub settings: Settings,
    pub pacing: Pacing,
    /// Every worker published for this snapshot: its figures are as they were when it was asked for.
    pub fresh: bool,
}

/// A connection ID as the snapshot keys it.
pub fn cid_key(cid: &[u8]) -> String {
    cid.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Default)]
struct Worker {
    time: ThreadTime,
    fast_path: FastPath,
    /// The socket's inode, to read its drop count.
    inode: u64,
    /// The last request for figures this worker answered.
    generation: u64,
}

#[derive(Default)]
struct State {
    connections: HashMap<String, (ConnView, Option<Instant>)>,
    workers: Vec<Worker>,
    swept: Option<Instant>,
}

/// What the server's workers publish and clients read.
pub struct Board {
    settings: Settings,
    state: Mutex<State>,
    published: Condvar,
    /// Requests for figures as they are now: workers publish when it passes what they last answered.
    requested: AtomicU64,
    /// One per worker, to wake it for a request.
    wakers: Mutex<Vec<mio::Waker>>,
}

impl Board {
    pub fn new(settings: Settings) -> Board {
        Board {
            settings,
            state: Mutex::new(State::default()),
            published: Condvar::new(),
            requested: AtomicU64::new(0),
            wakers: Mutex::new(Vec::new()),
        }
    }

    /// A worker that publishes here; `waker` wakes its event loop when figures are asked for.
    pub fn join(&self, waker: mio::Waker) {
        self.wakers.lock().unwrap_or_else(|p| p.into_inner()).push(waker);
    }

    /// The latest request for figures (a worker publishes when it has not answered it yet).
    pub fn requested(&self) -> u64 {
        self.requested.load(Relaxed)
    }

    /// A worker's publication, answering request `generation`: its thread's time, its socket, and
    /// connections that changed (those `closed` are kept for a while, then forgotten).
    pub fn publish(
        &self,
        worker: usize,
        generation: u64,
        time: ThreadTime,
        fast_path: &FastPath,
        inode: u64,
        changed: impl Iterator<Item = (String, ConnView, bool)>,
    ) {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while state.workers.len() <= worker {
            state.workers.push(Worker::default());
        }
        state.workers[worker] = Worker { time, fast_path: fast_path.clone(), inode, generation };
        for (key, view, closed) in changed {
            state.connections.insert(key, (view, closed.then_some(now)));
        }
        if state.swept.is_none_or(|t| now >= t + KEEP_CLOSED) {
            state.swept = Some(now);
            state.connections.retain(|_, (_, closed)| closed.is_none_or(|t| now < t + KEEP_CLOSED));
        }
        drop(state);
        self.published.notify_all();
    }

    /// The server's state for the connections asked for, as every worker has it now (each is woken to
    /// publish; one that does not answer within [`FRESH_WAIT`] leaves its last publication); `drops` reads
    /// the sockets' kernel drop counts.
    pub fn snapshot(&self, connections: &[String], drops: bool) -> ServerSnapshot {
        let generation = self.requested.fetch_add(1, Relaxed) + 1;
        for w in self.wakers.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = w.wake();
        }
        // Every worker, including one that has not started yet (it publishes as it starts).
        let workers = self.settings.threads as usize;
        let answered =
            |s: &mut State| s.workers.len() >= workers && s.workers.iter().all(|w| w.generation >= generation);
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (mut state, _) =
            self.published.wait_timeout_while(state, FRESH_WAIT, |s| !answered(s)).unwrap_or_else(|p| p.into_inner());
        let fresh = answered(&mut state);
        let table = drops.then(DropTable::read);
        let mut fast_path = FastPath::default();
        for w in &state.workers {
            let mut f = w.fast_path.clone();
            if let Some(t) = &table {
                f.socket_drops = t.of_inode(w.inode);
            }
            fast_path.merge(&f);
        }
        ServerSnapshot {
            connections: connections
                .iter()
                .filter_map(|k| state.connections.get(k).map(|(v, _)| (k.clone(), *v)))
                .collect(),
            threads: state.workers.iter().map(|w| w.time).collect(),
            fast_path,
            settings: self.settings.clone(),
            pacing: if self.settings.pacing { Pacing::UserSpace } else { Pacing::Off },
            fresh,
        }
    }
}

/// How the server's side of a record was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ViewSource {
    /// Read from the server running in this process.
    Embedded,
    /// Fetched from a remote stoq-bench server that shares it.
    Fetched,
    /// Not known: the peer does not share it (any other perf server), or refused.
    Unknown,
}

/// Where a client reads the server's view from.
pub trait ViewReader: Send {
    /// The server's state for `connections` (server connection IDs, hex); None when it cannot be had now.
    fn snapshot(&mut self, connections: &[String], drops: bool) -> Option<ServerSnapshot>;
}

impl ViewReader for std::sync::Arc<Board> {
    fn snapshot(&mut self, connections: &[String], drops: bool) -> Option<ServerSnapshot> {
        Some(Board::snapshot(self, connections, drops))
    }
}

/// The server's side of a run, from snapshots taken at each interval's end.
pub struct ServerSide {
    source: Box<dyn ViewReader>,
    /// The run's connections, by the server's connection ID.
    connections: Vec<String>,
    first: Option<ServerSnapshot>,
    last: Option<ServerSnapshot>,
}

impl ServerSide {
    pub fn new(source: Box<dyn ViewReader>) -> ServerSide {
        let mut side = ServerSide { source, connections: Vec::new(), first: None, last: None };
        side.first = side.source.snapshot(&[], true);
        side.last = side.first.clone();
        side
    }

    /// Whether the server's view could be read at the start.
    pub fn available(&self) -> bool {
        self.first.is_some()
    }

    /// A connection of the run, by the connection ID the server chose.
    pub fn add_connection(&mut self, cid: &[u8]) {
        self.connections.push(cid_key(cid));
    }

    /// The server's side since the last call: counts of the run's connections, the CPU time of its threads,
    /// and the path state of the connections that received packets meanwhile. None when the server's view
    /// cannot be read now, or not as it is now (a worker did not answer in time: its figures would belong
    /// to another span of time).
    pub fn interval(&mut self) -> Option<SideInterval> {
        let now = self.source.snapshot(&self.connections, false)?;
        let side = self.last.as_ref().filter(|_| now.fresh).map(|before| difference(before, &now));
        self.last = Some(now);
        side
    }

    /// The server at the end: its settings, its fast path over the run, and the run's totals on its side.
    pub fn end(&mut self) -> Option<ServerEnd> {
        let first = self.first.as_ref()?;
        let end = self.source.snapshot(&self.connections, true)?;
        let mut totals = SideInterval::default();
        for v in end.connections.values() {
            totals.counters.add(&v.counters);
        }
        let (all, busiest) = thread_time(&first.threads, &end.threads);
        totals.counters.cpu_ns = all.cpu_ns;
        totals.counters.run_delay_ns = all.run_delay_ns;
        totals.busiest_thread = busiest;
        Some(ServerEnd {
            settings: end.settings.clone(),
            pacing: end.pacing,
            fast_path: end.fast_path.since(&first.fast_path),
            totals,
        })
    }
}

/// The server at the end of a run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerEnd {
    pub settings: Settings,
    pub pacing: Pacing,
    /// The server's sockets over the run.
    pub fast_path: FastPath,
    /// The run's connections on the server's side, and its threads' CPU time over the run.
    pub totals: SideInterval,
}

/// The time of all threads together, and of the busiest, between two snapshots.
fn thread_time(before: &[ThreadTime], now: &[ThreadTime]) -> (ThreadTime, ThreadTime) {
    let deltas = now.iter().enumerate().map(|(i, t)| t.minus(&before.get(i).copied().unwrap_or_default()));
    deltas.fold((ThreadTime::default(), ThreadTime::default()), |(all, busiest), d| {
        (
            ThreadTime { cpu_ns: all.cpu_ns + d.cpu_ns, run_delay_ns: all.run_delay_ns + d.run_delay_ns },
            busiest.busier(d),
        )
    })
}

fn difference(before: &ServerSnapshot, now: &ServerSnapshot) -> SideInterval {
    let mut side = SideInterval::default();
    for (key, v) in &now.connections {
        let prior = before.connections.get(key).map(|p| p.counters).unwrap_or_default();
        let delta = v.counters.minus(&prior);
        if delta.packets_received > 0 {
            if let Some(p) = &v.path {
                side.path.add(p);
            }
        }
        side.counters.add(&delta);
    }
    let (all, busiest) = thread_time(&before.threads, &now.threads);
    side.counters.cpu_ns = all.cpu_ns;
    side.counters.run_delay_ns = all.run_delay_ns;
    side.busiest_thread = busiest;
    side
}
