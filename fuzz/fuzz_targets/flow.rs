#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| restrouter_fuzz::targets::flow(data));
