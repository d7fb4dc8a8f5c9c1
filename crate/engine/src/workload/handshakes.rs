//! Handshakes: connect, complete the handshake, close, repeat. Each connection is one unit of the
//! count budget; its handshake time (connect to established) is a latency sample.

use super::{no_check, Kind, KindSpec, Rate, Step, Workload};
use crate::scenario::ScenarioField as F;

pub static HANDSHAKES: KindSpec = KindSpec {
    kind: Kind::Handshakes,
    describe: "connect, complete the handshake, close, repeat",
    stops: &[F::Count, F::DurationNs],
    fields: &[F::Connections],
    note: Some("handshakes open no streams"),
    request_size: None,
    response_size: None,
    rate: Some(Rate::Handshakes),
    latency: true,
    check: no_check,
    workload: &Handshakes,
};

struct Handshakes;

impl Workload for Handshakes {
    fn one_unit_per_connection(&self) -> bool {
        true
    }

    fn advance(&self, step: Step<'_>) -> Option<&'static [u8]> {
        let Step { slot, meter, plan, now } = step;
        meter.last_completion = Some(now);
        meter.complete((now - slot.connect_at).as_nanos() as u64, plan.ns_since_start(now));
        Some(b"handshake done")
    }
}
