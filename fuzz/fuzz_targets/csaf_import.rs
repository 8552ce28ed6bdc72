#![no_main]

libfuzzer_sys::fuzz_target!(
    init: trustmesh_fuzz::let_the_node_catch_panics(),
    |data: &[u8]| trustmesh_fuzz::csaf_import(data)
);
