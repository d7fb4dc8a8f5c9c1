#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stoq_engine::server::fuzzing::server_datagrams(data));
