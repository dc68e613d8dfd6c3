#![no_main]
libfuzzer_sys::fuzz_target!(|name: &str| histoseg_fuzz::fragment_name(name));
