//! Every input the fuzzers (fuzz/, `bash fuzz/run.sh`) found to crash a parser is kept in
//! tests/fuzz_regressions/<target>/ and fed here through the same entry points as the fuzz
//! target: each must now give an error (or a value), not a panic or an abort. (Fuzzing builds
//! skip the PNG checksum, so a PNG case is stored with its chunk CRCs corrected: otherwise a
//! normal build would reject it before reaching the bug.) The `idx` and `model_file` fuzzers
//! found no crash; their folders hold the hostile inputs those parsers were written against
//! (headers that claim far more data than the file has), each with the error it must give.
//! No folder may be empty: a test that replays nothing could not fail.

use std::path::Path;

fn cases(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions").join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    assert!(!out.is_empty(), "{} holds no case", dir.display());
    out
}

#[test]
fn idx() {
    for (name, data) in cases("idx") {
        let gz = ffnn::data::idx::decompress_if_gzip(data.clone(), true);
        let raw = ffnn::data::idx::decompress_if_gzip(data, false).and_then(|bytes| ffnn::data::idx::parse_idx(bytes, 3));
        match name.as_str() {
            "header-claims-4-billion-images" => assert_eq!(
                raw.unwrap_err().to_string(),
                "truncated: the header says 4294967295×28×28 = 3367254359280 bytes of data, the file has 100"
            ),
            "gzip-trailer-claims-4-gib" => {
                assert!(gz.unwrap_err().to_string().starts_with("corrupt or truncated gzip data"));
                assert!(raw.is_err());
            }
            other => panic!("{other}: no expected outcome recorded"),
        }
    }
}

#[test]
fn png_tree() {
    let found = cases("png_tree");
    assert!(!found.is_empty());
    for (name, data) in found {
        let png = ffnn::data::image::decode_gray_png(&data);
        let zip = ffnn::data::png_tree::load_zip_from(std::io::Cursor::new(&data), Path::new("fuzz.zip"));
        if name == "png-header-claims-100-terabytes" {
            assert_eq!(png.unwrap_err().to_string(), "PNG image too large (2097152×50331651 pixels; at most 67108864)");
            assert!(zip.is_err());
        }
    }
}

#[test]
fn model_file() {
    for (name, data) in cases("model_file") {
        let model = ffnn::nn::model_file::model_from_bytes(&data);
        let checkpoint = ffnn::train::Checkpoint::from_bytes(&data);
        assert!(checkpoint.is_err(), "{name}");
        let message = model.unwrap_err().to_string();
        match name.as_str() {
            "header-length-claims-an-exabyte" => {
                assert!(message.starts_with("not a safetensors model file, or truncated"), "{message}")
            }
            "sizes-claim-a-billion-units" => assert_eq!(message, "tensor 0.weight has shape [2, 2], expected [1000000000, 784]"),
            other => panic!("{other}: no expected outcome recorded"),
        }
    }
}
