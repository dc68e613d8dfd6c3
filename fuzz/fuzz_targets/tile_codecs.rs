#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| histoseg_fuzz::tile_codecs(data));
