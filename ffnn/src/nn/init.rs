//! `initialize_parameters`: random weights, zero biases.
//!
//! Weights must start random: if every unit of a layer started equal, every unit would get
//! the same gradient and stay equal forever (the symmetry is never broken). The scale matters
//! too: too small and the signal (and gradient) shrinks layer by layer, too large and
//! sigmoids saturate. He scales for ReLU, Glorot for sigmoid; the seed's N(0, 0.01²) is
//! fine for one or two layers.

use crate::tensor::Matrix;
use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};
use serde::{Deserialize, Serialize};

/// How the weights of each layer are drawn (`in` = fan-in, `out` = fan-out).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Init {
    /// `W ~ N(0, σ²)`, `b = 0`: the seed's choice, with σ = 0.01.
    Normal {
        /// The standard deviation `σ`.
        std: f32,
    },
    /// `W ~ N(0, 2/in)`, `b = 0` (He et al. 2015, for ReLU).
    He,
    /// `W ~ N(0, 2/(in + out))`, `b = 0` (Glorot & Bengio 2010, for sigmoid/tanh).
    Glorot,
    /// PyTorch's `nn.Linear` default: `W, b ~ U(−1/√in, 1/√in)`.
    Torch,
}

impl Default for Init {
    fn default() -> Self {
        Init::Normal { std: 0.01 }
    }
}

/// One dense layer's parameters: `W` (in × out) and `b` (out).
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// `W`, inputs × outputs (`Z = A·W + b`).
    pub weight: Matrix,
    /// `b`, one per output.
    pub bias: Vec<f32>,
}

impl Layer {
    /// Fan-in: the number of inputs.
    pub fn inputs(&self) -> usize {
        self.weight.rows
    }

    /// Fan-out: the number of units.
    pub fn outputs(&self) -> usize {
        self.weight.cols
    }
}

/// Creates `W`, `b` for every layer of a network with layer sizes `sizes`
/// (`[784, 256, 10]`: 784 inputs, one hidden layer of 256 units, 10 classes).
/// The weights are drawn from `rng` layer by layer, row by row, so one seed gives one network.
///
/// ```
/// use rand::SeedableRng;
/// use ffnn::nn::{Init, initialize_parameters};
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// let layers = initialize_parameters(&[784, 256, 10], Init::He, &mut rng);
/// assert_eq!((layers[0].weight.rows, layers[0].weight.cols), (784, 256)); // W₁: in × out
/// assert_eq!(layers[1].bias, vec![0.0; 10]);
/// ```
pub fn initialize_parameters(sizes: &[usize], init: Init, rng: &mut impl Rng) -> Vec<Layer> {
    assert!(sizes.len() >= 2, "a network needs at least an input and an output size");
    sizes
        .windows(2)
        .map(|pair| {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let n = fan_in * fan_out;
            let (weights, bias): (Vec<f32>, Vec<f32>) = match init {
                Init::Normal { std } => (sample(&Normal::new(0.0, std).unwrap(), n, rng), vec![0.0; fan_out]),
                Init::He => {
                    let std = (2.0 / fan_in as f32).sqrt();
                    (sample(&Normal::new(0.0, std).unwrap(), n, rng), vec![0.0; fan_out])
                }
                Init::Glorot => {
                    let std = (2.0 / (fan_in + fan_out) as f32).sqrt();
                    (sample(&Normal::new(0.0, std).unwrap(), n, rng), vec![0.0; fan_out])
                }
                Init::Torch => {
                    let bound = 1.0 / (fan_in as f32).sqrt();
                    let u = Uniform::new_inclusive(-bound, bound).unwrap();
                    (sample(&u, n, rng), sample(&u, fan_out, rng))
                }
            };
            Layer { weight: Matrix::from_vec(fan_in, fan_out, weights), bias }
        })
        .collect()
}

fn sample(dist: &impl Distribution<f32>, n: usize, rng: &mut impl Rng) -> Vec<f32> {
    (0..n).map(|_| dist.sample(rng)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn shapes_and_scales() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let layers = initialize_parameters(&[784, 256, 10], Init::default(), &mut rng);
        assert_eq!((layers[0].inputs(), layers[0].outputs()), (784, 256));
        assert_eq!((layers[1].inputs(), layers[1].outputs()), (256, 10));
        assert!(layers.iter().all(|l| l.bias.iter().all(|&b| b == 0.0)));
        let w = &layers[0].weight.data;
        let mean = w.iter().sum::<f32>() / w.len() as f32;
        let std = (w.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / w.len() as f32).sqrt();
        assert!(mean.abs() < 1e-3 && (std - 0.01).abs() < 5e-4, "mean {mean} std {std}");

        let he = initialize_parameters(&[800, 100], Init::He, &mut rng);
        let w = &he[0].weight.data;
        let std = (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32).sqrt();
        assert!((std - 0.05).abs() < 2e-3, "He std {std}");

        let torch = initialize_parameters(&[100, 50], Init::Torch, &mut rng);
        assert!(torch[0].weight.data.iter().chain(&torch[0].bias).all(|v| v.abs() <= 0.1));
        assert!(torch[0].bias.iter().any(|&b| b != 0.0));
    }
}
