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
fn train_downloads_mnist_on_first_use_into_the_default_folder() {
    let Some(mnist) = mnist_dir() else { return };
    let good = serve(real_files(&mnist));
    let tmp = tempfile::tempdir().unwrap();
    // An empty data/mnist, as a failed download of an older ffnn left it: filled on first use.
    std::fs::create_dir_all(tmp.path().join("data/mnist")).unwrap();
    let mirrors = format!("{good}mnist");
    let run = ffnn(&["train", "--iterations", "1", "--out", "run"], tmp.path(), &[("FFNN_MIRRORS", &mirrors)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("ffnn: MNIST is not in data/mnist yet: downloading it there (checksums verified)\n"),
        "{}",
        run.stderr
    );
    assert_eq!(listing(&tmp.path().join("data/mnist")), EXPECTED);
    assert!(tmp.path().join("run/model.safetensors").is_file());
    // The second time nothing is downloaded.
    let run = ffnn(&["train", "--iterations", "1", "--out", "run2"], tmp.path(), &[("FFNN_MIRRORS", "http://127.0.0.1:9/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("downloading"), "{}", run.stderr);
}

/// Debian's Fashion-MNIST files, as a mirror would serve them (compressed differently from
/// Zalando's: only the decompressed content's checksums can agree).
fn fashion_files(dir: &Path) -> HashMap<String, Vec<u8>> {
    ffnn_cli::download::FASHION_MNIST_FILES
        .iter()
        .map(|(name, _)| (format!("/fashion/{name}.gz"), std::fs::read(dir.join(format!("{name}.gz"))).unwrap()))
        .collect()
}

#[test]
fn fashion_mnist_downloads_by_name_and_trains_from_the_user_data_folder() {
    let Some(fashion) = fashion_mnist_dir() else { return };
    let mirror = format!("{}fashion", serve(fashion_files(&fashion)));
    let tmp = tempfile::tempdir().unwrap();
    // `ffnn download fashion-mnist` into a folder…
    let run = ffnn(&["download", "fashion-mnist", "--dir", "fm", "--mirror", &mirror, "--no-builtin-mirrors"], tmp.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.ends_with("Fashion-MNIST is ready in fm\n"), "{}", run.stderr);
    let split = ffnn::data::load_dataset(&tmp.path().join("fm")).unwrap();
    assert_eq!((split.class_names.dataset.as_str(), split.class_names.names[7].as_str()), ("Fashion-MNIST", "Sneaker"));
    // …and `--data fashion-mnist` fetches it into the per-user data folder on first use.
    let home = tmp.path().join("home");
    let env = [("XDG_DATA_HOME", home.to_str().unwrap()), ("FFNN_MIRRORS", mirror.as_str())];
    let run = ffnn(&["train", "--data", "fashion-mnist", "--iterations", "1", "--out", "run", "--json"], tmp.path(), &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(listing(&home.join("ffnn/fashion-mnist")), EXPECTED);
    let summary: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(summary["dataset"], "Fashion-MNIST");
    assert_eq!(summary["classes"][0], "T-shirt/top");
}
