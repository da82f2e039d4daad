//! Nothing lost: checkpoints, resuming after SIGKILL and Ctrl-C, divergence, unwritable output.
//! These run the real binary on the real MNIST.

mod common;

use common::*;
use ffnn::nn::model_file::load_model;
use ffnn::train::Checkpoint;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn spawn(args: &[&str], cwd: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ffnn"))
        .args(args)
        .current_dir(cwd)
        .env_remove("FFNN_DATA")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill").args([sig, &child.id().to_string()]).status().unwrap().success();
    assert!(ok, "kill {sig}");
}

/// Waits until `path` exists (a checkpoint was written), at most `limit`.
fn wait_for(path: &Path, limit: Duration) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < limit, "{} did not appear", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn train_args<'a>(data: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--data",
        data,
        "--out",
        out,
        "--epochs",
        "3",
        "--checkpoint-every",
        "1",
        "--threads",
        "2",
        "--eval-every",
        "150",
    ]
}

fn finished(dir: &Path) -> (String, ffnn::nn::Model) {
    (
        without_seconds(&std::fs::read_to_string(dir.join("history.csv")).unwrap()),
        load_model(&dir.join("model.safetensors")).unwrap(),
    )
}

fn reference(data: &str, tmp: &Path) -> (String, ffnn::nn::Model) {
    let run = ffnn(&train_args(data, "whole"), tmp, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    finished(&tmp.join("whole"))
}

#[test]
fn killed_mid_epoch_and_resumed_equals_a_run_left_alone() {
    let Some(mnist) = mnist_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = mnist.to_str().unwrap();
    let whole = reference(data, tmp.path());

    let mut child = spawn(&train_args(data, "killed"), tmp.path());
    let checkpoint = tmp.path().join("killed/checkpoint.safetensors");
    wait_for(&checkpoint, Duration::from_secs(120));
    std::thread::sleep(Duration::from_millis(150)); // into the next epoch
    signal(&child, "-KILL");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), None, "killed by the signal, not finished");
    let (saved, _) = Checkpoint::load(&checkpoint).unwrap();
    assert!(saved.iteration < 3 * 469, "the kill came before the end");
    assert!(!tmp.path().join("killed/model.safetensors").exists());

    let run = ffnn(&["train", "--resume", "killed"], tmp.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("resuming training"), "{}", run.stderr);
    let resumed = finished(&tmp.path().join("killed"));
    assert!(resumed.0 == whole.0, "histories differ:\n{}\n{}", resumed.0, whole.0);
    assert!(resumed.1 == whole.1, "weights differ");
}

#[test]
fn ctrl_c_once_checkpoints_mid_epoch_and_resumes_exactly() {
    let Some(mnist) = mnist_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = mnist.to_str().unwrap();
    let whole = reference(data, tmp.path());

    let child = spawn(&train_args(data, "stopped"), tmp.path());
    wait_for(&tmp.path().join("stopped/checkpoint.safetensors"), Duration::from_secs(120));
    std::thread::sleep(Duration::from_millis(200));
    signal(&child, "-INT");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("resume with: ffnn train --resume stopped"), "{stderr}");
    assert!(!stderr.contains("panicked"));
    let dir = tmp.path().join("stopped");
    let (saved, _) = Checkpoint::load(&dir.join("checkpoint.safetensors")).unwrap();
    assert!(saved.batches_done > 0 && saved.batches_done < 469, "stopped mid-epoch ({} batches done)", saved.batches_done);
    for f in ["history.csv", "cost.png", "accuracy.svg"] {
        assert!(dir.join(f).exists(), "{f}");
    }

    let run = ffnn(&["train", "--resume", "stopped"], tmp.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let resumed = finished(&dir);
    assert!(resumed.0 == whole.0, "histories differ");
    assert!(resumed.1 == whole.1, "weights differ");
}

#[test]
fn ctrl_c_twice_exits_at_once_with_the_last_checkpoint_intact() {
    let Some(mnist) = mnist_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = mnist.to_str().unwrap();
    let mut args = train_args(data, "twice");
    args[6] = "50"; // --epochs: far longer than the test waits
    let child = spawn(&args, tmp.path());
    let checkpoint: PathBuf = tmp.path().join("twice/checkpoint.safetensors");
    wait_for(&checkpoint, Duration::from_secs(120));
    signal(&child, "-INT");
    signal(&child, "-INT");
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    let (saved, _) = Checkpoint::load(&checkpoint).expect("the checkpoint on disk is whole");
    assert!(saved.iteration >= 469);
}

#[test]
fn divergence_stops_with_one_line_and_keeps_the_last_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    // 40 images, batches of 10: 4 iterations per epoch, a checkpoint after each epoch. Softmax
    // regression with α = 100 oscillates with growing logits and crosses the threshold a few
    // epochs in (found by trying; the run is deterministic).
    write_idx_dataset(&tmp.path().join("d"), 40, 10, 4, 4);
    let args = [
        "train",
        "--preset",
        "one-layer",
        "--data",
        "d",
        "--out",
        "run",
        "--optimizer",
        "sgd",
        "--lr",
        "100",
        "--init",
        "normal",
    ];
    let more = ["--batch-size", "10", "--epochs", "50", "--checkpoint-every", "1", "--eval-every", "1"];
    let run = ffnn(&[&args[..], &more[..]].concat(), tmp.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let last = run.stderr.trim_end().lines().last().unwrap();
    let at: usize = last
        .strip_prefix("error: training diverged at iteration ")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{last}"));
    assert!(
        last.ends_with(
            "over 100 times a uniform guess's 1.39): try a smaller learning rate (--lr); checkpoints and history written before are kept"
        ),
        "{last}"
    );
    assert!(at > 4, "diverged after the first checkpoint (at {at})");
    let dir = tmp.path().join("run");
    assert!(!dir.join("model.safetensors").exists());
    let (saved, _) = Checkpoint::load(&dir.join("checkpoint.safetensors")).unwrap();
    assert_eq!(saved.iteration, (at - 1) / 4 * 4, "the checkpoint of the last epoch before the divergence");
    assert!(saved.model.layers.iter().all(|l| l.weight.data.iter().all(|w| w.is_finite())));
    let history = std::fs::read_to_string(dir.join("history.csv")).unwrap();
    assert_eq!(history.lines().count(), 1 + saved.iteration, "the history up to that checkpoint");
}

#[test]
fn a_missing_checkpoint_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let run = ffnn(&["train", "--resume", "nowhere"], tmp.path(), &[]);
    assert_error(&run, "error: nowhere/checkpoint.safetensors: no such file or folder");
    let run = ffnn(&["train", "--resume", "nowhere", "--hidden", "5"], tmp.path(), &[]);
    assert!(
        run.stderr.starts_with("error: the argument '--resume <DIR>' cannot be used with '--hidden <SIZES>'"),
        "{}",
        run.stderr
    );
}

#[test]
fn unwritable_output_is_refused_before_training() {
    let tmp = tempfile::tempdir().unwrap();
    write_idx_dataset(&tmp.path().join("d"), 20, 10, 2, 4);
    std::fs::write(tmp.path().join("file"), "a file, not a folder").unwrap();
    let run = ffnn(&["train", "--data", "d", "--out", "file/run", "--batch-size", "4"], tmp.path(), &[]);
    assert!(run.stderr.starts_with("error: file/run: cannot create the run folder (--out): "), "{}", run.stderr);
    assert_eq!(run.code, 1);
    let run = ffnn(&["train", "--data", "d", "--out", "file", "--batch-size", "4"], tmp.path(), &[]);
    assert_error(&run, "error: file: --out exists and is not a folder");
}

#[test]
fn a_full_disk_gives_a_clear_error_and_keeps_the_previous_files() {
    let tmp = tempfile::tempdir().unwrap();
    write_idx_dataset(&tmp.path().join("d"), 200, 20, 4, 28);
    let disk = tmp.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    // A 3 MB file system: room for one small run (model, plots, report), then filled up.
    let mounted =
        Command::new("mount").args(["-t", "tmpfs", "-o", "size=3m", "tmpfs"]).arg(&disk).status().is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipping: cannot mount a small tmpfs here (needs root)");
        return;
    }
    let unmount = scopeguard(&disk);
    let args = ["train", "--data", "d", "--out", "disk/run", "--hidden", "64", "--iterations", "20", "--overwrite"];
    let run = ffnn(&args, tmp.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let model_before = std::fs::read(disk.join("run/model.safetensors")).unwrap();
    // Fill the disk, then train again into the same folder.
    let filler = disk.join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 3 * 1024 * 1024]);
    let run = ffnn(&args, tmp.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("no space left on device (nothing was replaced)"), "{}", run.stderr);
    assert_eq!(run.stderr.trim_end().lines().last().unwrap().matches("error:").count(), 1);
    assert_eq!(std::fs::read(disk.join("run/model.safetensors")).unwrap(), model_before, "the old model is intact");
    drop(unmount);
}

/// Unmounts the folder when dropped.
struct Unmount(PathBuf);
impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}
fn scopeguard(path: &Path) -> Unmount {
    Unmount(path.to_path_buf())
}
