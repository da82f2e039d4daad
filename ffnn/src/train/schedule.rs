//! Learning-rate schedules: the step size `α_t` at iteration `t` of `T`, from the base rate `α`.
//!
//! | schedule | `α_t` |
//! |---|---|
//! | constant | `α` |
//! | step | `α·γ^⌊epoch / k⌋`: divided by `1/γ` every `k` epochs |
//! | cosine | linear warm-up from 0 over the first `w` iterations (a fraction of the run), then `α·½(1 + cos(π·(t − w)/(T − w)))` |
//! | one-cycle | warm-up from `α/25` to `α` over the first fraction `f` of the run, then cosine down to `α/25·10⁻⁴` (Smith 2018; PyTorch's `OneCycleLR` defaults) |
//! | restarts | `c` cosine cycles (each warm-up + cosine), each `m` times as long as the one before: `T₀, mT₀, m²T₀, …` with `T₀ = T/(1 + m + … + mᶜ⁻¹)` (SGDR, Loshchilov & Hutter 2017). The end of each cycle is a converged model; the next, longer cycle improves on it |

use serde::{Deserialize, Serialize};
use std::f32::consts::PI;

/// How the learning rate changes over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Schedule {
    #[default]
    /// The same rate throughout.
    Constant,
    /// Multiply by `gamma` every `every_epochs` epochs.
    Step {
        /// Epochs between drops.
        every_epochs: usize,
        /// The factor of each drop.
        gamma: f32,
    },
    /// Cosine decay to 0 after a linear warm-up over the first `warmup_fraction` of the run.
    Cosine {
        /// The fraction of the run spent warming up linearly from 0.
        warmup_fraction: f32,
    },
    /// One-cycle: warm up over the first `warmup_fraction` of the run, then cosine decay.
    OneCycle {
        /// The fraction of the run spent warming up (from α/25).
        warmup_fraction: f32,
    },
    /// Cosine with warm restarts: `cycles` cosine cycles, each `multiplier` times as long as
    /// the one before, each warming up over its first `warmup_fraction`.
    Restarts {
        /// How many cosine cycles.
        cycles: u32,
        /// How much longer each cycle is than the one before.
        multiplier: f32,
        /// The fraction of each cycle spent warming up.
        warmup_fraction: f32,
    },
}

impl Schedule {
    /// The learning rate for iteration `t` (0-based) of `total`, `per_epoch` iterations per epoch.
    pub fn learning_rate(&self, base: f32, t: usize, total: usize, per_epoch: usize) -> f32 {
        let cosine = |progress: f32| 0.5 * (1.0 + (PI * progress.clamp(0.0, 1.0)).cos());
        match *self {
            Schedule::Constant => base,
            Schedule::Step { every_epochs, gamma } => {
                let epoch = t / per_epoch.max(1);
                base * gamma.powi((epoch / every_epochs.max(1)) as i32)
            }
            Schedule::Cosine { warmup_fraction } => {
                let warmup = (total as f32 * warmup_fraction) as usize;
                if t < warmup {
                    base * (t + 1) as f32 / warmup as f32
                } else {
                    base * cosine((t - warmup) as f32 / (total.saturating_sub(warmup)).max(1) as f32)
                }
            }
            Schedule::Restarts { cycles, multiplier, warmup_fraction } => {
                // Cycle c is T₀·mᶜ long; the cycle holding t runs over [start, end), the last
                // one to the end of the run.
                let (cycles, m) = (cycles.clamp(1, 16) as i32, multiplier.max(1e-3) as f64);
                let first = total as f64 / (0..cycles).map(|c| m.powi(c)).sum::<f64>();
                let (mut start, mut end, mut boundary) = (0, total, 0.0);
                for c in 0..cycles - 1 {
                    boundary += first * m.powi(c);
                    let restart = (boundary.round() as usize).min(total);
                    if t < restart {
                        end = restart;
                        break;
                    }
                    start = restart;
                }
                Schedule::Cosine { warmup_fraction }.learning_rate(base, t - start, end - start, per_epoch)
            }
            Schedule::OneCycle { warmup_fraction } => {
                let (start, end) = (base / 25.0, base / 25.0 / 1e4);
                let warm = ((total as f32 * warmup_fraction) as usize).max(1);
                if t < warm {
                    start + (base - start) * (1.0 - cosine(t as f32 / warm as f32))
                } else {
                    end + (base - end) * cosine((t - warm) as f32 / (total.saturating_sub(warm)).max(1) as f32)
                }
            }
        }
    }

    /// A short name for messages and reports.
    pub fn describe(&self) -> String {
        match self {
            Schedule::Constant => "constant".into(),
            Schedule::Step { every_epochs, gamma } => format!("step (×{gamma} every {every_epochs} epochs)"),
            Schedule::Cosine { warmup_fraction } => format!("cosine ({:.0}% warm-up)", warmup_fraction * 100.0),
            Schedule::OneCycle { warmup_fraction } => format!("one-cycle ({:.0}% warm-up)", warmup_fraction * 100.0),
            Schedule::Restarts { cycles, multiplier, warmup_fraction } => {
                format!(
                    "cosine with {cycles} restarts, each cycle ×{multiplier} the last ({:.0}% warm-up each)",
                    warmup_fraction * 100.0
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(Schedule::Constant.learning_rate(0.1, 500, 1000, 100), 0.1);
        let step = Schedule::Step { every_epochs: 2, gamma: 0.1 };
        assert_eq!(step.learning_rate(1.0, 199, 1000, 100), 1.0);
        assert!((step.learning_rate(1.0, 200, 1000, 100) - 0.1).abs() < 1e-7);
        assert!((step.learning_rate(1.0, 450, 1000, 100) - 0.01).abs() < 1e-8);
        let cos = Schedule::Cosine { warmup_fraction: 10.0 / 110.0 };
        assert!((cos.learning_rate(1.0, 4, 110, 10) - 0.5).abs() < 1e-6);
        assert!((cos.learning_rate(1.0, 10, 110, 10) - 1.0).abs() < 1e-6);
        assert!((cos.learning_rate(1.0, 60, 110, 10) - 0.5).abs() < 1e-6);
        assert!(cos.learning_rate(1.0, 109, 110, 10) < 1e-3);
        let one = Schedule::OneCycle { warmup_fraction: 0.3 };
        assert!((one.learning_rate(1.0, 0, 1000, 10) - 0.04).abs() < 1e-4);
        assert!((one.learning_rate(1.0, 300, 1000, 10) - 1.0).abs() < 1e-6);
        assert!(one.learning_rate(1.0, 999, 1000, 10) < 1e-4);
        // Two cycles of 100 and 200 iterations, no warm-up: α at 0 and again at 100 (the
        // restart), α/2 half-way through each, near 0 at the end of each.
        let restarts = Schedule::Restarts { cycles: 2, multiplier: 2.0, warmup_fraction: 0.0 };
        assert_eq!(restarts.learning_rate(1.0, 0, 300, 10), 1.0);
        assert!((restarts.learning_rate(1.0, 50, 300, 10) - 0.5).abs() < 1e-6);
        assert!(restarts.learning_rate(1.0, 99, 300, 10) < 1e-3);
        assert_eq!(restarts.learning_rate(1.0, 100, 300, 10), 1.0);
        assert!((restarts.learning_rate(1.0, 200, 300, 10) - 0.5).abs() < 1e-6);
        assert!(restarts.learning_rate(1.0, 299, 300, 10) < 1e-3);
        // With warm-up, each cycle starts low again.
        let warm = Schedule::Restarts { cycles: 2, multiplier: 2.0, warmup_fraction: 0.1 };
        assert!((warm.learning_rate(1.0, 4, 300, 10) - 0.5).abs() < 1e-6);
        assert!((warm.learning_rate(1.0, 109, 300, 10) - 0.5).abs() < 1e-6);
        // Cycles of 20 and 50 (×2.5) of 70: the restart at 20.
        let long = Schedule::Restarts { cycles: 2, multiplier: 2.5, warmup_fraction: 0.0 };
        assert!(long.learning_rate(1.0, 19, 70, 1) < 0.01);
        assert_eq!(long.learning_rate(1.0, 20, 70, 1), 1.0);
        assert!((long.learning_rate(1.0, 45, 70, 1) - 0.5).abs() < 1e-6);
        assert!(
            (Schedule::Restarts { cycles: 1, multiplier: 2.0, warmup_fraction: 0.0 }.learning_rate(1.0, 150, 300, 10) - 0.5)
                .abs()
                < 1e-6
        );
    }
}
