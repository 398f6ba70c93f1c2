#![no_main]

#[allow(dead_code)] // each binary uses one of the shared targets
#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::tokenizer(data));
