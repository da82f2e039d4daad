//! Hidden-layer activations `A = h(Z)`, applied element-wise to the whole batch matrix,
//! and their backward passes `dZ = dA ⊙ h'(Z)`.
//!
//! Both derivatives can be written with the *output* `A` instead of the input `Z`:
//! `σ'(z) = σ(z)(1 − σ(z)) = a(1 − a)` and `relu'(z) = 1[z > 0] = 1[a > 0]`.
//! So the forward pass only keeps `A` (not `Z` as well), which halves the memory the
//! backward pass needs, and the activation is applied in place over `Z`.

use crate::tensor::Matrix;
use serde::{Deserialize, Serialize};

/// The non-linearity between layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `h(z) = max(0, z)` (seed eq. 3b)
    Relu,
    /// `h(z) = 1 / (1 + e^(−z))` (seed eq. 3a)
    Sigmoid,
}

impl Activation {
    /// The lowercase name used on the command line and in model files.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
        }
    }

    /// Parses `relu` or `sigmoid`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "relu" => Some(Activation::Relu),
            "sigmoid" => Some(Activation::Sigmoid),
            _ => None,
        }
    }
}

/// `σ(z) = 1 / (1 + e^(−z))`. For very negative `z`, `e^(−z)` overflows to ∞ and the
/// result is exactly 0, which is the correct limit, so no special case is needed.
#[inline]
pub fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// `relu(z) = max(0, z)`.
#[inline]
pub fn relu(z: f32) -> f32 {
    z.max(0.0)
}

/// `A = h(Z)` in place: on entry the matrix holds `Z`, on return `A`.
pub fn activation_forward(z: &mut Matrix, activation: Activation) {
    match activation {
        Activation::Relu => crate::parallel::for_each_mut(&mut z.data, &|z| z.iter_mut().for_each(|v| *v = relu(*v))),
        Activation::Sigmoid => crate::parallel::for_each_mut(&mut z.data, &|z| z.iter_mut().for_each(|v| *v = sigmoid(*v))),
    }
}

/// `dZ = dA ⊙ σ(Z)(1 − σ(Z)) = dA ⊙ A(1 − A)`, in place: `d` holds `dA` on entry, `dZ` on return.
pub fn sigmoid_backward(d: &mut Matrix, a: &Matrix) {
    crate::parallel::for_each_zip_mut(&mut d.data, &a.data, &|d, a| {
        for (g, &a) in d.iter_mut().zip(a) {
            *g *= a * (1.0 - a);
        }
    });
}

/// `dZ = dA ⊙ 1[Z > 0] = dA ⊙ 1[A > 0]`, in place: `d` holds `dA` on entry, `dZ` on return.
/// (At `z = 0` the derivative is taken as 0, as PyTorch does.)
pub fn relu_backward(d: &mut Matrix, a: &Matrix) {
    crate::parallel::for_each_zip_mut(&mut d.data, &a.data, &|d, a| {
        for (g, &a) in d.iter_mut().zip(a) {
            // A select rather than a branch: the compiler turns it into a SIMD blend.
            *g = if a > 0.0 { *g } else { 0.0 };
        }
    });
}

/// `dZ = dA ⊙ h'(Z)` for the given activation, in place (see [`sigmoid_backward`], [`relu_backward`]).
pub fn activation_backward(d: &mut Matrix, a: &Matrix, activation: Activation) {
    match activation {
        Activation::Relu => relu_backward(d, a),
        Activation::Sigmoid => sigmoid_backward(d, a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert!((sigmoid(2.0) - 0.880_797).abs() < 1e-6);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(relu(-3.0), 0.0);
        assert_eq!(relu(2.5), 2.5);
    }

    #[test]
    fn backward_matches_the_derivative_of_forward() {
        for act in [Activation::Relu, Activation::Sigmoid] {
            for &z in &[-2.0f32, -0.3, 0.4, 1.7] {
                let mut a = Matrix::from_vec(1, 1, vec![z]);
                activation_forward(&mut a, act);
                let mut d = Matrix::from_vec(1, 1, vec![1.0]);
                activation_backward(&mut d, &a, act);
                let h = 1e-3f64;
                let f = |x: f64| match act {
                    Activation::Relu => x.max(0.0),
                    Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
                };
                let numeric = (f(z as f64 + h) - f(z as f64 - h)) / (2.0 * h);
                assert!((d.data[0] as f64 - numeric).abs() < 1e-4, "{act:?} at {z}");
            }
        }
    }
}
