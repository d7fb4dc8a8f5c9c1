//! The fuzz targets' entry points (`stoq_engine::server::fuzzing`, also run by cargo-fuzz from `fuzz/`) as
//! stable-Rust property tests with a bounded number of cases, and every input a fuzzer ever crashed on,
//! kept in `fuzz/regressions/TARGET/`, replayed with the fuzzers' seeds.

use std::path::PathBuf;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use stoq_engine::server::fuzzing::{perf_framing, scenario_json, server_datagrams};

/// JSON text shaped like a scenario: known and unknown keys, values of every JSON type, edge numbers.
fn scenario_like() -> impl Strategy<Value = String> {
    let number = prop_oneof![
        Just(serde_json::json!(0)),
        Just(serde_json::json!(1)),
        Just(serde_json::json!(-1)),
        Just(serde_json::json!(u64::MAX)),
        Just(serde_json::json!(1u64 << 53)),
        Just(serde_json::json!(1.5)),
        Just(serde_json::json!(1e300)),
        any::<u32>().prop_map(|n| serde_json::json!(n)),
        any::<u64>().prop_map(|n| serde_json::json!(n)),
    ];
    let leaf = prop_oneof![
        number,
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        prop_oneof![
            Just("download"),
            Just("upload"),
            Just("bidir"),
            Just("requests"),
            Just("latency"),
            Just("handshakes"),
            Just("uni"),
            Just("bidi"),
            Just("cubic"),
            Just("bbr2"),
            Just(""),
            Just("x")
        ]
        .prop_map(|s| serde_json::json!(s)),
    ];
    let value = leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..3).prop_map(serde_json::Value::Array),
            btree_map("[a-z]{1,3}", inner, 0..3).prop_map(|m| serde_json::json!(m))
        ]
    });
    let key = prop_oneof![
        Just("kind"),
        Just("bytes"),
        Just("durationNs"),
        Just("count"),
        Just("connections"),
        Just("streams"),
        Just("inflight"),
        Just("requestSize"),
        Just("responseSize"),
        Just("streamType"),
        Just("settings"),
        Just("id"),
        Just("bogus"),
    ];
    let settings = btree_map(
        prop_oneof![
            Just("cc"),
            Just("connectionWindow"),
            Just("streamWindow"),
            Just("payloadSize"),
            Just("pacing"),
            Just("gso"),
            Just("idleTimeoutNs"),
            Just("threads")
        ],
        value.clone(),
        0..4,
    );
    (btree_map(key, value, 0..6), proptest::option::of(settings)).prop_map(|(mut m, s)| {
        if let Some(s) = s {
            m.insert("settings", serde_json::json!(s));
        }
        serde_json::json!(m).to_string()
    })
}

/// Operations for the server's datagram entry point: `[mode, (op, len, bytes)*]`.
fn datagram_ops() -> impl Strategy<Value = Vec<u8>> {
    (any::<u8>(), vec((0u8..5, vec(any::<u8>(), 0..48)), 0..10)).prop_map(|(mode, ops)| {
        let mut input = vec![mode];
        for (op, bytes) in ops {
            input.extend([op, bytes.len() as u8]);
            input.extend(bytes);
        }
        input
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_perf_framing_reads_any_split_of_any_stream(data in vec(any::<u8>(), 0..300)) {
        perf_framing(&data);
    }

    #[test]
    fn scenario_json_is_parsed_or_refused_and_normalises_stably(text in scenario_like()) {
        scenario_json(text.as_bytes());
    }

    #[test]
    fn scenario_json_takes_any_bytes(data in vec(any::<u8>(), 0..200)) {
        scenario_json(&data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn the_server_takes_any_datagrams_and_accounts_for_every_connection(input in datagram_ops()) {
        server_datagrams(&input);
    }
}

/// Every input a fuzzer crashed on (`fuzz/regressions/`) and every seed (`fuzz/seeds/`), replayed.
#[test]
fn every_kept_fuzzer_input_still_passes() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    type Target = fn(&[u8]);
    let targets: [(&str, Target); 3] =
        [("perf_framing", perf_framing), ("scenario_json", scenario_json), ("server_datagrams", server_datagrams)];
    for ((name, target), kind) in targets.iter().flat_map(|t| [(t, "regressions"), (t, "seeds")]) {
        let dir = fuzz.join(kind).join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else { panic!("{} is missing", dir.display()) };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "md") {
                continue;
            }
            target(&std::fs::read(&path).unwrap());
        }
    }
}
