//! The UDP fast path: GSO batches out, GRO and `recvmmsg` in (through quinn-udp), large socket buffers,
//! and per-socket drop counts. Each socket records which of these it really used.

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Instant;

use mio::{Interest, Registry, Token};
use quinn_udp::{RecvMeta, Transmit, UdpSockRef, UdpSocketState};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use socket2::{Domain, Protocol, Type};

/// Socket buffer size asked for; forced past `net.core.{r,w}mem_max` when running as root.
pub const SOCKET_BUFFER_BYTES: usize = 8 << 20;

/// Largest GSO batch the kernel takes in one `sendmsg` (one UDP datagram of at most 64 KiB).
const GSO_BATCH_BYTES: usize = 65_000;

/// Datagrams per `recvmmsg` (quinn-udp's batch).
pub const RECV_BATCH: usize = quinn_udp::BATCH_SIZE;

/// Bytes per receive slot: one GRO super-datagram.
pub const RECV_SLOT_BYTES: usize = 64 * 1024;

/// Which fast-path features one run really used (the environment fingerprint of the data path).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FastPath {
    /// The kernel offers UDP GSO on these sockets.
    pub gso_available: bool,
    /// At least one batch went out as several GSO segments.
    pub gso: bool,
    /// Largest number of segments sent in one call.
    pub gso_max_segments_used: u32,
    /// The kernel offers UDP GRO.
    pub gro_available: bool,
    /// At least one received buffer held several coalesced datagrams.
    pub gro: bool,
    /// Receives go through `recvmmsg` (always, on Linux).
    pub recvmmsg: bool,
    /// Sends go through `sendmmsg` (never: one GSO `sendmsg` per batch replaces it).
    pub sendmmsg: bool,
    /// Send buffer size in effect, bytes (as the kernel reports it).
    pub send_buffer_bytes: u64,
    /// Receive buffer size in effect, bytes (as the kernel reports it).
    pub recv_buffer_bytes: u64,
    /// The buffers were forced past the system maximum (needs CAP_NET_ADMIN).
    pub buffers_forced: bool,
    /// Datagrams the kernel dropped on these sockets' receive queues: a full queue, or (a server's sockets) the
    /// socket filter, for datagrams that can never be valid for the server.
    pub socket_drops: u64,
    /// `sendmsg` calls made.
    pub send_calls: u64,
    /// UDP datagrams sent (a GSO batch counts its segments).
    pub datagrams_sent: u64,
    /// `recvmmsg` calls made.
    pub recv_calls: u64,
    /// UDP datagrams received (a GRO buffer counts its segments).
    pub datagrams_received: u64,
}

impl FastPath {
    /// Folds another socket's use into this one.
    pub fn merge(&mut self, o: &FastPath) {
        self.gso_available |= o.gso_available;
        self.gso |= o.gso;
        self.gso_max_segments_used = self.gso_max_segments_used.max(o.gso_max_segments_used);
        self.gro_available |= o.gro_available;
        self.gro |= o.gro;
        self.recvmmsg |= o.recvmmsg;
        self.sendmmsg |= o.sendmmsg;
        self.send_buffer_bytes = self.send_buffer_bytes.max(o.send_buffer_bytes);
        self.recv_buffer_bytes = self.recv_buffer_bytes.max(o.recv_buffer_bytes);
        self.buffers_forced |= o.buffers_forced;
        self.socket_drops += o.socket_drops;
        self.send_calls += o.send_calls;
        self.datagrams_sent += o.datagrams_sent;
        self.recv_calls += o.recv_calls;
        self.datagrams_received += o.datagrams_received;
    }

    /// The use since `start` (an earlier record of the same sockets): counts are differences; what was
    /// available, the largest batch and the buffer sizes are as now.
    pub fn since(&self, start: &FastPath) -> FastPath {
        FastPath {
            socket_drops: self.socket_drops.saturating_sub(start.socket_drops),
            send_calls: self.send_calls.saturating_sub(start.send_calls),
            datagrams_sent: self.datagrams_sent.saturating_sub(start.datagrams_sent),
            recv_calls: self.recv_calls.saturating_sub(start.recv_calls),
            datagrams_received: self.datagrams_received.saturating_sub(start.datagrams_received),
            ..self.clone()
        }
    }
}

pub struct Socket {
    pub io: mio::net::UdpSocket,
    state: UdpSocketState,
    pub local: SocketAddr,
    /// Bound to a wildcard address: replies must name their source address.
    wildcard: bool,
    max_segments: usize,
    pub use_: FastPath,
    /// The last send found the buffer full.
    blocked: bool,
    /// Registered for WRITABLE as well as READABLE.
    watching_writable: bool,
}

impl Socket {
    /// Binds a non-blocking UDP socket (dual-stack on an IPv6 address). `reuse_port` lets several workers
    /// share one port.
    pub fn bind(addr: SocketAddr, reuse_port: bool, gso: bool) -> io::Result<Socket> {
        Socket::open(addr, reuse_port, false, gso)
    }

    /// Binds a non-blocking UDP socket; `ipv6_only` refuses IPv4-mapped peers on an IPv6 address.
    fn open(addr: SocketAddr, reuse_port: bool, ipv6_only: bool, gso: bool) -> io::Result<Socket> {
        let sock = socket2::Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        if addr.is_ipv6() {
            sock.set_only_v6(ipv6_only)?;
        }
        if reuse_port {
            sock.set_reuse_port(true)?;
        }
        let forced = force_buffer(&sock, libc::SO_SNDBUFFORCE, SOCKET_BUFFER_BYTES)
            & force_buffer(&sock, libc::SO_RCVBUFFORCE, SOCKET_BUFFER_BYTES);
        if !forced {
            sock.set_send_buffer_size(SOCKET_BUFFER_BYTES).ok();
            sock.set_recv_buffer_size(SOCKET_BUFFER_BYTES).ok();
        }
        sock.bind(&addr.into())?;
        let std_sock: std::net::UdpSocket = sock.into();
        let state = UdpSocketState::new(UdpSockRef::from(&std_sock))?;
        let local = std_sock.local_addr()?;
        let io = mio::net::UdpSocket::from_std(std_sock);
        let max_segments = if gso { state.max_gso_segments().max(1) } else { 1 };
        let use_ = FastPath {
            gso_available: state.max_gso_segments() > 1,
            gro_available: state.gro_segments() > 1,
            recvmmsg: cfg!(target_os = "linux"),
            send_buffer_bytes: state.send_buffer_size(UdpSockRef::from(&io))? as u64,
            recv_buffer_bytes: state.recv_buffer_size(UdpSockRef::from(&io))? as u64,
            buffers_forced: forced,
            ..FastPath::default()
        };
        Ok(Socket {
            io,
            state,
            local,
            wildcard: addr.ip().is_unspecified(),
            max_segments,
            use_,
            blocked: false,
            watching_writable: false,
        })
    }

    /// Registers for READABLE events; `watch_writable` adds WRITABLE while a send waits for buffer space.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(&mut self.io, token, Interest::READABLE)
    }

    /// Watches for WRITABLE only while the last send was refused: edge-triggered WRITABLE would otherwise
    /// wake the loop after every send, one spurious wake-up per round trip.
    pub fn watch_writable(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        if self.blocked != self.watching_writable {
            let interest = if self.blocked { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
            registry.reregister(&mut self.io, token, interest)?;
            self.watching_writable = self.blocked;
        }
        Ok(())
    }

    /// Most packets of `payload` bytes one send may carry.
    pub fn batch_segments(&self, payload: usize) -> usize {
        (GSO_BATCH_BYTES / payload.max(1)).clamp(1, self.max_segments)
    }

    /// Sends `contents` as `segment`-sized datagrams (one GSO call when there are several).
    pub fn send(&mut self, to: SocketAddr, from: SocketAddr, contents: &[u8], segment: usize) -> io::Result<()> {
        let segments = contents.len().div_ceil(segment);
        let transmit = Transmit {
            destination: to,
            ecn: None,
            contents,
            segment_size: (segments > 1).then_some(segment),
            src_ip: self.wildcard.then(|| from.ip()),
        };
        let sent = self.state.try_send(UdpSockRef::from(&self.io), &transmit).or_else(|e| {
            // Too large for the path (e.g. an MTU probe): the datagram is lost, as on the wire.
            if e.raw_os_error() == Some(libc::EMSGSIZE) {
                Ok(())
            } else {
                Err(e)
            }
        });
        self.blocked = matches!(&sent, Err(e) if e.kind() == io::ErrorKind::WouldBlock);
        sent?;
        self.use_.send_calls += 1;
        self.use_.datagrams_sent += segments as u64;
        if segments > 1 {
            self.use_.gso = true;
            self.use_.gso_max_segments_used = self.use_.gso_max_segments_used.max(segments as u32);
        }
        Ok(())
    }

    /// The socket's inode (its row in the kernel's socket and drop tables).
    pub fn inode(&self) -> Option<u64> {
        inode(&self.io)
    }

    /// Asks for a receive buffer of `bytes` instead of [`SOCKET_BUFFER_BYTES`] (forced past
    /// `net.core.rmem_max` where permitted; the kernel doubles it), and records the size in effect.
    pub fn set_recv_buffer(&mut self, bytes: u64) -> io::Result<()> {
        let bytes = bytes as usize;
        if !force_buffer(&self.io, libc::SO_RCVBUFFORCE, bytes) {
            socket2::SockRef::from(&self.io).set_recv_buffer_size(bytes)?;
        }
        self.use_.recv_buffer_bytes = self.state.recv_buffer_size(UdpSockRef::from(&self.io))? as u64;
        Ok(())
    }

    /// Receives up to `RECV_BATCH` buffers into `rx` (slot k at `k * RECV_SLOT_BYTES`), each described by
    /// `meta` (`stride` < `len` when GRO coalesced several datagrams). Allocates nothing.
    pub fn recv(&mut self, rx: &mut [u8], meta: &mut [RecvMeta]) -> io::Result<usize> {
        let mut slots = rx.chunks_mut(RECV_SLOT_BYTES);
        let mut bufs: [IoSliceMut<'_>; RECV_BATCH] =
            std::array::from_fn(|_| IoSliceMut::new(slots.next().expect("rx holds RECV_BATCH slots")));
        let n = self.state.recv(UdpSockRef::from(&self.io), &mut bufs, meta)?;
        self.use_.recv_calls += 1;
        for m in &meta[..n] {
            let datagrams = m.len.div_ceil(m.stride.max(1));
            self.use_.datagrams_received += datagrams as u64;
            self.use_.gro |= datagrams > 1;
        }
        Ok(n)
    }

    /// The local address a datagram arrived on (its destination), for quiche's `RecvInfo.to`.
    pub fn arrival_addr(&self, meta: &RecvMeta) -> SocketAddr {
        match meta.dst_ip {
            Some(ip) if self.wildcard => SocketAddr::new(ip, self.local.port()),
            _ => self.local,
        }
    }

    /// The fast-path record, with this socket's receive-queue drops from `drops`.
    pub fn finish(&mut self, drops: &DropTable) -> FastPath {
        self.use_.socket_drops = drops.of(&self.io);
        self.use_.clone()
    }
}

/// The kernel's per-socket receive-queue drop counts (`drops` column of `/proc/net/udp{,6}`), read once
/// for many sockets: each read of those files walks every UDP socket of the host.
pub struct DropTable(std::collections::HashMap<u64, u64>);

impl DropTable {
    pub fn read() -> DropTable {
        let mut by_inode = std::collections::HashMap::new();
        for table in ["/proc/net/udp6", "/proc/net/udp"] {
            let Ok(text) = std::fs::read_to_string(table) else { continue };
            for line in text.lines().skip(1) {
                let cols: Vec<&str> = line.split_whitespace().collect();
                if let (Some(inode), Some(drops)) = (cols.get(9), cols.get(12)) {
                    if let (Ok(i), Ok(d)) = (inode.parse(), drops.parse()) {
                        by_inode.insert(i, d);
                    }
                }
            }
        }
        DropTable(by_inode)
    }

    pub fn of(&self, sock: &mio::net::UdpSocket) -> u64 {
        inode(sock).map_or(0, |i| self.of_inode(i))
    }

    /// The drops of the socket with this inode (0 when it is not listed).
    pub fn of_inode(&self, inode: u64) -> u64 {
        self.0.get(&inode).copied().unwrap_or(0)
    }
}

fn inode(sock: &impl AsRawFd) -> Option<u64> {
    // SAFETY: fstat on a valid fd into a zeroed stat buffer.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        (libc::fstat(sock.as_raw_fd(), &mut st) == 0).then_some(st.st_ino)
    }
}

/// The sockets of a server's workers, all on one port, and nobody else's.
///
/// One worker binds plainly, so a second server on the port fails with EADDRINUSE. Several workers share
/// the port through SO_REUSEPORT, which would let any process of the same user join the group and take a
/// share of new connections. So: (1) the port is first bound without SO_REUSEPORT, which fails if anyone
/// holds it (a second stoq-bench server stops here, whatever its thread count); (2) the group is made; (3)
/// a classic BPF program steers each datagram to socket `DCID[0] % n` of the group (the server's connection
/// IDs keep the first byte of the client's first DCID), so a socket that joins later is never chosen;
/// (4) the kernel's socket table is read back, and any other socket on the port (one that joined between
/// (1) and (2), or bound a more specific address) makes the start fail. What remains: after (4), a
/// process of the same user that sets SO_REUSEPORT itself can still bind a more specific address on the
/// port (say `[::1]` under our `[::]`) and take that address's traffic; only running the server as a user
/// of its own excludes that, since the kernel groups sockets per user.
pub struct Group {
    pub local: SocketAddr,
    pub sockets: Vec<Socket>,
}

impl Group {
    pub fn bind(addr: SocketAddr, n: usize, ipv6_only: bool, gso: bool) -> crate::Result<Group> {
        let fail = |e: io::Error| crate::Error::Io(format!("cannot listen on {addr}: {e}"));
        if n <= 1 {
            let sock = Socket::open(addr, false, ipv6_only, gso).map_err(fail)?;
            return Ok(Group { local: sock.local, sockets: vec![sock] });
        }
        if addr.port() != 0 {
            // Fails while anyone holds the port; dropped at once so the group can take it.
            Socket::open(addr, false, ipv6_only, false).map_err(fail)?;
        }
        let first = Socket::open(addr, true, ipv6_only, gso).map_err(fail)?;
        let local = first.local;
        let mut sockets = vec![first];
        for _ in 1..n {
            sockets.push(Socket::open(local, true, ipv6_only, gso).map_err(fail)?);
        }
        steer_by_connection_id(&sockets[0], n).map_err(fail)?;
        let ours: Vec<u64> = sockets.iter().filter_map(Socket::inode).collect();
        if let Some(other) = udp_sockets().into_iter().find(|s| s.overlaps(local) && !ours.contains(&s.inode)) {
            return Err(crate::Error::Io(format!(
                "cannot listen on {addr}: another socket (uid {}) took port {} while the server started",
                other.uid,
                local.port()
            )));
        }
        Ok(Group { local, sockets })
    }
}

/// Attaches to the reuseport group of `sock` a classic BPF program that picks socket `DCID[0] % n`: byte 6
/// of a long header, byte 1 of a short one (offsets into the UDP payload). A datagram too short to hold that
/// byte makes the program return 0.
fn steer_by_connection_id(sock: &Socket, n: usize) -> io::Result<()> {
    const LD_B_ABS: u16 = (libc::BPF_LD | libc::BPF_B | libc::BPF_ABS) as u16;
    const JSET_K: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
    const JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
    const MOD_K: u16 = (libc::BPF_ALU | libc::BPF_MOD | libc::BPF_K) as u16;
    const RET_A: u16 = (libc::BPF_RET | libc::BPF_A) as u16;
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let mut program = [
        op(LD_B_ABS, 0, 0, 0),  // A = first byte
        op(JSET_K, 0, 2, 0x80), // long header?
        op(LD_B_ABS, 0, 0, 6),  // A = first byte of the DCID (long header)
        op(JA, 0, 0, 1),
        op(LD_B_ABS, 0, 0, 1), // A = first byte of the DCID (short header)
        op(MOD_K, 0, 0, n as u32),
        op(RET_A, 0, 0, 0),
    ];
    attach_cbpf(&sock.io, SO_ATTACH_REUSEPORT_CBPF, &mut program)
}

/// Attaches a classic BPF program to a socket with `option` (SO_ATTACH_FILTER, SO_ATTACH_REUSEPORT_CBPF).
pub(crate) fn attach_cbpf(
    sock: &impl AsRawFd,
    option: libc::c_int,
    program: &mut [libc::sock_filter],
) -> io::Result<()> {
    let fprog = libc::sock_fprog { len: program.len() as u16, filter: program.as_mut_ptr() };
    // SAFETY: setsockopt with a valid fd and a pointer to a live sock_fprog of the stated length, whose
    // filter points to `program`, alive for the call (the kernel copies it).
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            &fprog as *const libc::sock_fprog as *const libc::c_void,
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `asm-generic/socket.h` (x86-64 and arm64; not exported by the libc crate for glibc targets).
const SO_ATTACH_REUSEPORT_CBPF: libc::c_int = 51;

/// A UDP socket of this network namespace, from `/proc/net/udp{,6}`.
struct UdpEntry {
    ip: std::net::IpAddr,
    port: u16,
    uid: u32,
    inode: u64,
}

impl UdpEntry {
    /// Whether a datagram to `local` could reach this socket: the same port and the same address, or a
    /// wildcard on either side (IPv4 sockets meet IPv4-mapped addresses of a dual-stack one).
    fn overlaps(&self, local: SocketAddr) -> bool {
        let canon = |ip: std::net::IpAddr| match ip {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
            v4 => v4,
        };
        let (a, b) = (canon(self.ip), canon(local.ip()));
        self.port == local.port() && (a.is_unspecified() || b.is_unspecified() || a == b)
    }
}

fn udp_sockets() -> Vec<UdpEntry> {
    let mut out = Vec::new();
    for table in ["/proc/net/udp6", "/proc/net/udp"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(uid), Some(inode)) = (cols.get(1), cols.get(7), cols.get(9)) else { continue };
            let Some((addr, port)) = local.split_once(':') else { continue };
            // Each 32-bit word is printed as the host reads it from network-order memory.
            let words: Option<Vec<[u8; 4]>> = (0..addr.len() / 8)
                .map(|i| u32::from_str_radix(&addr[i * 8..i * 8 + 8], 16).ok().map(u32::to_ne_bytes))
                .collect();
            let ip = match words.as_deref() {
                Some([w]) => std::net::IpAddr::from(*w),
                Some(w) if w.len() == 4 => std::net::IpAddr::from(<[u8; 16]>::try_from(w.concat()).expect("16 bytes")),
                _ => continue,
            };
            let (Ok(port), Ok(uid), Ok(inode)) = (u16::from_str_radix(port, 16), uid.parse(), inode.parse()) else {
                continue;
            };
            out.push(UdpEntry { ip, port, uid, inode });
        }
    }
    out
}

fn force_buffer(sock: &impl AsRawFd, option: libc::c_int, bytes: usize) -> bool {
    let value = bytes.min(libc::c_int::MAX as usize) as libc::c_int;
    // SAFETY: setsockopt with a valid fd and a pointer to a live c_int of the stated length.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            &value as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    rc == 0
}

/// Packets quiche produced for one connection, waiting to leave as one GSO batch.
///
/// The buffer is allocated once per connection; steady state allocates nothing. With pacing, a packet whose
/// release time lies beyond the slack is held until then (in user space: `SO_TXTIME` needs `fq`).
pub struct Outbox {
    /// The batch: a whole batch's room while a flush runs, only what it holds between flushes (the room
    /// goes back to the thread's spares), so that a connection that holds nothing costs no batch buffer.
    buf: Vec<u8>,
    /// Bytes a batch may take (`max_payload` × (segments + 1): a batch and the packet carried over).
    room: usize,
    len: usize,
    segment: usize,
    segments: usize,
    sealed: bool,
    to: SocketAddr,
    from: SocketAddr,
    release_at: Option<Instant>,
    /// A packet that could not join the batch (other size or release time), moved to the front next.
    carry: Option<(usize, usize, quiche::SendInfo)>,
    max_payload: usize,
    /// What pacing did to this outbox's packets (cumulative).
    paced: crate::metrics::SideCounters,
    /// The release time of the last packet quiche scheduled ahead of its send call.
    last_paced_at: Option<Instant>,
    /// The release time the batch waits for, once its wait is counted.
    held_until: Option<Instant>,
    rate: Option<RateCap>,
}

/// A send rate cap: each packet takes `len / rate` of the wire; the next may leave once the previous ones'
/// time is spent, with a burst of at most `RATE_BURST` of credit saved while idle.
struct RateCap {
    bytes_per_second: u64,
    next: Instant,
}

const RATE_BURST: std::time::Duration = std::time::Duration::from_millis(1);

impl RateCap {
    fn spend(&mut self, bytes: usize, now: Instant) {
        let start = self.next.max(now.checked_sub(RATE_BURST).unwrap_or(now));
        let ns = (bytes as u128 * 1_000_000_000 / u128::from(self.bytes_per_second)) as u64;
        self.next = start + std::time::Duration::from_nanos(ns);
    }
}

thread_local! {
    /// Batch rooms of this thread's outboxes, free for the next flush.
    static SPARE_BATCHES: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}
/// Rooms a thread keeps for reuse; more are freed.
const SPARE_BATCHES_KEPT: usize = 8;

/// How early a paced packet may leave: the poll timer's resolution is one millisecond.
pub const PACING_SLACK: std::time::Duration = std::time::Duration::from_millis(1);

/// What a flush left behind.
#[derive(Debug, PartialEq, Eq)]
pub enum Flushed {
    /// quiche has nothing more to send now.
    Idle,
    /// The next packet may leave at this time (pacing).
    Paced(Instant),
    /// The socket buffer is full: wait for it to drain.
    Blocked,
    /// `FLUSH_BATCHES` went out and quiche has more: read input, then flush again.
    More,
}

/// Batches one flush sends at most. Without a bound, a sender starved of CPU keeps filling an open
/// congestion window and never reads the ACKs, stop requests or other connections' packets waiting.
const FLUSH_BATCHES: usize = 16;

impl Outbox {
    pub fn new(max_payload: usize, segments: usize) -> Outbox {
        let any: SocketAddr = "[::]:0".parse().expect("literal address");
        Outbox {
            buf: Vec::new(),
            room: max_payload * (segments + 1),
            len: 0,
            segment: 0,
            segments: 0,
            sealed: false,
            to: any,
            from: any,
            release_at: None,
            carry: None,
            max_payload,
            rate: None,
            paced: crate::metrics::SideCounters::default(),
            last_paced_at: None,
            held_until: None,
        }
    }

    /// Pacing's counters: the time packets waited for their release, and the bytes and release-time span of
    /// packets scheduled one after another by quiche's pacer (the rate of its schedule).
    pub fn pacing(&self) -> crate::metrics::SideCounters {
        self.paced
    }

    /// Notes quiche's release time for a packet of `n` bytes produced at `now`.
    fn schedule(&mut self, n: usize, at: Instant, now: Instant) {
        if at <= now {
            self.last_paced_at = None;
            return;
        }
        if let Some(prev) = self.last_paced_at.filter(|&p| at > p) {
            self.paced.paced_bytes += n as u64;
            self.paced.paced_span_ns += (at - prev).as_nanos() as u64;
        }
        self.last_paced_at = Some(at);
    }

    /// The batch waits for its release time (counted once, however often the flush is retried meanwhile).
    fn hold(&mut self, at: Instant) -> Flushed {
        if self.held_until != Some(at) {
            self.held_until = Some(at);
            self.paced.pacing_wait_ns += at.saturating_duration_since(Instant::now()).as_nanos() as u64;
        }
        Flushed::Paced(at)
    }

    /// Caps what this outbox sends at `bytes_per_second` (UDP payload), whatever quiche's congestion
    /// control would send, and whether or not pacing is on.
    pub fn limit_rate(&mut self, bytes_per_second: u64) {
        self.rate = Some(RateCap { bytes_per_second: bytes_per_second.max(1), next: Instant::now() });
    }

    /// Moves quiche's packets for `conn` onto the wire, batched, until quiche is done, pacing says wait, or
    /// the socket is full. Returns the number of packets sent. Without `pacing`, packets held for their
    /// release time go at once (a stopping server's CONNECTION_CLOSE must not wait behind them).
    pub fn flush(
        &mut self,
        conn: &mut crate::Connection,
        sock: &mut Socket,
        pacing: bool,
        max_segments: usize,
    ) -> io::Result<(Flushed, u64)> {
        self.take_room();
        let flushed = self.flush_batches(conn, sock, pacing, max_segments);
        self.give_back_room();
        flushed
    }

    /// A whole batch's room for the flush, from the thread's spares when one is there.
    fn take_room(&mut self) {
        if self.buf.len() >= self.room {
            return;
        }
        let spare = SPARE_BATCHES.with(|s| s.borrow_mut().pop()).filter(|b| b.len() >= self.room);
        let mut room = spare.unwrap_or_else(|| vec![0; self.room]);
        room[..self.buf.len()].copy_from_slice(&self.buf);
        self.buf = room;
    }

    /// Keeps only what the outbox holds (a batch and the packet carried over sit at its start), and hands
    /// the room back, unless the batch fills most of it.
    fn give_back_room(&mut self) {
        let held = self.len + self.carry.map_or(0, |(_, n, _)| n);
        if held > self.room / 2 {
            return;
        }
        let kept = self.buf[..held].to_vec();
        let room = std::mem::replace(&mut self.buf, kept);
        SPARE_BATCHES.with(|s| {
            let mut spares = s.borrow_mut();
            if spares.len() < SPARE_BATCHES_KEPT {
                spares.push(room);
            }
        });
    }

    fn flush_batches(
        &mut self,
        conn: &mut crate::Connection,
        sock: &mut Socket,
        pacing: bool,
        max_segments: usize,
    ) -> io::Result<(Flushed, u64)> {
        let mut sent = 0u64;
        for _ in 0..FLUSH_BATCHES {
            let now = Instant::now();
            if let Some(at) = self.release_at.filter(|_| pacing) {
                if at > now + PACING_SLACK {
                    return Ok((self.hold(at), sent));
                }
            }
            // Fill the batch.
            let mut done = false;
            let mut capped = None;
            while !self.sealed && self.carry.is_none() && self.segments < max_segments {
                if let Some(rate) = self.rate.as_ref().filter(|r| r.next > now + PACING_SLACK) {
                    capped = Some(rate.next);
                    break;
                }
                let off = self.len;
                match conn.send(&mut self.buf[off..off + self.max_payload]) {
                    Ok((n, info)) => {
                        self.schedule(n, info.at, now);
                        if let Some(rate) = &mut self.rate {
                            rate.spend(n, now);
                        }
                        let later = pacing && info.at > now + PACING_SLACK;
                        if self.segments == 0 {
                            self.accept_first(n, &info, pacing);
                            if later {
                                break;
                            }
                        } else if n > self.segment || info.to != self.to || info.from != self.from || later {
                            self.carry = Some((off, n, info));
                        } else {
                            self.len += n;
                            self.segments += 1;
                            self.sealed = n < self.segment;
                        }
                    }
                    Err(quiche::Error::Done) => {
                        done = true;
                        break;
                    }
                    Err(e) => return Err(io::Error::other(format!("quiche send: {}", crate::error::quiche_reason(e)))),
                }
            }
            if self.segments == 0 {
                return Ok((capped.map_or(Flushed::Idle, Flushed::Paced), sent));
            }
            if let Some(at) = self.release_at.filter(|_| pacing) {
                if at > Instant::now() + PACING_SLACK {
                    return Ok((self.hold(at), sent));
                }
            }
            match sock.send(self.to, self.from, &self.buf[..self.len], self.segment) {
                Ok(()) => sent += self.segments as u64,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok((Flushed::Blocked, sent)),
                Err(e) => return Err(e),
            }
            self.clear();
            if let Some((off, n, info)) = self.carry.take() {
                self.buf.copy_within(off..off + n, 0);
                self.accept_first(n, &info, pacing);
            } else if done {
                return Ok((Flushed::Idle, sent));
            }
        }
        Ok((Flushed::More, sent))
    }

    fn accept_first(&mut self, n: usize, info: &quiche::SendInfo, pacing: bool) {
        self.len = n;
        self.segment = n;
        self.segments = 1;
        self.sealed = false;
        self.to = info.to;
        self.from = info.from;
        self.release_at = pacing.then_some(info.at);
    }

    fn clear(&mut self) {
        self.len = 0;
        self.segments = 0;
        self.sealed = false;
        self.release_at = None;
    }

    /// A packet is waiting (held for pacing or a full socket).
    pub fn pending(&self) -> bool {
        self.segments > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_rate_cap_spaces_packets_by_their_size_with_a_bounded_burst() {
        let t0 = Instant::now();
        let mut cap = RateCap { bytes_per_second: 1_000_000, next: t0 };
        cap.spend(1000, t0);
        assert_eq!(cap.next, t0 + Duration::from_millis(1), "1000 bytes at 1 MB/s take 1 ms");
        cap.spend(500, t0);
        assert_eq!(cap.next, t0 + Duration::from_micros(1500));
        // After a long idle spell, at most RATE_BURST of credit is kept.
        let later = t0 + Duration::from_secs(1);
        cap.spend(1000, later);
        assert_eq!(cap.next, later - RATE_BURST + Duration::from_millis(1));
    }

    #[test]
    fn the_socket_table_lists_a_bound_socket_with_its_inode() {
        let sock = Socket::bind("[::1]:0".parse().unwrap(), false, false).unwrap();
        let entry = udp_sockets().into_iter().find(|e| Some(e.inode) == sock.inode()).expect("listed");
        assert_eq!((entry.ip, entry.port), (sock.local.ip(), sock.local.port()));
        assert_eq!(entry.uid, unsafe { libc::getuid() });
        assert!(entry.overlaps(sock.local));
        assert!(entry.overlaps(format!("[::]:{}", sock.local.port()).parse().unwrap()), "a wildcard overlaps");
        assert!(!entry.overlaps(format!("[::2]:{}", sock.local.port()).parse().unwrap()));
        assert!(!entry.overlaps("[::1]:1".parse().unwrap()));
        let v4 = Socket::bind("127.0.0.1:0".parse().unwrap(), false, false).unwrap();
        let entry = udp_sockets().into_iter().find(|e| Some(e.inode) == v4.inode()).expect("listed");
        assert_eq!((entry.ip, entry.port), (v4.local.ip(), v4.local.port()));
        assert!(entry.overlaps(format!("[::ffff:127.0.0.1]:{}", v4.local.port()).parse().unwrap()), "IPv4-mapped");
    }
}
