//! The server's view shared with a client, over ALPN `stoq-bench-view` (`crate::protocol::VIEW_ALPN`, the
//! messages of `crate::view`). A view connection is admitted like any other (allowlist, client
//! certificates, limits); it asks on the first bidirectional stream it opens, one question per line, and
//! is answered in order, about the connections it named whose peer has its own IP address: a client reads
//! its own connections and no one else's. A server that does not share its view says so in each answer.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Instant;

use crate::protocol::error_code;
use crate::view::{
    parse_view_line, take_view_lines, view_line, Board, ViewAnswer, ViewReply, ViewRequest, MAX_VIEW_MESSAGE,
    VIEW_VERSION,
};

/// Connections one view connection may ask about, in all.
const MAX_ASKED: usize = 1 << 20;

/// Application error code of a view connection closed for a bad stream (a message too long).
pub const VIEW_PROTOCOL_ERROR: u64 = 0x1;

/// One view connection's stream: questions read, answers waiting to leave.
#[derive(Default)]
pub(crate) struct ViewSession {
    /// The stream asked on: the first bidirectional one the client opened.
    stream: Option<u64>,
    /// What arrived and is not a whole line yet.
    inbox: Vec<u8>,
    /// Questions read, not answered yet, in order.
    questions: Vec<ViewRequest>,
    /// A question waiting for every worker's publication, and when to answer it anyway.
    waiting: Option<(ViewRequest, u64, Instant)>,
    /// The connections asked about so far.
    asked: Vec<String>,
    known: HashSet<String>,
    /// Answers quiche has not taken yet.
    outbox: Vec<u8>,
}

impl ViewSession {
    /// Reads the questions that arrived (while earlier answers are not stuck: a client that does not read
    /// is not answered further), answering at once those that need no board: every one when `share` is
    /// off, and bad ones. Returns whether questions wait for the board.
    pub fn read(&mut self, conn: &mut crate::Connection, scratch: &mut [u8], share: bool) -> bool {
        for id in conn.readable() {
            if id % 4 != 0 || *self.stream.get_or_insert(id) != id {
                // Only the first client-opened bidirectional stream carries questions.
                let _ = conn.stream_shutdown(id, quiche::Shutdown::Read, error_code::NOT_IMPLEMENTED);
                let _ = conn.stream_shutdown(id, quiche::Shutdown::Write, error_code::NOT_IMPLEMENTED);
                continue;
            }
            while self.outbox.len() < MAX_VIEW_MESSAGE {
                match conn.stream_recv(id, scratch) {
                    Ok((n, _)) => self.inbox.extend_from_slice(&scratch[..n]),
                    Err(_) => break,
                }
                match take_view_lines(&mut self.inbox) {
                    Ok(lines) => {
                        for line in lines {
                            match parse_view_line::<ViewRequest>(&line) {
                                Ok(q) if share => self.questions.push(q),
                                Ok(q) => self.answer(
                                    q.id,
                                    ViewAnswer::Refused("the server does not share its view (--no-share-view)".into()),
                                ),
                                Err(e) => self.answer(0, ViewAnswer::Error(format!("cannot read the question: {e}"))),
                            }
                        }
                    }
                    Err(e) => {
                        let _ = conn.close(true, VIEW_PROTOCOL_ERROR, format!("view: {e}").as_bytes());
                        return false;
                    }
                }
            }
        }
        self.pending()
    }

    /// Answers what the board can tell now: a question asks every worker to publish, and is answered once
    /// all have (or, after `wait`, with what they published last, marked not fresh). `peer`: the view
    /// connection's address; only connections of that IP address are told. Returns whether it answered.
    pub fn serve(&mut self, board: &Board, peer: IpAddr, now: Instant, wait: std::time::Duration) -> bool {
        let mut answered = false;
        loop {
            if self.waiting.is_none() && !self.questions.is_empty() {
                let q = self.questions.remove(0);
                let generation = board.request();
                self.waiting = Some((q, generation, now + wait));
            }
            let Some((q, generation, by)) = &self.waiting else { return answered };
            let fresh = board.answered(*generation);
            if !fresh && now < *by {
                return answered;
            }
            let q = q.clone();
            self.waiting = None;
            answered = true;
            for key in q.add {
                if self.asked.len() >= MAX_ASKED {
                    let message = format!("more than {MAX_ASKED} connections asked about");
                    self.answer(q.id, ViewAnswer::Error(message));
                    return true;
                }
                if self.known.insert(key.clone()) {
                    self.asked.push(key);
                }
            }
            let snapshot = board.read(&self.asked, q.drops, fresh, Some(peer));
            let reply = ViewReply { version: VIEW_VERSION, id: q.id, answer: ViewAnswer::Snapshot(snapshot) };
            let line = view_line(&reply);
            if line.len() > MAX_VIEW_MESSAGE {
                let message = format!("the answer would be longer than {} MiB", MAX_VIEW_MESSAGE >> 20);
                self.answer(q.id, ViewAnswer::Error(message));
            } else {
                self.outbox.extend_from_slice(&line);
            }
        }
    }

    /// Questions wait for the board.
    pub fn pending(&self) -> bool {
        !self.questions.is_empty() || self.waiting.is_some()
    }

    fn answer(&mut self, id: u64, answer: ViewAnswer) {
        self.outbox.extend_from_slice(&view_line(&ViewReply { version: VIEW_VERSION, id, answer }));
    }

    /// Hands waiting answers to quiche.
    pub fn write(&mut self, conn: &mut crate::Connection) {
        let Some(id) = self.stream.filter(|_| !self.outbox.is_empty()) else { return };
        if let Ok(n) = conn.stream_send(id, &self.outbox, false) {
            self.outbox.drain(..n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{SideCounters, ThreadTime};
    use crate::scenario::Settings;
    use crate::socket::FastPath;
    use crate::view::ConnView;
    use std::time::Duration;

    fn board_with(connections: &[(&str, &str)]) -> Board {
        let board = Board::new(Settings { threads: 1, ..Settings::default() });
        let changed = connections.iter().map(|(key, ip)| {
            let view = ConnView { counters: SideCounters { packets_sent: 7, ..SideCounters::default() }, path: None };
            (key.to_string(), view, ip.parse::<IpAddr>().unwrap(), false)
        });
        board.publish(0, 0, ThreadTime::default(), &FastPath::default(), 0, changed);
        board
    }

    fn answers(session: &mut ViewSession) -> Vec<ViewReply> {
        let mut out = std::mem::take(&mut session.outbox);
        take_view_lines(&mut out).unwrap().iter().map(|l| parse_view_line(l).unwrap()).collect()
    }

    #[test]
    fn a_client_is_told_only_about_connections_of_its_own_address() {
        let board = board_with(&[("aa", "fd00::1"), ("bb", "fd00::2"), ("cc", "::ffff:192.0.2.1")]);
        let mut session = ViewSession::default();
        let add = vec!["aa".into(), "bb".into(), "cc".into(), "dd".into()];
        session.questions.push(ViewRequest { version: VIEW_VERSION, id: 1, add, drops: false });
        // Not fresh: this test's board has no worker to answer, so the answer comes at the deadline.
        let later = Instant::now() + Duration::from_secs(1);
        assert!(session.serve(&board, "fd00::1".parse().unwrap(), later, Duration::ZERO));
        let replies = answers(&mut session);
        let ViewAnswer::Snapshot(s) = &replies[0].answer else { panic!("{replies:?}") };
        assert_eq!(replies[0].id, 1);
        assert_eq!(s.connections.keys().collect::<Vec<_>>(), vec!["aa"]);
        assert_eq!(s.connections["aa"].counters.packets_sent, 7);
        // An IPv4 client, however its address is written, reads its own; the other IPv6 one only its own.
        session.questions.push(ViewRequest { version: VIEW_VERSION, id: 2, add: vec![], drops: false });
        session.serve(&board, "192.0.2.1".parse().unwrap(), later, Duration::ZERO);
        let ViewAnswer::Snapshot(s) = &answers(&mut session)[0].answer else { panic!() };
        assert_eq!(s.connections.keys().collect::<Vec<_>>(), vec!["cc"]);
        session.questions.push(ViewRequest { version: VIEW_VERSION, id: 3, add: vec![], drops: false });
        session.serve(&board, "fd00::3".parse().unwrap(), later, Duration::ZERO);
        let ViewAnswer::Snapshot(s) = &answers(&mut session)[0].answer else { panic!() };
        assert!(s.connections.is_empty());
    }

    #[test]
    fn a_question_waits_for_the_workers_then_is_answered_fresh() {
        let board = board_with(&[("aa", "::1")]);
        let mut session = ViewSession::default();
        session.questions.push(ViewRequest { version: VIEW_VERSION, id: 9, add: vec!["aa".into()], drops: false });
        let now = Instant::now();
        assert!(!session.serve(&board, "::1".parse().unwrap(), now, Duration::from_secs(5)));
        assert!(session.outbox.is_empty());
        let generation = board.requested();
        board.publish(0, generation, ThreadTime::default(), &FastPath::default(), 0, std::iter::empty());
        assert!(session.serve(&board, "::1".parse().unwrap(), now, Duration::from_secs(5)));
        let ViewAnswer::Snapshot(s) = &answers(&mut session)[0].answer else { panic!() };
        assert!(s.fresh);
        assert_eq!(s.connections.len(), 1);
    }
}
