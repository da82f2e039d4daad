//! Classes with names, end to end with the real binary: a PNG tree of named class folders
//! (written here, in a zip too) and Debian's Fashion-MNIST, through `train`, `eval --json`,
//! `predict --json`, `report` and the model file; MNIST keeps its digit wording.

mod common;

use common::*;
use ffnn::data::image::encode_png;
use serde_json::Value;
use std::path::Path;

/// A tree of 10×10 images in three named classes, drawn as toy classes 0, 1, 2 plus noise; a
/// few test images carry another class's drawing, so there are mistakes to show.
fn write_named_tree(root: &Path) {
    let names = ["zebra", "Apple", "cat"];
    for (split, per_class) in [("train", 40), ("test", 12)] {
        for (c, name) in names.iter().enumerate() {
            let dir = root.join(split).join(name);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..per_class {
                let drawn = if split == "test" && i < 2 { (c + 1) % 3 } else { c };
                std::fs::write(dir.join(format!("img{i:03}.png")), encode_png(10, 10, 1, &toy_image(drawn as u8, i, 10)))
                    .unwrap();
            }
        }
    }
}

fn json_line(stdout: &str) -> Value {
    serde_json::from_str(stdout.trim().lines().last().unwrap()).unwrap()
}

#[test]
fn a_png_tree_of_named_folders_is_named_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    write_named_tree(&tmp.path().join("shapes"));
    zip_tree(&tmp.path().join("shapes"), &tmp.path().join("shapes.zip"), "");
    for data in ["shapes", "shapes.zip"] {
        let out = format!("run-{data}");
        let args = [
            "train",
            "--data",
            data,
            "--hidden",
            "16",
            "--batch-size",
            "16",
            "--lr",
            "0.01",
            "--epochs",
            "30",
            "--out",
            &out,
            "--json",
        ];
        let run = ffnn(&args, tmp.path(), &[]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let summary = json_line(&run.stdout);
        // Sorted as torchvision's ImageFolder sorts: uppercase before lowercase.
        assert_eq!(summary["classes"], serde_json::json!(["Apple", "cat", "zebra"]));
        assert_eq!(summary["dataset"], "shapes");
        let model = format!("{out}/model.safetensors");

        let eval = ffnn(&["eval", "--model", &model, "--data", data, "--json"], tmp.path(), &[]);
        assert_eq!(eval.code, 0, "{}", eval.stderr);
        let eval = json_line(&eval.stdout);
        assert_eq!(eval["classes"], summary["classes"]);
        let mistakes = eval["mistakes"].as_array().unwrap();
        assert!(!mistakes.is_empty());
        for m in mistakes {
            // Each mistake names its file inside the folder or zip, and its classes by name.
            let file = m["file"].as_str().unwrap();
            let folder = eval["classes"][m["label"].as_u64().unwrap() as usize].as_str().unwrap();
            assert!(file.starts_with(&format!("test/{folder}/img")), "{m}");
            assert_eq!(m["label_name"], folder);
            assert_eq!(m["predicted_name"], eval["classes"][m["predicted"].as_u64().unwrap() as usize]);
            assert!(tmp.path().join("shapes").join(file).is_file(), "{file} is a file of the tree");
        }
        let table = ffnn(&["eval", "--model", &model, "--data", data], tmp.path(), &[]);
        assert!(table.stdout.contains("confusion matrix (rows: true class, columns: predicted class)"), "{}", table.stdout);
        assert!(table.stdout.contains("Apple   0"), "{}", table.stdout);

        // The report names classes and shows mistakes by their files.
        let report = std::fs::read_to_string(tmp.path().join(&out).join("report.html")).unwrap();
        assert!(report.contains("<h2>Per class</h2>") && report.contains("<th>Apple</th>"));
        let first = mistakes[0]["file"].as_str().unwrap();
        assert!(report.contains(&format!("<figcaption>{first}<br>")), "the report shows {first}");
        assert!(!report.contains("digit"), "no talk of digits for these classes");

        // predict names the class.
        let image = tmp.path().join("shapes/test/cat/img005.png");
        let p = ffnn(&["predict", "--model", &model, "--json", image.to_str().unwrap()], tmp.path(), &[]);
        let p = json_line(&p.stdout);
        assert_eq!((p["class"].as_u64(), p["name"].as_str()), (Some(1), Some("cat")), "{p}");
    }
}

#[test]
fn fashion_mnist_trains_with_its_class_names_and_mnist_keeps_its_digits() {
    let tmp = tempfile::tempdir().unwrap();
    if let Some(fashion) = fashion_mnist_dir() {
        let data = fashion.to_str().unwrap();
        let run = ffnn(&["train", "--data", data, "--hidden", "64", "--epochs", "1", "--out", "fm"], tmp.path(), &[]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stderr.contains("training on Fashion-MNIST at"), "{}", run.stderr);
        assert!(
            run.stderr
                .contains("10 classes: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot")
        );
        assert!(run.stderr.contains("test accuracy per class: T-shirt/top "), "{}", run.stderr);
        let eval = ffnn(&["eval", "--model", "fm/model.safetensors", "--data", data], tmp.path(), &[]);
        assert!(eval.stdout.contains("Ankle boot   9"), "{}", eval.stdout);
        let meta = ffnn::nn::model_file::read_metadata(&std::fs::read(tmp.path().join("fm/model.safetensors")).unwrap()).unwrap();
        assert_eq!(meta["ffnn.dataset"], "Fashion-MNIST");
        assert!(meta["ffnn.class_names"].starts_with("[\"T-shirt/top\",\"Trouser\""));
    }
    if let Some(mnist) = mnist_dir() {
        let run =
            ffnn(&["train", "--data", mnist.to_str().unwrap(), "--hidden", "", "--epochs", "1", "--out", "m"], tmp.path(), &[]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stderr.contains("test accuracy per digit: 0 "), "{}", run.stderr);
        let report = std::fs::read_to_string(tmp.path().join("m/report.html")).unwrap();
        assert!(report.contains("each tile is the template of one digit, in order (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)"));
    }
}
