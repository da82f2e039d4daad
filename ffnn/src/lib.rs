//! # ffnn: a feed-forward neural network, from scratch
//!
//! A multi-layer perceptron for image classification (MNIST first), with every forward pass,
//! backward pass and optimizer step written out here, vectorized over the mini-batch:
//! rows are samples, `Z = X·W + b`, `f32` throughout.
//!
//! Where things live:
//!
//! | module | what |
//! |---|---|
//! | [`tensor`] | `Matrix`, the row-major batch matrix |
//! | [`gemm`] | matrix products (the fast kernel and the reference it is tested against) |
//! | [`sparse`] | the first layer's products on mostly-zero input images |
//! | [`parallel`] | the threads (`--threads`) and how work is split between them |
//! | [`nn`] | layers, activations, softmax + cross-entropy, the model, model files |
//! | [`optim`] | `update_parameters`: SGD, momentum, Adam |
//! | [`data`] | IDX and PNG-tree datasets, `random_mini_batches`, augmentation |
//! | [`train`] | `train_model`, evaluation, schedules, presets, checkpoints, history, the run folder |
//! | [`error`] | the one error type: a line for the user, the cause kept |
//! | [`atomic_file`] | files written whole or not at all |
//!
//! This crate is the library alone: its dependencies are the numeric and file-format crates it
//! needs (no web server, no HTTP client, no command-line parser, no plotting). The `ffnn`
//! command (plots, the HTML report, the web page, the benchmark, downloads) is the
//! `ffnn-cli` crate at the repository's root, built on this one.
//!
//! The functions of the course assignment this project grew from keep their names:
//! `initialize_parameters`, `sigmoid`, `relu`, `linear_forward`, `activation_forward`,
//! `model_forward`, `softmax`, `compute_loss`, `linear_backward`, `sigmoid_backward`,
//! `relu_backward`, `activation_backward`, `model_backward`, `update_parameters`, `predict`,
//! `random_mini_batches`, `train_model`.
//!
//! ## Example
//!
//! Train a small network on a toy dataset (two classes: dark and bright 2×2 images):
//!
//! ```
//! use ffnn::data::Dataset;
//! use ffnn::optim::Optimizer;
//! use ffnn::train::{Length, TrainConfig, evaluate, train_model};
//!
//! let data = Dataset {
//!     images: vec![10, 20, 0, 5, 250, 240, 255, 230, 0, 30, 15, 10, 200, 255, 245, 250],
//!     labels: vec![0, 1, 0, 1],
//!     height: 2,
//!     width: 2,
//! };
//! let config = TrainConfig {
//!     hidden: vec![8],
//!     optimizer: Optimizer::adam(),
//!     learning_rate: 0.05,
//!     batch_size: 2,
//!     length: Length::Epochs(100),
//!     init: ffnn::nn::Init::He,
//!     ..TrainConfig::default()
//! };
//! let run = train_model(&data, Some(&data), &config, &mut |_| {}).unwrap();
//! assert_eq!(evaluate(&run.model, &data).accuracy, 1.0);
//! println!("{}: {} parameters", run.model.describe(), run.model.parameter_count());
//! ```

#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

pub mod alloc;
pub mod atomic_file;
pub mod data;
pub mod error;
pub mod gemm;
pub mod nn;
pub mod optim;
pub mod parallel;
pub mod sparse;
pub mod tensor;
pub mod train;

pub use error::{Error, Result};
