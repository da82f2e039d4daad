//! `ffnn download` against HTTP servers on loopback: a good mirror, a corrupt one, a missing one.

mod common;

use common::*;
use ffnn_cli::download::MNIST_FILES;
use std::collections::HashMap;
use std::path::Path;

fn real_files(dir: &Path) -> HashMap<String, Vec<u8>> {
    MNIST_FILES
        .iter()
        .map(|(name, _)| (format!("/mnist/{name}.gz"), std::fs::read(dir.join(format!("{name}.gz"))).unwrap()))
        .collect()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

const EXPECTED: [&str; 4] =
    ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"];

#[test]
fn downloads_verifies_and_skips_what_is_there() {
    let Some(mnist) = mnist_dir() else { return };
    let good = serve(real_files(&mnist));
    let tmp = tempfile::tempdir().unwrap();
    let args = ["download", "--dir", "out", "--mirror", &format!("{good}mnist"), "--no-builtin-mirrors"];
    let run = ffnn(&args, tmp.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(listing(&tmp.path().join("out")), EXPECTED);
    assert!(run.stderr.contains("out/train-images-idx3-ubyte.gz: checksum verified"), "{}", run.stderr);
    // The downloaded folder is a dataset.
    assert_eq!(ffnn::data::load_dataset(&tmp.path().join("out")).unwrap().train.len(), 60_000);
    // Again: nothing is fetched.
    let run = ffnn(&args, tmp.path(), &[]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stderr.matches("already present, checksum verified").count(), 4, "{}", run.stderr);
}

#[test]
fn a_corrupt_mirror_is_deleted_and_the_next_one_used() {
    let Some(mnist) = mnist_dir() else { return };
    let good = serve(real_files(&mnist));
    // Valid gzip, wrong content: only the checksum can tell.
    let corrupt: HashMap<String, Vec<u8>> = MNIST_FILES.iter().map(|(n, _)| (format!("/{n}.gz"), gzip(b"not mnist"))).collect();
    let bad = serve(corrupt);
    let tmp = tempfile::tempdir().unwrap();
    let run = ffnn(
        &["download", "--dir", "out", "--mirror", &bad, "--mirror", &format!("{good}mnist"), "--no-builtin-mirrors"],
        tmp.path(),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "train-labels-idx1-ubyte.gz from {bad}train-labels-idx1-ubyte.gz: checksum mismatch: the file was deleted"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(listing(&tmp.path().join("out")), EXPECTED, "no temporary file is left behind");
}

#[test]
fn no_good_mirror_leaves_no_file_and_says_why() {
    let corrupt: HashMap<String, Vec<u8>> =
        MNIST_FILES.iter().map(|(n, _)| (format!("/{n}.gz"), b"<html>oops</html>".to_vec())).collect();
    let bad = serve(corrupt);
    let missing = serve(HashMap::new());
    let tmp = tempfile::tempdir().unwrap();
    let run =
        ffnn(&["download", "--dir", "data/out", "--mirror", &bad, "--mirror", &missing, "--no-builtin-mirrors"], tmp.path(), &[]);
    assert_eq!(run.code, 1);
    assert!(!run.stderr.contains("panicked"));
    let last = run.stderr.trim_end().lines().last().unwrap();
    assert_eq!(
        last,
        format!(
            "error: data/out/train-images-idx3-ubyte.gz: could not be downloaded from any mirror \
             ({bad}train-images-idx3-ubyte.gz: checksum mismatch: the file was deleted; \
             {missing}train-images-idx3-ubyte.gz: http status: 404)"
        )
    );
    assert!(!tmp.path().join("data").exists(), "no file under a final or temporary name, and no empty folder");
    // A folder that was there before stays, empty or not.
    std::fs::create_dir(tmp.path().join("mine")).unwrap();
    let run = ffnn(&["download", "--dir", "mine", "--mirror", &missing, "--no-builtin-mirrors"], tmp.path(), &[]);
    assert_eq!(run.code, 1);
    assert!(tmp.path().join("mine").is_dir());
}

#[test]
fn train_suggests_downloading_into_an_empty_default_folder() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("data/mnist")).unwrap();
    assert_error(
        &ffnn(&["train"], tmp.path(), &[]),
        "error: no data: ./data/mnist is empty; run `ffnn download` to fetch MNIST there, or point --data (or $FFNN_DATA) at a dataset",
    );
}
