//! The server's view read from a remote stoq-bench server, the way iperf3's `--get-server-output` gets the
//! server's report: a connection of its own to the run's target, with the run's TLS settings, offering only
//! ALPN `stoq-bench-view` (`crate::protocol::VIEW_ALPN`), so that a server that does not offer it fails the
//! handshake (TLS alert no_application_protocol) and its side is recorded as unknown. A thread drives the
//! connection, so its timers run between questions; every wait is bounded, and whatever goes wrong (no
//! answer, a refusal, a bad or oversized message) is an error of the view, never of the run.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded, Receiver, RecvTimeoutError, Sender, TryRecvError};
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};

use super::{client_role, local_address_for};
use crate::config::quiche_config;
use crate::error::connection_error;
use crate::protocol::VIEW_ALPN;
use crate::random_bytes;
use crate::scenario::Settings;
use crate::view::{
    parse_view_line, take_view_lines, view_line, ServerSnapshot, ViewAnswer, ViewReader, ViewReply, ViewRequest,
    ViewSource, FRESH_WAIT, VIEW_VERSION,
};

/// Longest wait for an answer: the handshake (first question) or the server's wait for its workers, with
/// room for a loaded host.
pub const VIEW_WAIT: Duration = Duration::from_secs(2);

/// Idle timeout of the view connection: it stays open between questions, however long an interval.
const VIEW_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The view connection's stream (the client's first bidirectional one).
const STREAM: u64 = 0;

const NOT_OFFERED: &str =
    "the server does not offer the view (ALPN stoq-bench-view): it is not a stoq-bench server, or an older one";

const SOCKET: Token = Token(0);
const WAKE: Token = Token(1);

/// The server's view, asked over a view connection.
pub struct RemoteView {
    questions: Option<Sender<ViewRequest>>,
    answers: Receiver<Result<ViewReply, String>>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
    next_id: u64,
    /// Connections already named to the server.
    named: usize,
    /// Why the view cannot be read any more.
    broken: Option<String>,
    /// The view connection's handshake completed.
    established: Arc<AtomicBool>,
}

impl RemoteView {
    /// Opens a view connection to `target` (TLS server name `server_name`, client certificate and key
    /// `client_cert`); the handshake completes with the first question. Errors: the socket or the TLS
    /// configuration cannot be set up.
    pub fn connect(
        target: SocketAddr,
        server_name: &str,
        client_cert: &Option<(PathBuf, PathBuf)>,
    ) -> Result<RemoteView, String> {
        let settings = Settings { idle_timeout_ns: VIEW_IDLE_TIMEOUT.as_nanos() as u64, ..Settings::default() };
        let mut config = quiche_config(&settings, &client_role(client_cert)).map_err(|e| e.to_string())?;
        config.set_application_protos(&[VIEW_ALPN]).map_err(|e| e.to_string())?;
        let local = local_address_for(target).map_err(|e| e.to_string())?;
        let mut socket = UdpSocket::bind(local).map_err(|e| format!("cannot bind the view's socket: {e}"))?;
        let local = socket.local_addr().map_err(|e| e.to_string())?;
        let poll = Poll::new().map_err(|e| e.to_string())?;
        poll.registry().register(&mut socket, SOCKET, Interest::READABLE).map_err(|e| e.to_string())?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKE).map_err(|e| e.to_string())?);
        let mut scid = [0u8; quiche::MAX_CONN_ID_LEN];
        random_bytes(&mut scid);
        let conn = quiche::connect_with_buffer_factory(
            Some(server_name),
            &quiche::ConnectionId::from_ref(&scid),
            local,
            target,
            &mut config,
        )
        .map_err(|e| format!("cannot open the view connection: {e}"))?;
        let (questions, asked) = unbounded();
        let (answer, answers) = bounded(64);
        let established = Arc::new(AtomicBool::new(false));
        let driver =
            Driver { conn, socket, poll, local, questions: asked, answers: answer, established: established.clone() };
        let thread = std::thread::Builder::new()
            .name("stoq-client-view".into())
            .spawn(move || driver.run())
            .map_err(|e| format!("cannot start the view's thread: {e}"))?;
        Ok(RemoteView {
            questions: Some(questions),
            answers,
            waker,
            thread: Some(thread),
            next_id: 1,
            named: 0,
            broken: None,
            established,
        })
    }

    fn ask(&mut self, connections: &[String], drops: bool) -> Result<ServerSnapshot, String> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        let id = self.next_id;
        self.next_id += 1;
        let add = connections[self.named.min(connections.len())..].to_vec();
        let question = ViewRequest { version: VIEW_VERSION, id, add, drops };
        let sent = self.questions.as_ref().is_some_and(|q| q.send(question).is_ok());
        let _ = self.waker.wake();
        if !sent {
            // The thread ended: the reason it left, if any.
            return Err(match self.answers.try_recv() {
                Ok(Err(why)) => why,
                _ => "the view connection ended".into(),
            });
        }
        self.named = connections.len();
        let deadline = Instant::now() + VIEW_WAIT;
        loop {
            match self.answers.recv_deadline(deadline) {
                // A late answer to an earlier question is passed over.
                Ok(Ok(reply)) if reply.id != id && reply.id != 0 => continue,
                Ok(Ok(reply)) => {
                    return match reply.answer {
                        ViewAnswer::Snapshot(s) => Ok(s),
                        ViewAnswer::Refused(why) => Err(format!("refused by the server: {why}")),
                        ViewAnswer::Error(e) => Err(format!("the server could not answer: {e}")),
                    }
                }
                Ok(Err(e)) => return Err(e),
                Err(RecvTimeoutError::Timeout) if !self.established.load(Relaxed) => {
                    return Err(format!(
                        "the server did not complete the view connection's handshake within {} s: it does not \
                         offer the view (ALPN stoq-bench-view), or did not answer",
                        VIEW_WAIT.as_secs()
                    ))
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!("the server's view did not answer within {} s", VIEW_WAIT.as_secs()))
                }
                Err(RecvTimeoutError::Disconnected) => return Err("the view connection ended".into()),
            }
        }
    }
}

impl ViewReader for RemoteView {
    /// Every failure but a snapshot not fresh leaves the view unusable: later questions get the same error.
    fn snapshot(&mut self, connections: &[String], drops: bool) -> Result<ServerSnapshot, String> {
        let answer = self.ask(connections, drops);
        if let Err(e) = &answer {
            self.broken.get_or_insert_with(|| e.clone());
        }
        answer
    }

    fn source(&self) -> ViewSource {
        ViewSource::Fetched
    }
}

impl Drop for RemoteView {
    /// Closes the view connection (the thread sends the close and ends).
    fn drop(&mut self) {
        self.questions = None;
        let _ = self.waker.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The view connection, on its own thread.
struct Driver {
    conn: crate::Connection,
    socket: UdpSocket,
    poll: Poll,
    local: SocketAddr,
    questions: Receiver<ViewRequest>,
    answers: Sender<Result<ViewReply, String>>,
    established: Arc<AtomicBool>,
}

impl Driver {
    fn run(mut self) {
        let mut events = Events::with_capacity(16);
        let mut buf = vec![0u8; 65_536];
        let mut outbox = Vec::new();
        let mut inbox = Vec::new();
        loop {
            self.flush(&mut buf);
            // A server that does not offer the ALPN ends the handshake with no_application_protocol, or
            // (some TLS stacks) completes it with none.
            let offered = self.conn.application_proto() == VIEW_ALPN;
            if self.conn.is_established() && !offered {
                let _ = self.conn.close(false, 0x178, b"no_application_protocol");
                self.flush(&mut buf);
                let _ = self.answers.send(Err(NOT_OFFERED.into()));
                return;
            }
            // A close from the server (a handshake alert included) ends the view at once, not after the
            // draining period.
            if self.conn.is_closed() || self.conn.is_draining() || self.conn.peer_error().is_some() {
                let why = match connection_error(&self.conn) {
                    Some(e) if e.message().contains("no_application_protocol") => NOT_OFFERED.to_string(),
                    Some(e) => format!("the view connection failed: {}", e.message()),
                    None => "the server closed the view connection".to_string(),
                };
                let _ = self.answers.send(Err(why));
                return;
            }
            let wait = self.conn.timeout().unwrap_or(FRESH_WAIT);
            let _ = self.poll.poll(&mut events, Some(wait));
            if self.conn.timeout_instant().is_some_and(|t| t <= Instant::now()) {
                self.conn.on_timeout();
            }
            while let Ok((n, from)) = self.socket.recv_from(&mut buf) {
                let _ = self.conn.recv(&mut buf[..n], quiche::RecvInfo { from, to: self.local });
            }
            loop {
                match self.questions.try_recv() {
                    Ok(q) => outbox.extend_from_slice(&view_line(&q)),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        let _ = self.conn.close(true, 0, b"view done");
                        self.flush(&mut buf);
                        return;
                    }
                }
            }
            if !self.conn.is_established() {
                continue;
            }
            self.established.store(true, Relaxed);
            if !outbox.is_empty() {
                if let Ok(n) = self.conn.stream_send(STREAM, &outbox, false) {
                    outbox.drain(..n);
                }
            }
            while let Ok((n, _)) = self.conn.stream_recv(STREAM, &mut buf) {
                inbox.extend_from_slice(&buf[..n]);
            }
            let lines = take_view_lines(&mut inbox)
                .and_then(|lines| lines.iter().map(|l| parse_view_line::<ViewReply>(l)).collect::<Result<Vec<_>, _>>());
            match lines {
                Ok(replies) => {
                    for r in replies {
                        let _ = self.answers.send(Ok(r));
                    }
                }
                Err(e) => {
                    let why = format!("the server's view sent a bad message: {e}");
                    let _ = self.answers.send(Err(why));
                    let _ = self.conn.close(true, crate::protocol::error_code::INVALID_DATA, b"bad view message");
                    self.flush(&mut buf);
                    return;
                }
            }
        }
    }

    fn flush(&mut self, buf: &mut [u8]) {
        while let Ok((n, info)) = self.conn.send(buf) {
            if self.socket.send_to(&buf[..n], info.to).is_err() {
                break;
            }
        }
    }
}
