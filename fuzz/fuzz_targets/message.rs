#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trustmesh_fuzz::message(data));
