//! Dataset loaders: known answers on the real MNIST, and small datasets written here in every
//! supported layout (IDX raw and gzip, PNG tree as folder and zip).

mod common;

use common::*;
use ffnn::data::idx::read_maybe_gzip;
use ffnn::data::load_dataset;
use ffnn_cli::download::{MNIST_FILES, sha256_hex};

#[test]
fn real_mnist_counts_and_label_histograms() {
    let Some(dir) = mnist_dir() else { return };
    let split = load_dataset(&dir).unwrap();
    assert_eq!(split.train.len(), 60_000);
    assert_eq!(split.test.len(), 10_000);
    assert_eq!((split.train.height, split.train.width), (28, 28));
    assert_eq!(split.classes(), 10);
    // From ../shared/data/mnist/README.md.
    assert_eq!(split.train.label_counts(), vec![5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert_eq!(split.test.label_counts(), vec![980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    // The first training image is a 5, the first test image a 7.
    assert_eq!((split.train.labels[0], split.test.labels[0]), (5, 7));
}

#[test]
fn real_mnist_checksums_match_the_download_table() {
    let Some(dir) = mnist_dir() else { return };
    for (name, sha) in MNIST_FILES {
        let bytes = read_maybe_gzip(&dir.join(format!("{name}.gz"))).unwrap();
        assert_eq!(sha256_hex(&bytes), sha, "{name}");
    }
}

#[test]
fn idx_gzip_and_raw_give_the_same_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let gz = tmp.path().join("gz");
    write_idx_dataset(&gz, 30, 10, 3, 6);
    let raw = tmp.path().join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    for f in std::fs::read_dir(&gz).unwrap() {
        let p = f.unwrap().path();
        // Raw files under the other distributed spelling: train-images.idx3-ubyte.
        let name = p.file_stem().unwrap().to_string_lossy().replacen("-idx", ".idx", 1);
        std::fs::write(raw.join(name), read_maybe_gzip(&p).unwrap()).unwrap();
    }
    let a = load_dataset(&gz).unwrap();
    let b = load_dataset(&raw).unwrap();
    assert_eq!(a.train, b.train);
    assert_eq!(a.test, b.test);
    assert_eq!((a.train.len(), a.test.len(), a.classes()), (30, 10, 3));
    assert_eq!(a.train.labels[..4], [0, 1, 2, 0]);
    assert_eq!(a.train.image(1), &toy_image(1, 1, 6)[..]);
}

#[test]
fn png_tree_folder_and_zip() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("tree");
    write_png_tree(&root, 3, 4, 5);
    let from_folder = load_dataset(&root).unwrap();
    assert_eq!((from_folder.train.len(), from_folder.test.len(), from_folder.classes()), (12, 12, 4));
    assert_eq!((from_folder.train.height, from_folder.train.width), (5, 5));
    // Class 2, file 0001.png is the 8th image (classes in order, files sorted).
    assert_eq!(from_folder.train.labels[7], 2);
    assert_eq!(from_folder.train.image(7), &toy_image(2, 1, 5)[..]);

    // Under one top-level folder, as the seed's MNIST.zip has it.
    let nested = tmp.path().join("nested");
    std::fs::create_dir_all(&nested).unwrap();
    std::fs::rename(&root, nested.join("MNIST")).unwrap();
    assert_eq!(load_dataset(&nested).unwrap().train, from_folder.train);

    for prefix in ["", "MNIST/"] {
        let zip = tmp.path().join(format!("data{}.zip", prefix.len()));
        zip_tree(&nested.join("MNIST"), &zip, prefix);
        let from_zip = load_dataset(&zip).unwrap();
        assert_eq!(from_zip.train, from_folder.train, "zip with prefix {prefix:?}");
        assert_eq!(from_zip.test, from_folder.test);
    }
}

#[test]
fn colour_png_is_converted_to_gray() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write_png_tree(root, 1, 2, 2);
    // Replace one image by an RGB one: white and pure red pixels.
    let rgb = ffnn::data::image::encode_png(2, 2, 3, &[255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0]);
    std::fs::write(root.join("train/1/0000.png"), rgb).unwrap();
    let split = load_dataset(root).unwrap();
    assert_eq!(split.train.image(1), &[255, 76, 0, 0]);
}
