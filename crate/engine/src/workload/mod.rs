//! The scenario kinds, and what each does on a connection and takes: one module per workload
//! ([`transfers`]: download, upload, bidir; [`requests`]: requests, latency; [`handshakes`]), each
//! declaring its kinds' [`KindSpec`] and implementing [`Workload`], which the client's event loop drives.
//! A new kind is a variant of [`Kind`] here, its arm in [`spec`], and its workload module.

pub mod handshakes;
pub mod requests;
pub mod transfers;

use std::collections::VecDeque;
use std::time::Instant;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::client::{Meter, Plan, Slot};
use crate::error::Result;
use crate::scenario::{Scenario, ScenarioField};

/// What the client does on each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The server sends; the client asks for bytes on each stream.
    Download,
    /// The client sends; the server answers each stream with an empty response after draining it.
    Upload,
    /// Both at once: half the streams download, half upload.
    Bidir,
    /// Request/response pairs with `inflight` outstanding per connection.
    Requests,
    /// One small request outstanding at a time; every round trip timed.
    Latency,
    /// Connect, complete the handshake, close, repeat.
    Handshakes,
}

impl Kind {
    /// Every kind, in the order they are listed to users.
    pub const ALL: [Kind; 6] =
        [Kind::Download, Kind::Upload, Kind::Bidir, Kind::Requests, Kind::Latency, Kind::Handshakes];

    /// What the kind takes and how it behaves, declared by its workload.
    pub fn spec(self) -> &'static KindSpec {
        spec(self)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Download => "download",
            Kind::Upload => "upload",
            Kind::Bidir => "bidir",
            Kind::Requests => "requests",
            Kind::Latency => "latency",
            Kind::Handshakes => "handshakes",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One established, open connection of a worker, handed to its workload.
pub(crate) struct Step<'a> {
    pub slot: &'a mut Slot,
    pub meter: &'a mut Meter,
    pub plan: &'a Plan,
    pub now: Instant,
}

/// What a scenario kind does on its connections. The worker connects, receives, sends and closes; the
/// workload decides what an established connection carries and when its work is done.
pub(crate) trait Workload: Sync {
    /// The (upload, expect) byte counts of the streams a slot's connection opens from the start.
    fn streams(&self, _scenario: &Scenario, _slot: u32) -> VecDeque<(u64, u64)> {
        VecDeque::new()
    }

    /// Each connection is one unit of the count budget, and a slot connects again after each one
    /// (its close needs only to leave, not the closing period).
    fn one_unit_per_connection(&self) -> bool {
        false
    }

    /// Advances an established connection that is not closing: read, open streams, send. `Some(reason)`
    /// when its work is done: the connection closes with that reason phrase.
    fn advance(&self, step: Step<'_>) -> Option<&'static [u8]>;
}

/// The rate a kind's record gives for what it completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum Rate {
    /// Requests or round trips completed per second: `end.requestsPerSecond`.
    #[serde(rename = "requestsPerSecond")]
    Requests,
    /// Handshakes completed per second: `end.handshakesPerSecond`.
    #[serde(rename = "handshakesPerSecond")]
    Handshakes,
}

/// What a scenario kind takes and how it behaves: the one declaration the engine checks scenarios
/// against and the binding exports (so the CLI's flags and defaults follow it).
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KindSpec {
    pub kind: Kind,
    /// What the client does, for people.
    pub describe: &'static str,
    /// The stop conditions it accepts (with none given, a run lasts the default duration).
    pub stops: &'static [ScenarioField],
    /// The fields it takes besides the transport settings; any other must keep its default.
    pub fields: &'static [ScenarioField],
    /// Why it takes no others, where that needs saying.
    pub note: Option<&'static str>,
    /// Bytes uploaded per request when none is given.
    pub request_size: Option<u64>,
    /// Bytes asked back per request when none is given.
    pub response_size: Option<u64>,
    /// What `completed` counts, as a rate in the record.
    pub rate: Option<Rate>,
    /// Whether `completed` events carry latency samples (requests, round trips, handshakes).
    pub latency: bool,
    /// Rules of the kind beyond the fields it takes.
    #[serde(skip)]
    #[schemars(skip)]
    pub check: fn(&Scenario) -> Result<()>,
    #[serde(skip)]
    #[schemars(skip)]
    pub(crate) workload: &'static dyn Workload,
}

/// No rule beyond the fields taken.
pub(crate) fn no_check(_: &Scenario) -> Result<()> {
    Ok(())
}

/// The spec of a kind.
pub fn spec(kind: Kind) -> &'static KindSpec {
    match kind {
        Kind::Download => &transfers::DOWNLOAD,
        Kind::Upload => &transfers::UPLOAD,
        Kind::Bidir => &transfers::BIDIR,
        Kind::Requests => &requests::REQUESTS,
        Kind::Latency => &requests::LATENCY,
        Kind::Handshakes => &handshakes::HANDSHAKES,
    }
}
