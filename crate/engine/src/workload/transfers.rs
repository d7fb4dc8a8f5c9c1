//! Transfers: download, upload and bidir. Each connection opens its share of the scenario's streams at
//! the start (as stream credit allows) and is done when every stream has ended; a duration run makes the
//! streams endless until the deadline stops them.

use std::collections::VecDeque;

use super::{no_check, Kind, KindSpec, Step, Workload};
use crate::error::{Error, Result};
use crate::protocol::UNTIL_STOPPED;
use crate::scenario::{Scenario, ScenarioField as F, StreamType};

const STOPS: &[F] = &[F::Bytes, F::DurationNs];
const FIELDS: &[F] = &[F::Connections, F::Streams, F::StreamType];

pub static DOWNLOAD: KindSpec = KindSpec {
    kind: Kind::Download,
    describe: "the server sends; the client asks for bytes on each stream",
    stops: STOPS,
    fields: FIELDS,
    note: None,
    request_size: None,
    response_size: None,
    rate: None,
    latency: false,
    check: no_check,
    workload: &Transfers { up: false, down: true },
};

pub static UPLOAD: KindSpec = KindSpec {
    kind: Kind::Upload,
    describe: "the client sends; the server answers each stream with an empty response after draining it",
    stops: STOPS,
    fields: FIELDS,
    note: None,
    request_size: None,
    response_size: None,
    rate: None,
    latency: false,
    check: no_check,
    workload: &Transfers { up: true, down: false },
};

pub static BIDIR: KindSpec = KindSpec {
    kind: Kind::Bidir,
    describe: "both directions at once on separate streams: each stream downloads or uploads",
    stops: STOPS,
    fields: FIELDS,
    note: None,
    request_size: None,
    response_size: None,
    rate: None,
    latency: false,
    check: bidir_check,
    workload: &Transfers { up: true, down: true },
};

fn bidir_check(s: &Scenario) -> Result<()> {
    if s.stream_type == StreamType::Uni {
        return Err(Error::invalid_field("streamType", "bidir needs bidirectional streams"));
    }
    Ok(())
}

/// Streams in one or both directions.
struct Transfers {
    up: bool,
    down: bool,
}

impl Workload for Transfers {
    /// The scenario's bytes are split evenly over all streams of all connections (bidir: per
    /// direction); a duration makes them endless.
    fn streams(&self, s: &Scenario, slot: u32) -> VecDeque<(u64, u64)> {
        let streams = s.streams as u64;
        let total_streams = s.connections as u64 * streams;
        let share = |k: u64| match s.bytes {
            Some(b) => b / total_streams + u64::from(slot as u64 * streams + k < b % total_streams),
            None => UNTIL_STOPPED,
        };
        let mut flows = VecDeque::new();
        for k in 0..streams {
            if self.down {
                flows.push_back((0, share(k)));
            }
            if self.up {
                flows.push_back((share(k), 0));
            }
        }
        flows
    }

    fn advance(&self, step: Step<'_>) -> Option<&'static [u8]> {
        let Step { slot, meter, plan, .. } = step;
        slot.read_replies(meter, plan);
        slot.open_queued();
        slot.write_streams(meter);
        (slot.streams.unfinished() == 0).then_some(b"done")
    }
}
