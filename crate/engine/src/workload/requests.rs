//! Requests and round trips: each connection keeps `inflight` requests outstanding (latency: one) while
//! the count budget or the duration lasts; every request's round trip is a latency sample.

use super::{no_check, Kind, KindSpec, Rate, Step, Workload};
use crate::scenario::ScenarioField as F;

const STOPS: &[F] = &[F::Count, F::DurationNs];

pub static REQUESTS: KindSpec = KindSpec {
    kind: Kind::Requests,
    describe: "request/response pairs with `inflight` outstanding per connection",
    stops: STOPS,
    fields: &[F::Connections, F::Inflight, F::RequestSize, F::ResponseSize, F::StreamType],
    note: None,
    request_size: Some(64),
    response_size: Some(4096),
    rate: Some(Rate::Requests),
    latency: true,
    check: no_check,
    workload: &Requests,
};

pub static LATENCY: KindSpec = KindSpec {
    kind: Kind::Latency,
    describe: "one small request outstanding at a time; every round trip timed",
    stops: STOPS,
    fields: &[F::RequestSize, F::ResponseSize, F::StreamType],
    note: Some("latency runs one request at a time on one connection"),
    request_size: Some(64),
    response_size: Some(64),
    rate: Some(Rate::Requests),
    latency: true,
    check: no_check,
    workload: &Requests,
};

/// Request/response pairs, timed.
struct Requests;

impl Workload for Requests {
    fn advance(&self, step: Step<'_>) -> Option<&'static [u8]> {
        let Step { slot, meter, plan, now, .. } = step;
        let s = &plan.scenario;
        let (upload, expect) = (s.request_size.unwrap_or(0), s.response_size.unwrap_or(0));
        slot.read_replies(meter, plan);
        while slot.streams.open_count() < s.inflight as usize {
            if slot.stream_credit() == 0 || !plan.may_start_another(now) {
                break;
            }
            slot.open_stream(upload, expect, true);
        }
        slot.write_streams(meter);
        (slot.streams.unfinished() == 0 && plan.budget_over(now)).then_some(b"done")
    }
}
