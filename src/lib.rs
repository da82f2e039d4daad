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
//! | [`data`] | IDX and PNG-tree datasets, `random_mini_batches`, download |
//! | [`train`] | `train_model`, its history, evaluation |
//! | [`plot`] | training curves, first-layer weight images, sample grids |
//! | [`report`] | the self-contained `report.html` of a run |
//! | [`serve`] | `ffnn serve`: the drawing page and its JSON API |
//! | [`bench`](mod@bench) | `ffnn bench`: GEMM peak, training and inference speed |
//! | [`cli`] | the `ffnn` command |
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

pub mod atomic_file;
pub mod bench;
pub mod cli;
pub mod data;
pub mod error;
pub mod gemm;
pub mod nn;
pub mod optim;
pub mod parallel;
pub mod plot;
pub mod report;
pub mod serve;
pub mod sparse;
pub mod tensor;
pub mod train;

pub use error::{Error, Result};
