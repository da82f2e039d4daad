//! The training step allocates nothing of its own once its buffers are sized: counted with a
//! global allocator around the real step (`gather`, augmentation, `model_forward`,
//! `compute_loss`, `accuracy`, `model_backward`, `update_parameters`). The `gemm` crate
//! allocates its packing buffers inside each product; those are the kernel's, and the test
//! counts them apart by running the step's products alone, with the same shapes.

use ffnn::data::Dataset;
use ffnn::data::augment::{Augment, Augmenter};
use ffnn::gemm::{Op, matmul};
use ffnn::nn::{
    Activation, Gradients, Init, Model, ModelState, TrainingMode, accuracy, compute_loss, model_backward, model_forward,
};
use ffnn::optim::{Optimizer, OptimizerState, update_parameters};
use ffnn::parallel::with_threads;
use ffnn::tensor::Matrix;
use rand::SeedableRng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    /// Allocations made on this thread (the test's thread: helpers of the thread team work
    /// on buffers they are handed and allocate nothing, which the 1-thread run checks).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is passed on unchanged to the system allocator; the counter is a
// thread-local cell, which allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn the_training_step_allocates_nothing_outside_the_gemm_kernel() {
    for threads in [1, 2] {
        with_threads(threads, || {
            let data = Dataset {
                // Mostly zeros, like a digit (also once distorted): the first layer takes the sparse path.
                images: (0..512 * 784).map(|i| if i % 23 == 0 { (i * 31 % 256) as u8 } else { 0 }).collect(),
                labels: (0..512).map(|i| (i % 10) as u8).collect(),
                height: 28,
                width: 28,
            };
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
            let mut model = Model::new(&[784, 256, 128, 10], Activation::Relu, Init::He, &mut rng);
            let mut optimizer = OptimizerState::new(Optimizer::adam(), 1e-3, &model);
            optimizer.weight_decay = 0.01;
            let mut grads = Gradients::for_model(&model);
            let (mut x, mut y) = (Matrix::default(), Vec::new());
            let mut augmenter = Augmenter::default();
            let affine = Augment { elastic_alpha: 0.0, ..Augment::default() };
            let mut state = ModelState::default();
            let batch: Vec<usize> = (0..128).collect();
            let mut seen = 0.0;
            let mut step = |iteration: usize| {
                state.training = Some(TrainingMode { dropout: 0.2, label_smoothing: 0.1, l2: 0.0, seed: iteration as u64 });
                data.gather(&batch, &mut x, &mut y);
                augmenter.apply(&mut x, 28, 28, &affine, 1, iteration);
                let logits = model_forward(&model, &x, &mut state);
                seen += compute_loss(logits, &y) + accuracy(logits, &y);
                model_backward(&model, &x, &state, &y, &mut grads);
                update_parameters(&mut model, &grads, &mut optimizer);
            };
            step(0); // sizes every buffer
            let used = allocations(|| (1..=10).for_each(&mut step));
            assert!(seen.is_finite());
            assert!(state.sparse_input.in_use, "the first layer took the sparse path");
            // The step's dense products alone, in the step's order (the kernel keeps a buffer
            // that grows with the largest product so far): forward `Z = A·W` of layers 2 and 3,
            // then backward `dW = Aᵀ·dZ` and `dA = dZ·Wᵀ` of layers 3 and 2 (the first layer's
            // products are sparse, and ffnn's own).
            let shapes = [(256, 128), (128, 10)];
            let mut operands: Vec<_> = shapes
                .iter()
                .map(|&(i, o)| {
                    (
                        Matrix::zeros(128, i),
                        Matrix::zeros(i, o),
                        Matrix::zeros(128, o),
                        Matrix::zeros(i, o),
                        Matrix::zeros(128, i),
                    )
                })
                .collect();
            let mut outputs: Vec<Matrix> = shapes.iter().map(|&(_, o)| Matrix::zeros(128, o)).collect();
            let mut products = || {
                for ((a, w, ..), z) in operands.iter().zip(&mut outputs) {
                    matmul(a, Op::N, w, Op::N, z, true);
                }
                for (a, w, dz, dw, da) in &mut operands.iter_mut().rev() {
                    matmul(a, Op::T, dz, Op::N, dw, false);
                    matmul(dz, Op::N, w, Op::T, da, false);
                }
            };
            products();
            let kernel = allocations(|| (1..=10).for_each(|_| products()));
            assert_eq!(used, kernel, "{used} allocations in 10 steps on {threads} thread(s), {kernel} of them the GEMM kernel's");
        });
    }
}
