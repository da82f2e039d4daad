//! Every input the fuzzers (fuzz/, `bash fuzz/run.sh`) found to crash a parser is kept in
//! tests/fuzz_regressions/<target>/ and fed here through the same entry points as the fuzz
//! target: each must now give an error (or a value), not a panic or an abort. (Fuzzing builds
//! skip the PNG checksum, so a PNG case is stored with its chunk CRCs corrected: otherwise a
//! normal build would reject it before reaching the bug.)

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
    out
}

#[test]
fn idx() {
    for (_, data) in cases("idx") {
        for named_gz in [false, true] {
            if let Ok(bytes) = ffnn::data::idx::decompress_if_gzip(data.clone(), named_gz) {
                let _ = ffnn::data::idx::parse_idx(bytes.clone(), 3);
                let _ = ffnn::data::idx::parse_idx(bytes, 1);
            }
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
    for (_, data) in cases("model_file") {
        if let Ok(model) = ffnn::nn::model_file::model_from_bytes(&data) {
            let x = ffnn::tensor::Matrix::zeros(1, model.inputs());
            let _ = ffnn::nn::predict(&model, &x, None);
        }
        let _ = ffnn::train::Checkpoint::from_bytes(&data);
    }
}
