//! Off the presets, with the real binary: the settings a user types first (odd layer sizes,
//! more threads than cores, a folder that already holds a run, other data on resume, networks
//! too large for the machine, validation splits, missing arguments, closed pipes) either work
//! or are refused in one line before any work, and nothing the user has is replaced.

mod common;

use common::*;
use ffnn::data::image::encode_png;
use ffnn::data::load_dataset;

fn summary(run: &Run) -> serde_json::Value {
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(run.stdout.trim()).unwrap()
}

#[test]
fn odd_hidden_sizes_train_evaluate_predict_and_report_on_two_threads() {
    let Some(mnist) = mnist_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = mnist.to_str().unwrap();
    let test = load_dataset(&mnist).unwrap().test;
    std::fs::write(tmp.path().join("digit.png"), encode_png(28, 28, 1, test.image(0))).unwrap();
    for hidden in ["100", "500,250"] {
        let out = format!("run-{hidden}");
        let args = ["train", "--data", data, "--hidden", hidden, "--epochs", "1", "--eval-every", "100", "--threads", "2"];
        let s = summary(&ffnn(&[&args[..], &["--out", &out, "--json"]].concat(), tmp.path(), &[]));
        let accuracy = s["test_accuracy"].as_f64().unwrap();
        assert!(accuracy > 0.9, "--hidden {hidden}: {accuracy}");
        let model = format!("{out}/model.safetensors");
        // Evaluation splits its chunks of 1000 images between the threads: 1 and 2 agree with training.
        for threads in ["1", "2"] {
            let eval = ffnn(&["eval", "--model", &model, "--data", data, "--threads", threads, "--json"], tmp.path(), &[]);
            let e = summary(&eval);
            assert_eq!(e["accuracy"].as_f64().unwrap() as f32, accuracy as f32, "--hidden {hidden}, eval on {threads} threads");
        }
        let predict = ffnn(&["predict", "--model", &model, "digit.png"], tmp.path(), &[]);
        assert_eq!(predict.code, 0, "{}", predict.stderr);
        assert!(predict.stdout.starts_with("digit.png: "), "{}", predict.stdout);
        // The report, from another folder: the run recorded where its data is.
        let elsewhere = tempfile::tempdir().unwrap();
        let report = ffnn(&["report", tmp.path().join(&out).to_str().unwrap()], elsewhere.path(), &[]);
        assert_eq!(report.code, 0, "{}", report.stderr);
        assert!(tmp.path().join(&out).join("report.html").is_file());
    }
    // The same with evaluation only at the end (it used to panic after the last epoch).
    let run = ffnn(
        &[
            "train",
            "--data",
            data,
            "--hidden",
            "127",
            "--iterations",
            "50",
            "--eval-every",
            "0",
            "--threads",
            "2",
            "--out",
            "end",
        ],
        tmp.path(),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(tmp.path().join("end/model.safetensors").is_file());
}

#[test]
fn more_threads_than_cores_are_cut_to_the_core_count_and_said() {
    let tmp = tempfile::tempdir().unwrap();
    write_idx_dataset(&tmp.path().join("d"), 40, 10, 4, 8);
    let run = ffnn(
        &["train", "--data", "d", "--threads", "1000", "--iterations", "3", "--batch-size", "8", "--json", "--out", "r"],
        tmp.path(),
        &[],
    );
    let n = ffnn::parallel::usable_cores();
    assert_eq!(
        run.stderr.trim_end(),
        format!("ffnn: --threads 1000: this machine has {n} cores; using {n} threads (one per core)")
    );
    assert_eq!(summary(&run)["threads"], n);
    let run = ffnn(
        &["train", "--data", "d", "--threads", "1000", "--iterations", "3", "--batch-size", "8", "--out", "r2"],
        tmp.path(),
        &[],
    );
    assert!(run.stderr.contains(&format!(", {n} threads, run folder r2")), "{}", run.stderr);
    assert_error(&ffnn(&["train", "--data", "d", "--threads", "0"], tmp.path(), &[]), "error: --threads must be at least 1");
}

#[test]
fn a_folder_with_a_run_in_it_is_never_replaced_without_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    write_idx_dataset(&tmp.path().join("d"), 40, 10, 4, 8);
    let train = |extra: &[&str]| {
        let args = [&["train", "--data", "d", "--iterations", "5", "--batch-size", "8", "--out", "run"][..], extra].concat();
        ffnn(&args, tmp.path(), &[])
    };
    assert_eq!(train(&["--seed", "1"]).code, 0);
    let model = std::fs::read(tmp.path().join("run/model.safetensors")).unwrap();
    let run = train(&["--seed", "2"]);
    assert_error(&run, "error: run: --out is a folder with files in it (an earlier run?); add --overwrite to replace that run");
    assert_eq!(std::fs::read(tmp.path().join("run/model.safetensors")).unwrap(), model, "the first run's model is untouched");
    // With a checkpoint there, the message says how to continue it.
    assert_eq!(
        ffnn(
            &["train", "--data", "d", "--epochs", "2", "--batch-size", "8", "--checkpoint-every", "1", "--out", "ck"],
            tmp.path(),
            &[]
        )
        .code,
        0
    );
    assert_error(
        &ffnn(&["train", "--data", "d", "--epochs", "2", "--out", "ck"], tmp.path(), &[]),
        "error: ck: --out is a folder with files in it (an earlier run?); continue that run with `ffnn train --resume ck`, or add --overwrite to replace that run",
    );
    // On purpose: --overwrite.
    let run = train(&["--seed", "2", "--overwrite"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_ne!(std::fs::read(tmp.path().join("run/model.safetensors")).unwrap(), model);
    // Runs started in the same second without --out get folders of their own.
    let children: Vec<_> = (0..3)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_ffnn"))
                .args(["train", "--data", "d", "--iterations", "2", "--batch-size", "8"])
                .current_dir(tmp.path())
                .env_remove("FFNN_DATA")
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let runs: Vec<_> = std::fs::read_dir(tmp.path().join("runs")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(runs.len(), 3, "{runs:?}");
    assert!(runs.iter().all(|r| r.join("model.safetensors").is_file()));
}

#[test]
fn resuming_on_other_data_is_refused_naming_both() {
    let tmp = tempfile::tempdir().unwrap();
    write_idx_dataset(&tmp.path().join("a"), 40, 10, 4, 8);
    write_idx_dataset(&tmp.path().join("b"), 48, 10, 4, 8);
    let run = ffnn(
        &["train", "--data", "a", "--epochs", "2", "--batch-size", "8", "--checkpoint-every", "1", "--out", "run"],
        tmp.path(),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let hash = |d: &str| load_dataset(&tmp.path().join(d)).unwrap().fingerprint();
    let (a, b) = (hash("a"), hash("b"));
    let run = ffnn(&["train", "--resume", "run", "--data", "b", "--epochs", "3"], tmp.path(), &[]);
    assert_error(
        &run,
        &format!(
            "error: b: not the data this run was trained on (the checkpoint was trained on {}, SHA-256 {}…; this data's is {}…): resume with that data, or start a new run",
            std::path::absolute(tmp.path().join("a")).unwrap().display(),
            &a[..12],
            &b[..12]
        ),
    );
    // The same data under another name and layout (uncompressed) is the same data.
    let copy = tmp.path().join("a-copy");
    std::fs::create_dir(&copy).unwrap();
    for entry in std::fs::read_dir(tmp.path().join("a")).unwrap() {
        let path = entry.unwrap().path();
        let raw = flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap());
        let name = path.file_stem().unwrap();
        std::io::copy(&mut std::io::BufReader::new(raw), &mut std::fs::File::create(copy.join(name)).unwrap()).unwrap();
    }
    let run = ffnn(&["train", "--resume", "run", "--data", "a-copy", "--epochs", "3"], tmp.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn the_report_finds_its_data_from_anywhere_and_says_when_it_moved() {
    let tmp = tempfile::tempdir().unwrap();
    write_idx_dataset(&tmp.path().join("d"), 40, 10, 4, 8);
    assert_eq!(
        ffnn(&["train", "--data", "d", "--iterations", "5", "--batch-size", "8", "--out", "run"], tmp.path(), &[]).code,
        0
    );
    let run_dir = tmp.path().join("run");
    let elsewhere = tempfile::tempdir().unwrap();
    let report = ffnn(&["report", run_dir.to_str().unwrap()], elsewhere.path(), &[]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    std::fs::rename(tmp.path().join("d"), tmp.path().join("moved")).unwrap();
    assert_error(
        &ffnn(&["report", "run"], tmp.path(), &[]),
        &format!(
            "error: run: the run's data {} is not there any more: pass --data with where it is now",
            std::path::absolute(tmp.path().join("d")).unwrap().display()
        ),
    );
    let report = ffnn(&["report", "run", "--data", "moved"], tmp.path(), &[]);
    assert_eq!(report.code, 0, "{}", report.stderr);
}

#[test]
fn networks_too_large_for_the_machine_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    write_idx_dataset(&tmp.path().join("d"), 40, 10, 4, 8);
    for hidden in ["100000000", "1000000,1000000"] {
        let run = ffnn(&["train", "--data", "d", "--hidden", hidden, "--batch-size", "8", "--out", "big"], tmp.path(), &[]);
        assert_eq!(run.code, 1);
        let line = run.stderr.trim_end();
        assert_eq!(line.lines().count(), 1, "{line}");
        let sizes = hidden.replace(',', "-");
        assert!(line.starts_with(&format!("error: a 64-{sizes}-4 network with adam and batches of 8 needs about ")), "{line}");
        assert!(line.ends_with(" available: use smaller layers (--hidden) or batches (--batch-size)"), "{line}");
        assert!(!tmp.path().join("big").exists(), "no run folder is left behind");
    }
}

#[test]
fn validation_splits_that_leave_too_little_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    write_idx_dataset(&tmp.path().join("d"), 1400, 10, 4, 8);
    assert_error(
        &ffnn(&["train", "--data", "d", "--val", "1399", "--out", "v"], tmp.path(), &[]),
        "error: --val 1399 leaves 1 training images, fewer than one batch of 128 (at most 1272 with this batch size)",
    );
    assert_error(
        &ffnn(&["train", "--data", "d", "--val", "1400", "--out", "v"], tmp.path(), &[]),
        "error: --val 1400: the training set has only 1400 images",
    );
    // Batches of 1 fit, but one image cannot hold an example of each of the 4 classes.
    let run = ffnn(&["train", "--data", "d", "--val", "1399", "--batch-size", "1", "--out", "v"], tmp.path(), &[]);
    assert_eq!(run.code, 1);
    let line = run.stderr.trim_end();
    assert!(line.starts_with("error: --val 1399 leaves no training image of class "), "{line}");
    assert!(line.ends_with(": hold out fewer images"), "{line}");
    assert!(!tmp.path().join("v").exists());
    let run = ffnn(&["train", "--data", "d", "--val", "700", "--iterations", "3", "--out", "v"], tmp.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    if let Some(mnist) = mnist_dir() {
        assert_error(
            &ffnn(&["train", "--data", mnist.to_str().unwrap(), "--val", "59999", "--out", "m"], tmp.path(), &[]),
            "error: --val 59999 leaves 1 training images, fewer than one batch of 128 (at most 59872 with this batch size)",
        );
    }
}

#[test]
fn missing_arguments_are_named_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (
            &["eval"],
            "error: the following required arguments were not provided: --model <FILE> (usage: ffnn eval --model <FILE>)",
        ),
        (
            &["predict"],
            "error: the following required arguments were not provided: --model <FILE>, <IMAGE>... (usage: ffnn predict --model <FILE> <IMAGE>...)",
        ),
        (&["report"], "error: the following required arguments were not provided: <RUN_DIR> (usage: ffnn report <RUN_DIR>)"),
        (
            &["serve"],
            "error: the following required arguments were not provided: --model <FILE> (usage: ffnn serve --model <FILE>)",
        ),
        (
            &["download", "--no-builtin-mirrors"],
            "error: the following required arguments were not provided: --mirror <URL> (usage: ffnn download --mirror <URL> --no-builtin-mirrors [DATASET])",
        ),
        (
            &["export", "model.safetensors"],
            "error: the following required arguments were not provided: <--onnx <FILE>|--html <FILE>> (usage: ffnn export <--onnx <FILE>|--html <FILE>> <MODEL>)",
        ),
    ];
    for (args, expected) in cases {
        let run = ffnn(args, tmp.path(), &[]);
        assert_error(&run, expected);
        assert_eq!(run.code, 2);
    }
}

#[test]
fn out_of_range_settings_name_the_flag_and_what_is_valid() {
    let tmp = tempfile::tempdir().unwrap();
    write_idx_dataset(&tmp.path().join("d"), 40, 10, 4, 8);
    let cases: [(&[&str], &str, i32); 11] = [
        (&["--warmup", "2"], "error: --warmup must be a fraction in [0, 1)", 1),
        (
            &["--warmup", "0.1", "--lr-schedule", "constant"],
            "error: --warmup applies to the cosine, one-cycle and restarts schedules: add --lr-schedule cosine (or one-cycle, restarts)",
            1,
        ),
        (&["--elastic-sigma", "0"], "error: --elastic-sigma must be from 0.5 to 100 (pixels)", 1),
        (&["--rotate", "1e9"], "error: --rotate must be from 0 to 180 (degrees either way)", 1),
        (&["--scale", "-0.1"], "error: --scale must be in [0, 1) (0.1: sizes from 90% to 110%)", 1),
        (&["--lr-gamma", "0", "--lr-schedule", "step"], "error: --lr-gamma must be in (0, 1]", 1),
        (&["--momentum", "1.5"], "error: --momentum must be in [0, 1)", 1),
        (
            &["--hidden", "-5"],
            "error: invalid value '-5' for '--hidden <SIZES>': \"-5\" is not a layer size (expected positive whole numbers separated by commas, e.g. 256,128)",
            2,
        ),
        (
            &["--seed", "-1"],
            "error: invalid value '-1' for '--seed <SEED>': expected a whole number from 0 to 18446744073709551615",
            2,
        ),
        (&["--batch-size", "-3"], "error: invalid value '-3' for '--batch-size <N>': expected a whole number", 2),
        (&["--dropout", "nan"], "error: invalid value 'nan' for '--dropout <P>': expected a number", 2),
    ];
    for (flags, expected, code) in cases {
        let args = [&["train", "--data", "d", "--out", "o"][..], flags].concat();
        let run = ffnn(&args, tmp.path(), &[]);
        assert_error(&run, expected);
        assert_eq!(run.code, code, "{flags:?}");
        assert!(!tmp.path().join("o").exists(), "{flags:?} wrote a run folder");
    }
    // A batch larger than the training set: the whole set, said in one line.
    let run =
        ffnn(&["train", "--data", "d", "--batch-size", "1000", "--iterations", "2", "--json", "--out", "o"], tmp.path(), &[]);
    assert_eq!(
        run.stderr.trim_end(),
        "ffnn: --batch-size 1000 is more than the 40 training images; using 40 (every step sees the whole set)"
    );
    assert_eq!(summary(&run)["config"]["batch_size"], 40);
}

#[test]
fn a_closed_pipe_ends_the_program_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let tmp = tempfile::tempdir().unwrap();
    write_idx_dataset(&tmp.path().join("d"), 40, 10, 4, 8);
    assert_eq!(
        ffnn(&["train", "--data", "d", "--iterations", "3", "--batch-size", "8", "--out", "run"], tmp.path(), &[]).code,
        0
    );
    // `ffnn eval … | head -0`: the reader is gone before ffnn writes its first line.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ffnn"))
        .args(["eval", "--model", "run/model.safetensors", "--data", "d"])
        .current_dir(tmp.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr, "", "no panic, no message");
    assert!(out.status.signal() == Some(libc::SIGPIPE) || out.status.code() == Some(0), "{:?}", out.status);
}

#[test]
fn an_mnist_run_is_not_resumed_on_fashion_mnist() {
    let (Some(mnist), Some(fashion)) = (mnist_dir(), fashion_mnist_dir()) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let run = ffnn(
        &[
            "train",
            "--data",
            mnist.to_str().unwrap(),
            "--hidden",
            "32",
            "--epochs",
            "2",
            "--checkpoint-every",
            "1",
            "--out",
            "run",
        ],
        tmp.path(),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let history = std::fs::read(tmp.path().join("run/history.csv")).unwrap();
    let run = ffnn(&["train", "--resume", "run", "--data", fashion.to_str().unwrap(), "--epochs", "3"], tmp.path(), &[]);
    assert_eq!(run.code, 1);
    let line = run.stderr.trim_end();
    assert!(
        line.starts_with(&format!(
            "error: {}: not the data this run was trained on (the checkpoint was trained on {}, SHA-256 ",
            fashion.display(),
            std::path::absolute(&mnist).unwrap().display()
        )),
        "{line}"
    );
    assert_eq!(std::fs::read(tmp.path().join("run/history.csv")).unwrap(), history, "the history is not mixed");
}
