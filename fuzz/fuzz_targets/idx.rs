//! The IDX reader, raw and gzip: any bytes must give a dataset or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for named_gz in [false, true] {
        if let Ok(bytes) = ffnn::data::idx::decompress_if_gzip(data.to_vec(), named_gz) {
            let _ = ffnn::data::idx::parse_idx(bytes.clone(), 3);
            let _ = ffnn::data::idx::parse_idx(bytes, 1);
        }
    }
});
