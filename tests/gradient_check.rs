//! `model_backward` against central finite differences, `dJ/dθ ≈ (J(θ + h) − J(θ − h)) / 2h`,
//! for every weight and bias of sigmoid and ReLU networks of 1 to 3 layers, on dense inputs
//! and on mostly-zero ones (which take the sparse first-layer path, `ffnn::sparse`).

use ffnn::data::PIXEL_SCALE;
use ffnn::nn::{Activation, Gradients, Init, Model, ModelState, TrainingMode, compute_loss, model_backward, model_forward};
use ffnn::tensor::Matrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn loss(model: &Model, x: &Matrix, y: &[u8]) -> f64 {
    let mut state = ModelState::default();
    compute_loss(model_forward(model, x, &mut state), y) as f64
}

/// Checks every parameter of a network with layer sizes `sizes`; returns the largest error.
fn check(sizes: &[usize], activation: Activation, seed: u64) -> f64 {
    check_inputs(sizes, activation, seed, 0.0)
}

/// [`check`] with about `zeros` of the input pixels set to 0.
fn check_inputs(sizes: &[usize], activation: Activation, seed: u64, zeros: f64) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Weights large enough that the gradients are far from zero and ReLUs are mixed.
    let mut model = Model::new(sizes, activation, Init::Normal { std: 0.6 }, &mut rng);
    for l in &mut model.layers {
        l.bias.iter_mut().for_each(|b| *b = rng.random_range(-0.3..0.3));
    }
    let n = 7;
    let classes = *sizes.last().unwrap();
    // Pixels as a dataset holds them (bytes k, standing for k/255), listed straight from the
    // bytes as the training loop lists them: the way a narrow first layer takes the sparse path.
    let bytes: Vec<u8> = (0..n * sizes[0]).map(|_| if rng.random_bool(zeros) { 0 } else { rng.random_range(1..=255) }).collect();
    let x = Matrix::from_vec(n, sizes[0], bytes.iter().map(|&b| b as f32 * PIXEL_SCALE).collect());
    let y: Vec<u8> = (0..n).map(|i| (i % classes) as u8).collect();

    let mut state = ModelState::default();
    let row = |i: usize| &bytes[i * sizes[0]..(i + 1) * sizes[0]];
    state.sparse_input.list_bytes(n, sizes[0], &row, PIXEL_SCALE, sizes[1]);
    model_forward(&model, &x, &mut state);
    let sparse = zeros >= 0.7;
    assert_eq!(state.sparse_input.in_use, sparse, "sparse first layer for {sizes:?} with {zeros} zeros");
    let mut grads = Gradients::for_model(&model);
    let j = model_backward(&model, &x, &state, &y, &mut grads);
    assert!((j as f64 - loss(&model, &x, &y)).abs() < 1e-6, "backward reports the forward loss");
    let (worst, at) = worst_error(&mut model, &x, &y, &grads);
    assert!(worst < TOLERANCE, "{sizes:?} {activation:?}: {at}");
    worst
}

/// The largest relative difference `|numeric − analytic| / (1 + |analytic|)` allowed.
const TOLERANCE: f64 = 2e-3;

/// Parameter `p` of layer `l`, counting the weights first, then the biases.
fn parameter(model: &mut Model, l: usize, p: usize) -> &mut f32 {
    let layer = &mut model.layers[l];
    let weights = layer.weight.data.len();
    if p < weights { &mut layer.weight.data[p] } else { &mut layer.bias[p - weights] }
}

/// The checker: every parameter's analytic gradient in `grads` against the central difference
/// `(J(θ + h) − J(θ − h)) / 2h` of the plain loss; returns the largest relative error and where.
fn worst_error(model: &mut Model, x: &Matrix, y: &[u8], grads: &Gradients) -> (f64, String) {
    // Small enough that no ReLU input crosses 0 between θ − h and θ + h (with 1e-2 one does,
    // and the difference quotient straddles the kink); large enough for f32 round-off.
    let h = 1e-3f32;
    let mut worst = (0.0f64, String::new());
    for l in 0..model.layers.len() {
        let params = model.layers[l].weight.data.len() + model.layers[l].bias.len();
        for p in 0..params {
            let original = *parameter(model, l, p);
            *parameter(model, l, p) = original + h;
            let plus = loss(model, x, y);
            *parameter(model, l, p) = original - h;
            let minus = loss(model, x, y);
            *parameter(model, l, p) = original;
            let numeric = (plus - minus) / (2.0 * h as f64);
            let g = &grads.layers[l];
            let weights = g.weight.data.len();
            let analytic = if p < weights { g.weight.data[p] } else { g.bias[p - weights] } as f64;
            let err = (numeric - analytic).abs() / (1.0 + analytic.abs());
            if err > worst.0 {
                worst = (err, format!("layer {l} parameter {p}: analytic {analytic}, numeric {numeric}"));
            }
        }
    }
    worst
}

/// The gradient of parameter `p` of layer `l` (see [`parameter`]).
fn parameter_of(grads: &mut Gradients, l: usize, p: usize) -> &mut f32 {
    let layer = &mut grads.layers[l];
    let weights = layer.weight.data.len();
    if p < weights { &mut layer.weight.data[p] } else { &mut layer.bias[p - weights] }
}

#[test]
fn one_layer_softmax_regression() {
    for act in [Activation::Sigmoid, Activation::Relu] {
        check(&[6, 4], act, 1);
    }
}

#[test]
fn two_layers_sigmoid_and_relu() {
    check(&[6, 5, 3], Activation::Sigmoid, 2);
    check(&[6, 5, 3], Activation::Relu, 3);
}

#[test]
fn sparse_inputs_take_the_sparse_path_with_the_same_gradients() {
    // 17 and 83 outputs: the kernel's 64-, 16- and 1-column blocks (and Xᵀ for dW₁).
    check_inputs(&[30, 17, 4], Activation::Relu, 6, 0.8);
    check_inputs(&[12, 83, 3], Activation::Sigmoid, 7, 0.8);
    check_inputs(&[40, 20], Activation::Relu, 8, 0.9);
    // Narrower than 16 units: dW₁ scattered from X without Xᵀ (softmax regression's shape too).
    check_inputs(&[30, 10], Activation::Relu, 9, 0.8);
    check_inputs(&[30, 3, 4], Activation::Sigmoid, 11, 0.8);
    // Too dense for the sparse path: the dense one, same answers.
    check_inputs(&[30, 17, 4], Activation::Relu, 10, 0.3);
}

#[test]
fn three_layers_sigmoid_and_relu() {
    check(&[8, 6, 5, 4], Activation::Sigmoid, 4);
    check(&[8, 6, 5, 4], Activation::Relu, 5);
}

/// The training-time loss (with dropout masks and label smoothing) as `model_backward` sees it.
fn training_loss(model: &Model, x: &Matrix, y: &[u8], mode: TrainingMode) -> f64 {
    let mut state = ModelState { training: Some(mode), ..Default::default() };
    model_forward(model, x, &mut state);
    let mut grads = Gradients::for_model(model);
    model_backward(model, x, &state, y, &mut grads) as f64
}

#[test]
fn dropout_label_smoothing_and_l2() {
    for act in [Activation::Relu, Activation::Sigmoid] {
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let mut model = Model::new(&[6, 8, 7, 3], act, Init::Normal { std: 0.6 }, &mut rng);
        let x = Matrix::from_vec(5, 6, (0..30).map(|_| rng.random_range(0.0..1.0)).collect());
        let y = [0u8, 1, 2, 1, 0];
        // The same seed draws the same masks, so J(θ) is a fixed function of θ.
        let mode = TrainingMode { dropout: 0.4, label_smoothing: 0.1, l2: 0.05, seed: 99 };
        // The L2 penalty is in the cost: λ/2·Σ‖W‖² more than without it.
        let squares: f64 = model.layers.iter().flat_map(|l| &l.weight.data).map(|&w| (w as f64).powi(2)).sum();
        let without = training_loss(&model, &x, &y, TrainingMode { l2: 0.0, ..mode });
        let penalty = training_loss(&model, &x, &y, mode) - without;
        assert!((penalty - 0.025 * squares).abs() < 1e-4 * squares, "penalty {penalty} vs {}", 0.025 * squares);
        let mut state = ModelState { training: Some(mode), ..Default::default() };
        model_forward(&model, &x, &mut state);
        assert!(state.masks[0].data.contains(&0.0), "some units are dropped");
        let mut grads = Gradients::for_model(&model);
        model_backward(&model, &x, &state, &y, &mut grads);
        let h = 1e-3;
        for l in 0..3 {
            for p in 0..model.layers[l].weight.data.len() {
                let original = model.layers[l].weight.data[p];
                model.layers[l].weight.data[p] = original + h;
                let plus = training_loss(&model, &x, &y, mode);
                model.layers[l].weight.data[p] = original - h;
                let minus = training_loss(&model, &x, &y, mode);
                model.layers[l].weight.data[p] = original;
                let numeric = (plus - minus) / (2.0 * h as f64);
                let analytic = grads.layers[l].weight.data[p] as f64;
                assert!(
                    (numeric - analytic).abs() / (1.0 + analytic.abs()) < 2e-3,
                    "{act:?} layer {l} weight {p}: {analytic} vs {numeric}"
                );
            }
        }
    }
}

/// A change made to one gradient entry.
type Corruption = Box<dyn Fn(&mut f32)>;

#[test]
fn the_checker_rejects_a_wrong_gradient() {
    // The checker must be able to fail: it passes the true gradients, and rejects them when a
    // single entry is off — doubled, of the wrong sign, or a bias gradient set to 0.
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut model = Model::new(&[4, 5, 3], Activation::Relu, Init::Normal { std: 0.6 }, &mut rng);
    let x = Matrix::from_vec(3, 4, vec![0.1, 0.9, 0.3, 0.5, 0.7, 0.2, 0.8, 0.4, 0.6, 0.6, 0.1, 0.9]);
    let y = [0u8, 2, 1];
    let mut state = ModelState::default();
    model_forward(&model, &x, &mut state);
    let mut grads = Gradients::for_model(&model);
    model_backward(&model, &x, &state, &y, &mut grads);
    let (worst, at) = worst_error(&mut model, &x, &y, &grads);
    assert!(worst < TOLERANCE, "the true gradients pass: {at}");
    // The largest weight gradient of each layer, so that the change is not lost in rounding.
    let largest = |g: &Gradients, l: usize| {
        (0..g.layers[l].weight.data.len())
            .max_by(|&a, &b| g.layers[l].weight.data[a].abs().total_cmp(&g.layers[l].weight.data[b].abs()))
            .unwrap()
    };
    let wrong: [(usize, Corruption); 3] =
        [(0, Box::new(|g| *g *= 2.0)), (1, Box::new(|g| *g = -*g)), (1, Box::new(|g| *g = 0.0))];
    for (k, (l, corrupt)) in wrong.iter().enumerate() {
        let mut bad = grads.clone();
        let p = if k == 2 { bad.layers[*l].weight.data.len() } else { largest(&bad, *l) };
        corrupt(parameter_of(&mut bad, *l, p));
        let (worst, at) = worst_error(&mut model, &x, &y, &bad);
        assert!(worst > TOLERANCE, "corruption {k} (layer {l}, parameter {p}) went unnoticed: {at}");
    }
}
