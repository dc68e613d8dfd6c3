#![no_main]
libfuzzer_sys::fuzz_target!(|text: &str| histoseg_fuzz::annotations(text));
