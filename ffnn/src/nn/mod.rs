//! The network itself: layers, activations, loss, and the model that strings them together.
//!
//! | file | seed functions |
//! |---|---|
//! | `init.rs` | `initialize_parameters` |
//! | `linear.rs` | `linear_forward`, `linear_backward` |
//! | `activation.rs` | `sigmoid`, `relu`, `activation_forward`, `sigmoid_backward`, `relu_backward`, `activation_backward` |
//! | `loss.rs` | `softmax`, `compute_loss` |
//! | `model.rs` | `model_forward`, `model_backward`, `predict` |
//! | `model_file.rs` | saving and loading (safetensors, PyTorch layout) |

pub mod activation;
pub mod init;
pub mod linear;
pub mod loss;
pub mod model;
pub mod model_file;
pub mod onnx;

pub use activation::{Activation, activation_backward, activation_forward, relu, relu_backward, sigmoid, sigmoid_backward};
pub use init::{Init, Layer, initialize_parameters};
pub use linear::{Listing, SparseInput, input_linear_backward, input_linear_forward, linear_backward, linear_forward};
pub use loss::{compute_loss, softmax, softmax_and_loss, softmax_cross_entropy_backward};
pub use model::{
    Gradients, Model, ModelState, PREDICT_BLOCK, TrainingMode, accuracy, correct, dropout_forward, model_backward, model_forward,
    predict, predict_in_blocks,
};
