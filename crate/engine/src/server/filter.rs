//! The server socket's filter: a classic BPF program the kernel runs on every datagram before it is queued,
//! dropping those that can never be valid for this server, so that a flood of them costs the server no
//! wake-up, no copy and no look at a header. It drops exactly what the datagram entry point
//! (`Endpoint::datagram`) would drop at once, and nothing else:
//!
//! - a short header with the fixed bit clear (RFC 9000 §17.3.1; the server never offers to grease it), too
//!   short to hold one of the server's 20-byte connection IDs, or whose ID lacks the server's tag at bytes 1
//!   to 4 (`Gate::cid_tag`): no connection of this server has that ID, and random bytes are one of these;
//! - a long header cut short of its connection IDs, or with an ID longer than 20 bytes (RFC 9000 §17.2);
//! - a Version Negotiation packet (a server never accepts one, RFC 9000 §6.1);
//! - an unknown version in a datagram under 1200 bytes (RFC 9000 §5.2.2: no Version Negotiation for it);
//! - a version 1 long header with the fixed bit clear (§17.2), or an Initial under 1200 bytes (§14.1).
//!
//! Empty datagrams, Handshake and 0-RTT packets, short-header packets of any size from 21 bytes that carry
//! the tag, and unknown versions from 1200 bytes (answered with Version Negotiation) pass. The kernel counts
//! what the filter drops with the socket's drops (`/proc/net/udp6`, SO_RXQ_OVFL: the fast path's
//! `socketDrops`), not in the server's counters by reason.
//!
//! Shedding rules (`Shed`) extend it while one source floods the server with Initials faster than its
//! admission budget takes them: of that source's version 1 Initials, the kernel keeps a random fraction
//! (`SKF_AD_RANDOM`) and drops the rest before any copy to the server, which would have shed them anyway
//! after reading them. Only Initials of that source prefix (its IPv6 /64, its IPv4 address) are touched:
//! packets of established connections (short headers), Handshake packets, and every other source's
//! Initials pass as before.

use std::io;
use std::os::fd::AsRawFd;

use super::admission::{SourcePrefix, MIN_INITIAL_DATAGRAM};

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

/// Negative load offsets of classic BPF (`linux/filter.h`): the network header, and the ancillary data.
const SKF_NET_OFF: i32 = -0x10_0000;
const SKF_AD_OFF: i32 = -0x1000;
const SKF_AD_RANDOM: i32 = 56;
const NET: u32 = SKF_NET_OFF as u32;
const RANDOM: u32 = (SKF_AD_OFF + SKF_AD_RANDOM) as u32;

/// Shedding rules at most: the sources flooding hardest.
pub const MAX_SHED_RULES: usize = 8;

/// A source whose version 1 Initials the kernel sheds: its prefix (`admission::source_prefix`: an IPv6
/// /64, or an IPv4 address as `::ffff:a.b.c.d`), and the fraction of its Initials kept, in units of 2^-32
/// (0: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shed {
    pub prefix: SourcePrefix,
    pub keep: u32,
}

impl Shed {
    /// The IPv4 address of an IPv4 source.
    fn ipv4(&self) -> Option<u32> {
        (self.prefix >> 32 == 0xffff).then_some(self.prefix as u32)
    }
}

/// Where a conditional jump goes: the next instruction, or a label.
#[derive(Clone, Copy, PartialEq)]
enum To {
    Next,
    Pass,
    Drop,
    Long,
    V1,
    Unknown,
    /// The shedding rules (IPv6 sources first).
    Rules,
    V4Rules,
    /// The first instruction of the shedding rule of that number.
    Rule(usize),
}

/// One instruction, its jumps by label (resolved by `program`).
struct Op(u16, To, To, u32);

/// The filter, as the kernel takes it, for a server whose connection IDs carry `cid_tag`, with `rules` (at
/// most `MAX_SHED_RULES`) for the Initials that pass it otherwise.
pub fn program(cid_tag: u32, rules: &[Shed]) -> Vec<libc::sock_filter> {
    use To::*;
    let min = MIN_INITIAL_DATAGRAM as u32;
    let rules = &rules[..rules.len().min(MAX_SHED_RULES)];
    let initial = if rules.is_empty() { Pass } else { Rules };
    let mut ops: Vec<(Option<To>, Op)> = vec![
        (None, Op(LD_LEN, Next, Next, 0)),
        (None, Op(JEQ, Pass, Next, UDP)), // empty: counted by the server
        (None, Op(LD_B_ABS, Next, Next, UDP)),
        (None, Op(JSET, Long, Next, 0x80)),
        // short header: the fixed bit, room for a connection ID of ours, and our tag in it
        (None, Op(JSET, Next, Drop, 0x40)),
        (None, Op(LD_LEN, Next, Next, 0)),
        (None, Op(JGE, Next, Drop, UDP + 1 + CID)),
        (None, Op(LD_W_ABS, Next, Next, UDP + 2)),
        (None, Op(JEQ, Pass, Drop, cid_tag)),
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
        (None, Op(JGE, initial, Drop, UDP + min)),
    ];
    if !rules.is_empty() {
        ops.extend(shedding(rules));
    }
    ops.push((Some(Pass), Op(RET, Next, Next, u32::MAX)));
    ops.push((Some(Drop), Op(RET, Next, Next, 0)));
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

/// The shedding rules, from label `Rules`: the source address is read from the network header (IPv6: the
/// first 8 bytes of the source, at offset 8; IPv4: the source at offset 12); a matching Initial is dropped
/// unless a random 32-bit number falls under the rule's `keep`.
fn shedding(rules: &[Shed]) -> Vec<(Option<To>, Op)> {
    use To::*;
    let (v4, v6): (Vec<&Shed>, Vec<&Shed>) = rules.iter().partition(|r| r.ipv4().is_some());
    let mut ops = vec![
        (Some(Rules), Op(LD_B_ABS, Next, Next, NET)),
        (None, Op(AND, Next, Next, 0xf0)),
        (None, Op(JEQ, Next, V4Rules, 0x60)),
    ];
    let mut n = 0;
    // A source that does not match goes on to the next rule of its family, past the last one it passes.
    let mut rule = |ops: &mut Vec<(Option<To>, Op)>, words: &[(u32, u32)], keep: u32, last: bool| {
        let miss = if last { Pass } else { Rule(n + 1) };
        for (i, (offset, word)) in words.iter().enumerate() {
            ops.push(((i == 0).then_some(Rule(n)), Op(LD_W_ABS, Next, Next, NET + offset)));
            ops.push((None, Op(JEQ, Next, miss, *word)));
        }
        ops.push((None, Op(LD_W_ABS, Next, Next, RANDOM)));
        ops.push((None, Op(JGE, Drop, Pass, keep)));
        n += 1;
    };
    for (i, r) in v6.iter().enumerate() {
        let words = [(8, (r.prefix >> 96) as u32), (12, (r.prefix >> 64) as u32)];
        rule(&mut ops, &words, r.keep, i + 1 == v6.len());
    }
    if v6.is_empty() {
        ops.push((None, Op(RET, Next, Next, u32::MAX)));
    }
    let v4_start = ops.len();
    for (i, r) in v4.iter().enumerate() {
        rule(&mut ops, &[(12, r.ipv4().expect("an IPv4 rule"))], r.keep, i + 1 == v4.len());
    }
    if v4.is_empty() {
        ops.push((None, Op(RET, Next, Next, u32::MAX)));
    }
    ops[v4_start].0 = Some(V4Rules);
    ops
}

/// Attaches the filter (`program`) to a UDP socket (SO_ATTACH_FILTER: no privilege needed), replacing the one
/// it had.
pub fn attach(sock: &impl AsRawFd, cid_tag: u32, rules: &[Shed]) -> io::Result<()> {
    crate::socket::attach_cbpf(sock, libc::SO_ATTACH_FILTER, &mut program(cid_tag, rules))
}
