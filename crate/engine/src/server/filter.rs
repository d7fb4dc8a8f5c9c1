//! The server socket's filter: a classic BPF program the kernel runs on every datagram before it is queued,
//! dropping those that can never be valid for this server, so that a flood of them costs the server no
//! wake-up, no copy and no look at a header. It drops exactly what the datagram entry point
//! (`Endpoint::datagram`) would drop at once, and nothing else:
//!
//! - a short header with the fixed bit clear (RFC 9000 §17.3.1; the server never offers to grease it), or
//!   too short to hold one of the server's 20-byte connection IDs;
//! - a long header cut short of its connection IDs, or with an ID longer than 20 bytes (RFC 9000 §17.2);
//! - a Version Negotiation packet (a server never accepts one, RFC 9000 §6.1);
//! - an unknown version in a datagram under 1200 bytes (RFC 9000 §5.2.2: no Version Negotiation for it);
//! - a version 1 long header with the fixed bit clear (§17.2), or an Initial under 1200 bytes (§14.1).
//!
//! Empty datagrams, Handshake, 0-RTT and short-header packets of any size from 21 bytes, and unknown versions
//! from 1200 bytes (answered with Version Negotiation) pass. The kernel counts what the filter drops with
//! the socket's drops (`/proc/net/udp6`, SO_RXQ_OVFL: the fast path's `socketDrops`), not in the server's
//! counters by reason.

use std::io;
use std::os::fd::AsRawFd;

use super::admission::MIN_INITIAL_DATAGRAM;

/// Offset of the UDP payload in what a socket filter sees (the UDP header comes first).
const UDP: u32 = 8;
const CID: u32 = quiche::MAX_CONN_ID_LEN as u32;

const LD_LEN: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_LEN) as u16;
const LD_B_ABS: u16 = (libc::BPF_LD | libc::BPF_B | libc::BPF_ABS) as u16;
const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const LD_B_IND: u16 = (libc::BPF_LD | libc::BPF_B | libc::BPF_IND) as u16;
const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const JGT: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
const AND: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
const ADD_X: u16 = (libc::BPF_ALU | libc::BPF_ADD | libc::BPF_X) as u16;
const ADD: u16 = (libc::BPF_ALU | libc::BPF_ADD | libc::BPF_K) as u16;
const JGT_X: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_X) as u16;
const LDX_LEN: u16 = (libc::BPF_LDX | libc::BPF_W | libc::BPF_LEN) as u16;
const TAX: u16 = (libc::BPF_MISC | libc::BPF_TAX) as u16;
const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// Where a conditional jump goes: the next instruction, or a label.
#[derive(Clone, Copy, PartialEq)]
enum To {
    Next,
    Pass,
    Drop,
    Long,
    V1,
    Unknown,
}

/// One instruction, its jumps by label (resolved by `program`).
struct Op(u16, To, To, u32);

/// The filter, as the kernel takes it.
pub fn program() -> Vec<libc::sock_filter> {
    use To::*;
    let min = MIN_INITIAL_DATAGRAM as u32;
    let ops: Vec<(Option<To>, Op)> = vec![
        (None, Op(LD_LEN, Next, Next, 0)),
        (None, Op(JEQ, Pass, Next, UDP)), // empty: counted by the server
        (None, Op(LD_B_ABS, Next, Next, UDP)),
        (None, Op(JSET, Long, Next, 0x80)),
        // short header: the fixed bit, and room for a connection ID of ours
        (None, Op(JSET, Next, Drop, 0x40)),
        (None, Op(LD_LEN, Next, Next, 0)),
        (None, Op(JGE, Pass, Drop, UDP + 1 + CID)),
        // long header: first byte, version, DCID length, DCID, SCID length, SCID
        (Some(Long), Op(LD_LEN, Next, Next, 0)),
        (None, Op(JGE, Next, Drop, UDP + 7)),
        (None, Op(LD_B_ABS, Next, Next, UDP + 5)),
        (None, Op(JGT, Drop, Next, CID)),
        (None, Op(TAX, Next, Next, 0)), // X = DCID length
        // the SCID length byte (a load past the end makes the kernel drop the datagram)
        (None, Op(LD_B_IND, Next, Next, UDP + 6)),
        (None, Op(JGT, Drop, Next, CID)),
        (None, Op(ADD_X, Next, Next, 0)),
        (None, Op(ADD, Next, Next, UDP + 7)), // A = the bytes up to the end of the SCID
        (None, Op(LDX_LEN, Next, Next, 0)),
        (None, Op(JGT_X, Drop, Next, 0)),
        (None, Op(LD_W_ABS, Next, Next, UDP + 1)),
        (None, Op(JEQ, Drop, Next, 0)), // Version Negotiation
        (None, Op(JEQ, V1, Unknown, quiche::PROTOCOL_VERSION)),
        (Some(Unknown), Op(LD_LEN, Next, Next, 0)),
        (None, Op(JGE, Pass, Drop, UDP + min)),
        (Some(V1), Op(LD_B_ABS, Next, Next, UDP)),
        (None, Op(JSET, Next, Drop, 0x40)),
        (None, Op(AND, Next, Next, 0x30)),
        (None, Op(JEQ, Next, Pass, 0)), // not an Initial
        (None, Op(LD_LEN, Next, Next, 0)),
        (None, Op(JGE, Pass, Drop, UDP + min)),
        (Some(Pass), Op(RET, Next, Next, u32::MAX)),
        (Some(Drop), Op(RET, Next, Next, 0)),
    ];
    let at = |label: To| ops.iter().position(|(l, _)| *l == Some(label)).expect("a defined label");
    ops.iter()
        .enumerate()
        .map(|(i, (_, Op(code, jt, jf, k)))| {
            let rel = |to: To| match to {
                To::Next => 0,
                label => u8::try_from(at(label) - i - 1).expect("a forward jump within 255"),
            };
            libc::sock_filter { code: *code, jt: rel(*jt), jf: rel(*jf), k: *k }
        })
        .collect()
}

/// Attaches the filter to a UDP socket (SO_ATTACH_FILTER: no privilege needed).
pub fn attach(sock: &impl AsRawFd) -> io::Result<()> {
    crate::socket::attach_cbpf(sock, libc::SO_ATTACH_FILTER, &mut program())
}
