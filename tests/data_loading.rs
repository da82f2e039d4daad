//! Dataset loaders: known answers on the real MNIST, and small datasets written here in every
//! supported layout (IDX raw and gzip, PNG tree as folder and zip).

mod common;

use common::*;
use ffnn::data::idx::read_maybe_gzip;
use ffnn::data::image::encode_png;
use ffnn::data::{Dataset, load_dataset};
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
    // About a fifth of MNIST's pixels are not 0 (19.1% of the first 5000 training images,
    // counted in Python from the same file); the estimate samples 1000 images.
    let density = split.train.density();
    assert!((0.17..0.21).contains(&density), "{density}");
}

#[test]
fn density_counts_the_non_zero_pixels() {
    // Three 2 × 2 images with 1, 2 and 4 non-zero pixels: 7 of 12.
    let data = Dataset { images: vec![0, 9, 0, 0, 1, 0, 0, 255, 3, 3, 3, 3], labels: vec![0, 1, 0], height: 2, width: 2 };
    assert_eq!(data.density(), 7.0 / 12.0);
    // 5000 images: one in five sampled, every sampled one all zero but one pixel of its 4.
    let images = (0..5000).flat_map(|i| if i % 5 == 0 { [0, 0, 7, 0] } else { [1, 1, 1, 1] }).collect();
    let data = Dataset { images, labels: vec![0; 5000], height: 2, width: 2 };
    assert_eq!(data.density(), 0.25);
    assert_eq!(Dataset { images: vec![], labels: vec![], height: 2, width: 2 }.density(), 0.0);
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

/// Writes a PNG tree whose class folders are `names` (class `i` drawn as toy class `i`).
fn write_named_tree(root: &std::path::Path, names: &[&str], per_class: usize) {
    for split in ["train", "test"] {
        for (c, name) in names.iter().enumerate() {
            let dir = root.join(split).join(name);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..per_class {
                std::fs::write(dir.join(format!("{i:04}.png")), encode_png(6, 6, 1, &toy_image(c as u8, i, 6))).unwrap();
            }
        }
    }
}

#[test]
fn named_class_folders_are_sorted_as_image_folder_sorts_them() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("pets");
    // Written in this order; ImageFolder's order is sorted: T-shirt, cat, dog (uppercase first).
    write_named_tree(&root, &["dog", "cat", "T-shirt"], 2);
    let split = load_dataset(&root).unwrap();
    assert_eq!(split.class_names.names, ["T-shirt", "cat", "dog"]);
    assert_eq!(split.class_names.dataset, "pets");
    assert!(!split.class_names.are_digits());
    // The first training images are T-shirt's (label 0), drawn as toy class 2.
    assert_eq!(split.train.labels[..2], [0, 0]);
    assert_eq!(split.train.image(0), &toy_image(2, 0, 6)[..]);
    assert_eq!(
        split.test_files.as_deref().unwrap()[..3],
        ["test/T-shirt/0000.png", "test/T-shirt/0001.png", "test/cat/0000.png"]
    );
    // The same from a zip, with the files named by their paths in it.
    let zip = tmp.path().join("pets.zip");
    zip_tree(&root, &zip, "");
    let zipped = load_dataset(&zip).unwrap();
    assert_eq!((zipped.class_names.clone(), zipped.train.clone()), (split.class_names.clone(), split.train.clone()));
    assert_eq!(zipped.test_files.as_deref().unwrap()[2], "test/cat/0000.png");
    // Folders named by numbers keep their numbers; a test class without a training folder is refused.
    let digits = tmp.path().join("digits");
    write_png_tree(&digits, 1, 3, 5);
    assert_eq!(load_dataset(&digits).unwrap().class_names.names, ["0", "1", "2"]);
    std::fs::create_dir_all(root.join("test/emu")).unwrap();
    std::fs::write(root.join("test/emu/0000.png"), encode_png(6, 6, 1, &toy_image(0, 0, 6))).unwrap();
    let err = load_dataset(&root).unwrap_err().to_string();
    assert_eq!(err, format!("{}: a test class folder with no training folder of the same name", root.join("test/emu").display()));
}

#[test]
fn an_idx_folder_names_its_classes_in_classes_txt() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("toys");
    write_idx_dataset(&dir, 30, 9, 3, 5);
    let plain = load_dataset(&dir).unwrap();
    assert_eq!(
        (plain.class_names.names.clone(), plain.class_names.dataset.clone()),
        (vec!["0".into(), "1".into(), "2".into()], "toys".into())
    );
    assert!(plain.test_files.is_none());
    std::fs::write(dir.join("classes.txt"), "bar\n  stripe \n\ncolumn\n").unwrap();
    assert_eq!(load_dataset(&dir).unwrap().class_names.names, ["bar", "stripe", "column"]);
    std::fs::write(dir.join("classes.txt"), "bar\nstripe\n").unwrap();
    assert_eq!(
        load_dataset(&dir).unwrap_err().to_string(),
        format!("{}: 2 names for the 3 classes of the labels (0 to 2)", dir.join("classes.txt").display())
    );
    std::fs::write(dir.join("classes.txt"), "bar\nbar\nx\n").unwrap();
    assert_eq!(
        load_dataset(&dir).unwrap_err().to_string(),
        format!("{}: the class name \"bar\" is there twice", dir.join("classes.txt").display())
    );
}

#[test]
fn mnist_and_fashion_mnist_are_recognised_with_their_class_names() {
    if let Some(dir) = mnist_dir() {
        let mnist = load_dataset(&dir).unwrap();
        assert_eq!(mnist.class_names.dataset, "MNIST");
        assert!(mnist.class_names.are_digits());
    }
    let Some(dir) = fashion_mnist_dir() else { return };
    let fashion = load_dataset(&dir).unwrap();
    assert_eq!(fashion.class_names.dataset, "Fashion-MNIST");
    assert_eq!(fashion.class_names.names[0], "T-shirt/top");
    assert_eq!(fashion.class_names.names[9], "Ankle boot");
    assert_eq!(fashion.test.label_counts(), vec![1000; 10]);
}
