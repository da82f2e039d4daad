//! Pictures of a run: the training curves of the seed's Exercise 1.3 and the first-layer
//! weight images. Everything is rendered in memory and written atomically; the font is
//! bundled (DejaVu Sans), so no system fonts are needed.

pub mod curves;
pub mod samples;
pub mod weights;

pub use curves::{plot_history, render_curve};
pub use samples::{write_augmented_preview, write_sample_grid};
pub use weights::{weight_image, write_weight_image};
