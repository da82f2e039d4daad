//! The training history: every `k` iterations, the cost and accuracy on the current
//! mini-batch and on the test set (seed, Exercise 1.2), as returned by `train_model` and saved
//! as `history.csv`.

use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

/// One evaluation point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryRow {
    /// Optimizer steps taken so far (1-based).
    pub iteration: usize,
    /// The epoch this iteration belongs to (1-based).
    pub epoch: usize,
    /// Seconds of training (the steps alone) up to this iteration.
    #[serde(default)]
    pub seconds: f64,
    /// The learning rate of this iteration's step.
    #[serde(default)]
    pub learning_rate: f32,
    /// Cost `J` on the mini-batch of this iteration (before its update).
    pub train_loss: f32,
    /// Accuracy on that mini-batch.
    pub train_accuracy: f32,
    /// Cost and accuracy on the validation set (held out of the training data), when there is one.
    #[serde(default)]
    pub val_loss: Option<f32>,
    #[serde(default)]
    /// Accuracy on the validation set, when there is one.
    pub val_accuracy: Option<f32>,
    /// Cost on the whole test set after this iteration, when a test set was given.
    pub test_loss: Option<f32>,
    /// Accuracy on the whole test set.
    pub test_accuracy: Option<f32>,
}

/// All evaluation points of a run, in order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// One row per evaluation, in order.
    pub rows: Vec<HistoryRow>,
}

impl History {
    /// The last row, if any.
    pub fn last(&self) -> Option<&HistoryRow> {
        self.rows.last()
    }

    /// The history as CSV:
    /// `iteration,epoch,seconds,learning_rate,train_loss,train_accuracy,val_loss,val_accuracy,test_loss,test_accuracy`
    /// (validation and test columns empty when there was no such set).
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "iteration,epoch,seconds,learning_rate,train_loss,train_accuracy,val_loss,val_accuracy,test_loss,test_accuracy\n",
        );
        let opt = |v: Option<f32>| v.map(|x| x.to_string()).unwrap_or_default();
        for r in &self.rows {
            let _ = writeln!(
                out,
                "{},{},{:.3},{},{},{},{},{},{},{}",
                r.iteration,
                r.epoch,
                r.seconds,
                r.learning_rate,
                r.train_loss,
                r.train_accuracy,
                opt(r.val_loss),
                opt(r.val_accuracy),
                opt(r.test_loss),
                opt(r.test_accuracy)
            );
        }
        out
    }

    /// Writes `to_csv()` to `path` atomically.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        crate::atomic_file::write_atomic(path, self.to_csv().as_bytes())
    }
}
