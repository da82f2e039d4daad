//! Every bad input gets one clear line on stderr naming the file or flag and what is wrong,
//! a non-zero exit code, and no panic.

mod common;

use common::*;
use ffnn::data::idx::encode_idx;
use ffnn::data::image::encode_png;
use std::path::Path;

fn train_on(data: &Path, cwd: &Path) -> Run {
    ffnn(&["train", "--data", data.to_str().unwrap(), "--out", "run", "--iterations", "1"], cwd, &[])
}

#[test]
fn missing_data() {
    let tmp = tempfile::tempdir().unwrap();
    // No data at the default place: ffnn downloads MNIST there; offline (a mirror nobody
    // listens on), one line says what could not be fetched from where and what to do instead,
    // and no folder is left behind.
    let run = ffnn(&["train"], tmp.path(), &[("FFNN_MIRRORS", "http://127.0.0.1:9/")]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let last = run.stderr.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with(
            "error: data/mnist/train-images-idx3-ubyte.gz: could not be downloaded from any mirror (http://127.0.0.1:9/train-images-idx3-ubyte.gz: "
        ),
        "{last}"
    );
    assert!(last.ends_with("; to use MNIST files you have, point --data (or $FFNN_DATA) at their folder"), "{last}");
    assert!(!tmp.path().join("data").exists(), "no empty data/mnist left behind");
    let run = ffnn(&["train", "--data", "nowhere"], tmp.path(), &[]);
    assert_error(
        &run,
        "error: nowhere: no such file or folder (given with --data; or a dataset to download: mnist, fashion-mnist)",
    );
    let run = ffnn(&["train"], tmp.path(), &[("FFNN_DATA", "elsewhere")]);
    assert_error(&run, "error: elsewhere: no such file or folder (given by $FFNN_DATA)");
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    let run = train_on(Path::new("empty"), tmp.path());
    assert!(run.stderr.starts_with("error: empty: no dataset here: expected IDX files"), "{}", run.stderr);
    assert_eq!(run.code, 1);
}

#[test]
fn truncated_and_non_gzip_files() {
    let tmp = tempfile::tempdir().unwrap();
    write_idx_dataset(&tmp.path().join("d"), 20, 10, 2, 4);
    let f = tmp.path().join("d/train-images-idx3-ubyte.gz");
    let bytes = std::fs::read(&f).unwrap();
    std::fs::write(&f, &bytes[..bytes.len() / 2]).unwrap();
    assert_error(
        &train_on(Path::new("d"), tmp.path()),
        "error: d/train-images-idx3-ubyte.gz: corrupt or truncated gzip data (unexpected end of file)",
    );
    std::fs::write(&f, b"plain text").unwrap();
    assert_error(
        &train_on(Path::new("d"), tmp.path()),
        "error: d/train-images-idx3-ubyte.gz: not a gzip file (its name ends in .gz but it does not start with the gzip signature)",
    );
}

#[test]
fn wrong_idx_magic_and_truncated_idx() {
    let tmp = tempfile::tempdir().unwrap();
    write_idx_dataset(&tmp.path().join("d"), 20, 10, 2, 4);
    // Labels where images belong: magic 0x00000801 instead of 0x00000803.
    std::fs::write(tmp.path().join("d/t10k-images-idx3-ubyte.gz"), gzip(&encode_idx(&[10], &[0; 10]))).unwrap();
    assert_error(
        &train_on(Path::new("d"), tmp.path()),
        "error: d/t10k-images-idx3-ubyte.gz: not an IDX file of 3 dimension(s): magic number 0x00000801, expected 0x00000803",
    );
    std::fs::write(tmp.path().join("d/t10k-images-idx3-ubyte.gz"), gzip(&encode_idx(&[10, 4, 4], &[0; 100]))).unwrap();
    assert_error(
        &train_on(Path::new("d"), tmp.path()),
        "error: d/t10k-images-idx3-ubyte.gz: truncated: the header says 10×4×4 = 160 bytes of data, the file has 100",
    );
}

#[test]
fn image_and_label_counts_differ() {
    let tmp = tempfile::tempdir().unwrap();
    write_idx_dataset(&tmp.path().join("d"), 20, 10, 2, 4);
    std::fs::write(tmp.path().join("d/train-labels-idx1-ubyte.gz"), gzip(&encode_idx(&[19], &[0; 19]))).unwrap();
    assert_error(
        &train_on(Path::new("d"), tmp.path()),
        "error: d/train-labels-idx1-ubyte.gz: 19 labels, but d/train-images-idx3-ubyte.gz has 20 images",
    );
}

#[test]
fn label_outside_the_classes() {
    let tmp = tempfile::tempdir().unwrap();
    write_idx_dataset(&tmp.path().join("d"), 20, 10, 2, 4);
    let mut labels = vec![0u8; 10];
    labels[3] = 7;
    std::fs::write(tmp.path().join("d/t10k-labels-idx1-ubyte.gz"), gzip(&encode_idx(&[10], &labels))).unwrap();
    assert_error(&train_on(Path::new("d"), tmp.path()), "error: d: test label 7 (image 3) is outside the training classes 0..1");
}

#[test]
fn png_tree_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let fresh = |name: &str| {
        let root = tmp.path().join(name);
        write_png_tree(&root, 2, 3, 4);
        root
    };
    // PNGs of different sizes.
    let root = fresh("sizes");
    std::fs::write(root.join("train/1/0001.png"), encode_png(5, 4, 1, &[0; 20])).unwrap();
    assert_error(
        &train_on(&root, tmp.path()),
        &format!(
            "error: {}: image is 5×4 but {} is 4×4; all images must have the same size",
            root.join("train/1/0001.png").display(),
            root.join("train/0/0000.png").display()
        ),
    );
    // A file that is not an image.
    let root = fresh("text");
    std::fs::write(root.join("test/2/notes.txt"), "not an image").unwrap();
    assert_error(
        &train_on(&root, tmp.path()),
        &format!("error: {}: not a PNG image (Invalid PNG signature.)", root.join("test/2/notes.txt").display()),
    );
    // An empty class folder.
    let root = fresh("empty");
    std::fs::create_dir(root.join("train/3")).unwrap();
    assert_error(
        &train_on(&root, tmp.path()),
        &format!("error: {}: empty class folder (no images)", root.join("train/3").display()),
    );
    // The same, inside a zip.
    let zip = tmp.path().join("empty.zip");
    zip_tree(&root, &zip, "");
    assert_error(
        &train_on(&zip, tmp.path()),
        &format!("error: {}: empty class folder (no images)", zip.join("train/3").display()),
    );
}

#[test]
fn corrupt_zip() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("data.zip"), b"PK\x03\x04 this is not really a zip").unwrap();
    assert_error(
        &train_on(Path::new("data.zip"), tmp.path()),
        "error: data.zip: not a valid zip file (invalid Zip archive: Could not find EOCD)",
    );
}

#[test]
fn unknown_or_bad_flag_values() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (
            &["train", "--activation", "tanh"],
            "error: invalid value 'tanh' for '--activation <ACTIVATION>' [possible values: relu, sigmoid]",
        ),
        (
            &["train", "--optimizer", "rmsprop"],
            "error: invalid value 'rmsprop' for '--optimizer <OPTIMIZER>' [possible values: sgd, momentum, adam]",
        ),
        (
            &["train", "--preset", "huge"],
            "error: invalid value 'huge' for '--preset <PRESET>' [possible values: one-layer, mlp, wide, best, fast, best-short]",
        ),
        (
            &["train", "--hidden", "256,x"],
            "error: invalid value '256,x' for '--hidden <SIZES>': \"x\" is not a layer size (expected positive whole numbers separated by commas, e.g. 256,128)",
        ),
        (&["train", "--lr", "-1"], "error: --lr must be a positive number"),
        (&["train", "--batch-size", "0"], "error: --batch-size must be at least 1"),
    ];
    for (args, expected) in cases {
        assert_error(&ffnn(args, tmp.path(), &[]), expected);
    }
}

#[test]
fn bad_model_files() {
    let tmp = tempfile::tempdir().unwrap();
    write_idx_dataset(&tmp.path().join("d"), 20, 10, 2, 4);
    let run = ffnn(&["train", "--data", "d", "--out", "run", "--iterations", "3", "--hidden", "5"], tmp.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let good = std::fs::read(tmp.path().join("run/model.safetensors")).unwrap();
    std::fs::write(tmp.path().join("truncated.safetensors"), &good[..good.len() - 10]).unwrap();
    std::fs::write(tmp.path().join("text.safetensors"), "hello, world").unwrap();
    let eval = |model: &str| ffnn(&["eval", "--model", model, "--data", "d"], tmp.path(), &[]);
    assert_error(
        &eval("truncated.safetensors"),
        "error: truncated.safetensors: not a safetensors model file, or truncated (incomplete metadata, file not fully covered)",
    );
    assert_error(
        &eval("text.safetensors"),
        "error: text.safetensors: not a safetensors model file, or truncated (header too large)",
    );
    assert_error(&eval("missing.safetensors"), "error: missing.safetensors: no such file or folder");
    let run = eval("run/model.safetensors");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("accuracy"));
}

#[test]
fn predicting_with_an_image_of_the_wrong_size() {
    let tmp = tempfile::tempdir().unwrap();
    write_idx_dataset(&tmp.path().join("d"), 20, 10, 2, 4);
    let run = ffnn(&["train", "--data", "d", "--out", "run", "--iterations", "3"], tmp.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    std::fs::write(tmp.path().join("big.png"), encode_png(28, 28, 1, &[0; 784])).unwrap();
    std::fs::write(tmp.path().join("fits.png"), encode_png(4, 4, 1, &[0; 16])).unwrap();
    let run = ffnn(&["predict", "--model", "run/model.safetensors", "fits.png", "big.png"], tmp.path(), &[]);
    assert_error(&run, "error: big.png: image is 28×28 but the model takes 4×4 images");
    assert_eq!(run.stdout, "", "nothing is printed before every image has been checked");
    let run = ffnn(&["predict", "--model", "run/model.safetensors", "fits.png"], tmp.path(), &[]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("fits.png: "), "{}", run.stdout);
}
