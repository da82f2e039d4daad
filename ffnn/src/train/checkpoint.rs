//! Checkpoints: everything needed to continue a run exactly where it stopped, in one file
//! written atomically (temporary file, fsync, rename), so a crash at any moment leaves either
//! the previous checkpoint or the new one.
//!
//! The file is safetensors: the model's tensors in the model-file layout (so a checkpoint also
//! loads as a model), the optimizer's moment buffers as `optimizer.first.{i}` and
//! `optimizer.second.{i}`, and in the metadata key `ffnn.checkpoint` a JSON object with the
//! configuration, the position (epoch, batches done in it, iteration), the shuffling RNG's
//! state at the start of the epoch, and the history so far.

use crate::data::Samples;
use crate::error::{Error, Result, io_error};
use crate::nn::Model;
use crate::nn::model_file::{model_from_bytes, model_to_bytes_with, read_metadata, read_tensor};
use crate::optim::OptimizerState;
use crate::train::{History, TrainConfig};
use rand_chacha::ChaCha8Rng;
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// A run's complete state between two steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The run's settings.
    pub config: TrainConfig,
    /// The parameters so far.
    pub model: Model,
    /// The optimizer's moments and step count.
    pub optimizer: OptimizerState,
    /// The epoch in progress (1-based).
    pub epoch: usize,
    /// Batches of that epoch already trained.
    pub batches_done: usize,
    /// The shuffling RNG as it was when that epoch began (its batch order is drawn from it).
    pub epoch_rng: ChaCha8Rng,
    /// Steps done.
    pub iteration: usize,
    /// Training samples seen.
    pub samples: usize,
    /// Seconds spent in training steps so far.
    pub train_seconds: f64,
    /// The history so far.
    pub history: History,
}

/// The JSON part of the file.
#[derive(Serialize, Deserialize)]
struct Position {
    config: TrainConfig,
    optimizer_step: u64,
    epoch: usize,
    batches_done: usize,
    epoch_rng: ChaCha8Rng,
    iteration: usize,
    samples: usize,
    train_seconds: f64,
    history: History,
}

const KEY: &str = "ffnn.checkpoint";

impl Checkpoint {
    /// The checkpoint as safetensors bytes, with `extra` added to the metadata.
    pub fn to_bytes(&self, extra: &BTreeMap<String, String>) -> Vec<u8> {
        let position = Position {
            config: self.config.clone(),
            optimizer_step: self.optimizer.step,
            epoch: self.epoch,
            batches_done: self.batches_done,
            epoch_rng: self.epoch_rng.clone(),
            iteration: self.iteration,
            samples: self.samples,
            train_seconds: self.train_seconds,
            history: self.history.clone(),
        };
        let mut meta = extra.clone();
        meta.insert(KEY.to_string(), serde_json::to_string(&position).expect("serializable"));
        let mut tensors: Vec<(String, &[f32])> = Vec::new();
        for (i, m) in self.optimizer.first.iter().enumerate() {
            tensors.push((format!("optimizer.first.{i}"), m));
        }
        for (i, v) in self.optimizer.second.iter().enumerate() {
            tensors.push((format!("optimizer.second.{i}"), v));
        }
        model_to_bytes_with(&self.model, &meta, &tensors)
    }

    /// Writes the checkpoint to `path` atomically. Refuses to write parameters that are not
    /// finite, so a diverging run never replaces a good checkpoint with a broken one.
    pub fn save(&self, path: &Path, extra: &BTreeMap<String, String>) -> Result<()> {
        let finite = self.model.layers.iter().all(|l| l.weight.data.iter().chain(&l.bias).all(|v| v.is_finite()));
        if !finite {
            return Err(Error::Diverged { iteration: self.iteration, why: "a parameter is NaN or infinite".into() });
        }
        crate::atomic_file::write_atomic(path, &self.to_bytes(extra))
    }

    /// Parses checkpoint bytes; also returns the file's metadata.
    pub fn from_bytes(bytes: &[u8]) -> Result<(Checkpoint, BTreeMap<String, String>)> {
        let metadata = read_metadata(bytes)?;
        let json = metadata.get(KEY).ok_or("not an ffnn checkpoint (no ffnn.checkpoint metadata)")?;
        let p: Position = serde_json::from_str(json).map_err(|e| format!("corrupt checkpoint metadata ({e})"))?;
        let model = model_from_bytes(bytes)?;
        let st = SafeTensors::deserialize(bytes).map_err(|e| format!("not a safetensors file ({e})"))?;
        let mut optimizer = OptimizerState::new(p.config.optimizer, p.config.learning_rate, &model);
        optimizer.step = p.optimizer_step;
        optimizer.weight_decay = p.config.weight_decay;
        for (i, m) in optimizer.first.iter_mut().enumerate() {
            *m = read_tensor(&st, &format!("optimizer.first.{i}"), &[m.len()])?;
        }
        for (i, v) in optimizer.second.iter_mut().enumerate() {
            *v = read_tensor(&st, &format!("optimizer.second.{i}"), &[v.len()])?;
        }
        let checkpoint = Checkpoint {
            config: p.config,
            model,
            optimizer,
            epoch: p.epoch,
            batches_done: p.batches_done,
            epoch_rng: p.epoch_rng,
            iteration: p.iteration,
            samples: p.samples,
            train_seconds: p.train_seconds,
            history: p.history,
        };
        Ok((checkpoint, metadata.into_iter().collect()))
    }

    /// Loads a checkpoint file and its metadata.
    pub fn load(path: &Path) -> Result<(Checkpoint, BTreeMap<String, String>)> {
        let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
        Checkpoint::from_bytes(&bytes).map_err(|e| e.in_file(path))
    }

    /// Checks that the run can continue on `train`: same input size and classes.
    pub fn check_compatible(&self, train: &dyn Samples) -> Result<()> {
        if train.features() != self.model.inputs() || train.classes() != self.model.classes() {
            let shape = match train.image_shape() {
                Some((height, width)) => format!("{width}×{height} images"),
                None => format!("{} features", train.features()),
            };
            return Err(Error::invalid(format!(
                "the checkpoint's model takes {} inputs and {} classes, the data has {shape} and {} classes",
                self.model.inputs(),
                self.model.classes(),
                train.classes()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;
    use crate::optim::Optimizer;
    use crate::train::{Length, TrainConfig, TrainControl, train_model_with};

    #[test]
    fn round_trip_keeps_every_bit() {
        let data = Dataset {
            images: (0..40 * 9).map(|i| (i * 37 % 256) as u8).collect(),
            labels: (0..40).map(|i| (i % 3) as u8).collect(),
            height: 3,
            width: 3,
        };
        let config = TrainConfig {
            hidden: vec![5],
            optimizer: Optimizer::adam(),
            learning_rate: 0.01,
            batch_size: 8,
            length: Length::Iterations(7),
            eval_every: 2,
            ..TrainConfig::default()
        };
        let mut saved = None;
        let mut save = |c: &Checkpoint| {
            saved = Some(c.clone());
            Ok(())
        };
        let stop = std::sync::atomic::AtomicBool::new(true); // stop after the first step
        let control = TrainControl { stop: Some(&stop), on_checkpoint: Some(&mut save), ..Default::default() };
        let result = train_model_with(&data, Some(&data), &config, control, &mut |_| {}).unwrap();
        assert!(result.interrupted);
        let checkpoint = saved.unwrap();
        assert_eq!((checkpoint.iteration, checkpoint.batches_done, checkpoint.optimizer.step), (1, 1, 1));
        let mut extra = BTreeMap::new();
        extra.insert("ffnn.data".to_string(), "somewhere".to_string());
        let (back, meta) = Checkpoint::from_bytes(&checkpoint.to_bytes(&extra)).unwrap();
        assert_eq!(back, checkpoint);
        assert_eq!(meta["ffnn.data"], "somewhere");
        assert!(
            Checkpoint::from_bytes(&crate::nn::model_file::model_to_bytes(&checkpoint.model, &BTreeMap::new()))
                .unwrap_err()
                .to_string()
                .starts_with("not an ffnn checkpoint")
        );
    }
}
