//! The server's view of a run: what a stoq-bench server shares about the connections it serves (quiche's
//! counters and path state, what pacing did), its I/O threads (CPU time), its sockets (fast path) and the
//! settings it sends with, so that a record can hold the sender's side of a download. Server workers
//! publish to a [`Board`]; a client reads it directly (an embedded server) or asks a remote server for it.
//! [`ServerSide`] turns successive snapshots into the server's side of each interval, whichever way they
//! were read. A remote server shares them over ALPN [`crate::protocol::VIEW_ALPN`] in the messages of
//! [`ViewRequest`] and [`ViewReply`].

use std::collections::HashMap;
use std::net::IpAddr;
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
pub const FRESH_WAIT: Duration = Duration::from_millis(250);

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

/// Version of the view's wire format ([`ViewRequest`], [`ViewReply`]); a peer speaking another is
/// answered with an error.
pub const VIEW_VERSION: u32 = 1;

/// Longest message on the view stream, newline included: a longer one is an error of the view.
pub const MAX_VIEW_MESSAGE: usize = 16 << 20;

/// A client's question on the view stream, one JSON object per line: the server's state now, for the
/// connections named so far on this view connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ViewRequest {
    /// [`VIEW_VERSION`].
    pub version: u32,
    /// Echoed in the reply, so that a late reply is never taken for the answer to a later question.
    pub id: u64,
    /// Connections of the client's run to add to those asked about, by the server's connection ID (hex).
    #[serde(default)]
    pub add: Vec<String>,
    /// Read the sockets' kernel drop counts too.
    #[serde(default)]
    pub drops: bool,
}

/// The server's answer on the view stream, one JSON object per line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ViewReply {
    /// [`VIEW_VERSION`].
    pub version: u32,
    /// The question's `id` (0 when the question could not be read).
    pub id: u64,
    #[serde(flatten)]
    pub answer: ViewAnswer,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ViewAnswer {
    /// The server's state; connections only of the asking client's address.
    Snapshot(ServerSnapshot),
    /// The server does not share its view (`--no-share-view`), and why.
    Refused(String),
    /// The question could not be read: what was wrong with it.
    Error(String),
}

/// Reads one line of the view stream as `T`; the error says what was wrong, for the view's record.
pub fn parse_view_line<T: serde::de::DeserializeOwned>(line: &[u8]) -> Result<T, String> {
    let text = std::str::from_utf8(line).map_err(|_| "a message is not UTF-8".to_string())?;
    let version = serde_json::from_str::<serde_json::Value>(text)
        .map_err(|e| format!("a message is not JSON ({e})"))?
        .get("version")
        .and_then(serde_json::Value::as_u64);
    match version {
        Some(v) if v == u64::from(VIEW_VERSION) => {
            serde_json::from_str(text).map_err(|e| format!("a message does not fit version {VIEW_VERSION} ({e})"))
        }
        Some(v) => Err(format!("the peer speaks version {v} of the view, this side {VIEW_VERSION}")),
        None => Err("a message carries no version".into()),
    }
}

/// Splits complete lines off `buffer` (what arrived on the view stream); a line that grows past
/// [`MAX_VIEW_MESSAGE`] is an error.
pub fn take_view_lines(buffer: &mut Vec<u8>) -> Result<Vec<Vec<u8>>, String> {
    let mut lines = Vec::new();
    while let Some(end) = buffer.iter().position(|&b| b == b'\n') {
        let rest = buffer.split_off(end + 1);
        let mut line = std::mem::replace(buffer, rest);
        line.pop();
        lines.push(line);
    }
    if buffer.len() >= MAX_VIEW_MESSAGE {
        return Err(format!("a message is longer than {} MiB", MAX_VIEW_MESSAGE >> 20));
    }
    Ok(lines)
}

/// A message as it goes on the view stream: JSON and a newline.
pub fn view_line<T: Serialize>(message: &T) -> Vec<u8> {
    let mut line = serde_json::to_vec(message).expect("view messages serialise");
    line.push(b'\n');
    line
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
    /// Each connection's figures, its peer's address, and when it closed.
    connections: HashMap<String, (ConnView, IpAddr, Option<Instant>)>,
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
    /// connections that changed, with their peer's address (those `closed` are kept for a while, then
    /// forgotten).
    pub fn publish(
        &self,
        worker: usize,
        generation: u64,
        time: ThreadTime,
        fast_path: &FastPath,
        inode: u64,
        changed: impl Iterator<Item = (String, ConnView, IpAddr, bool)>,
    ) {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while state.workers.len() <= worker {
            state.workers.push(Worker::default());
        }
        state.workers[worker] = Worker { time, fast_path: fast_path.clone(), inode, generation };
        for (key, view, peer, closed) in changed {
            state.connections.insert(key, (view, peer.to_canonical(), closed.then_some(now)));
        }
        if state.swept.is_none_or(|t| now >= t + KEEP_CLOSED) {
            state.swept = Some(now);
            state.connections.retain(|_, (_, _, closed)| closed.is_none_or(|t| now < t + KEEP_CLOSED));
        }
        drop(state);
        self.published.notify_all();
    }

    /// The server's state for the connections asked for, as every worker has it now (each is woken to
    /// publish; one that does not answer within [`FRESH_WAIT`] leaves its last publication); `drops` reads
    /// the sockets' kernel drop counts. Blocks: a server worker asks with [`Board::request`] instead.
    pub fn snapshot(&self, connections: &[String], drops: bool) -> ServerSnapshot {
        let generation = self.request();
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (state, _) = self
            .published
            .wait_timeout_while(state, FRESH_WAIT, |s| !self.answered_in(s, generation))
            .unwrap_or_else(|p| p.into_inner());
        let fresh = self.answered_in(&state, generation);
        drop(state);
        self.read(connections, drops, fresh, None)
    }

    /// Asks every worker to publish what it has now (each is woken); returns the request's generation,
    /// answered once [`Board::answered`] says so.
    pub fn request(&self) -> u64 {
        let generation = self.requested.fetch_add(1, Relaxed) + 1;
        for w in self.wakers.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = w.wake();
        }
        generation
    }

    /// Whether every worker, including one that has not started yet, published for request `generation`.
    pub fn answered(&self, generation: u64) -> bool {
        self.answered_in(&self.state.lock().unwrap_or_else(|p| p.into_inner()), generation)
    }

    fn answered_in(&self, s: &State, generation: u64) -> bool {
        s.workers.len() >= self.settings.threads as usize && s.workers.iter().all(|w| w.generation >= generation)
    }

    /// The server's state as last published, for the connections asked for (`fresh`: every worker
    /// published for the request). With `peer`, only connections whose peer has that IP address are told:
    /// a remote client reads its own connections and no one else's.
    pub fn read(&self, connections: &[String], drops: bool, fresh: bool, peer: Option<IpAddr>) -> ServerSnapshot {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let table = drops.then(DropTable::read);
        let mut fast_path = FastPath::default();
        for w in &state.workers {
            let mut f = w.fast_path.clone();
            if let Some(t) = &table {
                f.socket_drops = t.of_inode(w.inode);
            }
            fast_path.merge(&f);
        }
        let peer = peer.map(|p| p.to_canonical());
        ServerSnapshot {
            connections: connections
                .iter()
                .filter_map(|k| match state.connections.get(k) {
                    Some((v, ip, _)) if peer.is_none_or(|p| p == *ip) => Some((k.clone(), *v)),
                    _ => None,
                })
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
    /// The server's state for `connections` (server connection IDs, hex; each call names every connection
    /// so far, in the order they were added); the error says why it cannot be had now.
    fn snapshot(&mut self, connections: &[String], drops: bool) -> Result<ServerSnapshot, String>;
    /// How its snapshots are obtained.
    fn source(&self) -> ViewSource;
}

impl ViewReader for std::sync::Arc<Board> {
    fn snapshot(&mut self, connections: &[String], drops: bool) -> Result<ServerSnapshot, String> {
        Ok(Board::snapshot(self, connections, drops))
    }
    fn source(&self) -> ViewSource {
        ViewSource::Embedded
    }
}

/// The server's side of a run, from snapshots taken at each interval's end.
pub struct ServerSide {
    reader: Box<dyn ViewReader>,
    /// The run's connections, by the server's connection ID.
    connections: Vec<String>,
    first: ServerSnapshot,
    last: Option<ServerSnapshot>,
    /// Why the view could not be read during the run (its first failure).
    failed: Option<String>,
}

impl ServerSide {
    /// Reads the server's state at the start of a run; the error says why it cannot be read.
    pub fn new(mut reader: Box<dyn ViewReader>) -> Result<ServerSide, String> {
        let first = reader.snapshot(&[], true)?;
        Ok(ServerSide { reader, connections: Vec::new(), last: Some(first.clone()), first, failed: None })
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
        let now = match self.reader.snapshot(&self.connections, false) {
            Ok(now) => now,
            Err(e) => {
                self.failed.get_or_insert(e);
                self.last = None;
                return None;
            }
        };
        let side = self.last.as_ref().filter(|_| now.fresh).map(|before| difference(before, &now));
        self.last = Some(now);
        side
    }

    /// The server at the end: its settings, its fast path over the run, and the run's totals on its side;
    /// the error says why they cannot be had (the view failed during the run, or now).
    pub fn end(&mut self) -> Result<ServerEnd, String> {
        if let Some(e) = &self.failed {
            return Err(format!("the server's view failed during the run: {e}"));
        }
        let end = self.reader.snapshot(&self.connections, true)?;
        let first = &self.first;
        let mut totals = SideInterval::default();
        for v in end.connections.values() {
            totals.counters.add(&v.counters);
        }
        let (all, busiest) = thread_time(&first.threads, &end.threads);
        totals.counters.cpu_ns = all.cpu_ns;
        totals.counters.run_delay_ns = all.run_delay_ns;
        totals.busiest_thread = busiest;
        Ok(ServerEnd {
            settings: end.settings.clone(),
            pacing: end.pacing,
            fast_path: end.fast_path.since(&first.fast_path),
            totals,
        })
    }

    /// How the view was read.
    pub fn source(&self) -> ViewSource {
        self.reader.source()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_as_they_arrive_and_a_line_too_long_is_an_error() {
        let mut buffer = b"{\"a\":1}\n{\"b\"".to_vec();
        assert_eq!(take_view_lines(&mut buffer).unwrap(), vec![b"{\"a\":1}".to_vec()]);
        assert_eq!(buffer, b"{\"b\"");
        buffer.extend_from_slice(b":2}\n");
        assert_eq!(take_view_lines(&mut buffer).unwrap(), vec![b"{\"b\":2}".to_vec()]);
        assert!(buffer.is_empty());
        let mut long = vec![b' '; MAX_VIEW_MESSAGE];
        assert_eq!(take_view_lines(&mut long).unwrap_err(), "a message is longer than 16 MiB");
    }

    #[test]
    fn a_message_says_what_is_wrong_with_it() {
        let read = |line: &[u8]| parse_view_line::<ViewRequest>(line).unwrap_err();
        assert_eq!(read(b"\xff"), "a message is not UTF-8");
        assert!(read(b"{").starts_with("a message is not JSON"));
        assert_eq!(read(b"{\"id\":1}"), "a message carries no version");
        assert_eq!(read(b"{\"version\":2,\"id\":1}"), "the peer speaks version 2 of the view, this side 1");
        assert!(read(b"{\"version\":1,\"id\":\"x\"}").starts_with("a message does not fit version 1"));
        let q = ViewRequest { version: VIEW_VERSION, id: 4, add: vec!["ab".into()], drops: true };
        let line = view_line(&q);
        assert_eq!(parse_view_line::<ViewRequest>(&line[..line.len() - 1]).unwrap(), q);
    }
}
