//! The seed assignment's flow, written with ffnn's functions of the same names: load MNIST,
//! `initialize_parameters`, then for every epoch `random_mini_batches` and for every batch
//! `model_forward` → `compute_loss` → `model_backward` → `update_parameters`; evaluate on the
//! test set, save the model.
//!
//! ```sh
//! cargo run --release -p ffnn --example train_mnist -- ../shared/data/mnist 5
//! ```
//! (the data folder, then the number of epochs; `train_model` does the same with schedules,
//! checkpoints and everything else).

use ffnn::data::{load_dataset, random_mini_batches};
use ffnn::nn::model_file::save_model;
use ffnn::nn::{Activation, Gradients, Init, Model, ModelState, compute_loss, model_backward, model_forward};
use ffnn::optim::{Optimizer, OptimizerState, update_parameters};
use ffnn::tensor::Matrix;
use ffnn::train::evaluate;
use rand::SeedableRng;

fn main() -> Result<(), ffnn::Error> {
    let mut args = std::env::args().skip(1);
    let data_dir = args.next().unwrap_or_else(|| "../shared/data/mnist".into());
    let epochs: usize = args.next().and_then(|e| e.parse().ok()).unwrap_or(5);
    let data = load_dataset(data_dir.as_ref())?;
    println!("{} training and {} test images of {}×{}", data.train.len(), data.test.len(), data.train.width, data.train.height);

    // initialize_parameters: 784-256-128-10, ReLU, He's N(0, 2/fan_in).
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut model = Model::new(&[data.train.pixels(), 256, 128, data.classes()], Activation::Relu, Init::He, &mut rng);
    let mut optimizer = OptimizerState::new(Optimizer::adam(), 1e-3, &model);
    let mut grads = Gradients::for_model(&model);
    let (mut x, mut y, mut state) = (Matrix::default(), Vec::new(), ModelState::default());

    for epoch in 1..=epochs {
        let mut cost = 0.0;
        let batches = random_mini_batches(data.train.len(), 128, &mut rng);
        for batch in batches.iter() {
            data.train.gather(batch, &mut x, &mut y); // X: 128 × 784 in [0, 1], y: labels
            let logits = model_forward(&model, &x, &mut state); // Z = X·W + b, A = relu(Z), …
            cost += compute_loss(logits, &y); // J = mean cross-entropy of softmax(Z_L)
            model_backward(&model, &x, &state, &y, &mut grads); // dZ_L = (P − Y)/n, dW = Aᵀ·dZ, …
            update_parameters(&mut model, &grads, &mut optimizer); // Adam
        }
        let test = evaluate(&model, &data.test);
        println!("epoch {epoch}: mean cost {:.4}, test accuracy {:.2}%", cost / batches.len() as f32, test.accuracy * 100.0);
    }
    let path = std::env::temp_dir().join("ffnn-example-model.safetensors");
    save_model(&model, &path, &Default::default())?;
    println!("saved {}", path.display());
    Ok(())
}
