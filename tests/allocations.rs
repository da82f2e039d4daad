//! The training step allocates nothing of its own once its buffers are sized: counted with a
//! global allocator. (The `gemm` crate allocates its packing buffers inside each product; those
//! are the kernel's and are left out.)

use ffnn::data::Dataset;
use ffnn::data::augment::{Augment, Augmenter};
use ffnn::nn::{
    Activation, Gradients, Init, Model, activation_forward, dropout_forward, relu_backward, softmax_cross_entropy_backward,
};
use ffnn::optim::{Optimizer, OptimizerState, update_parameters};
use ffnn::tensor::Matrix;
use rand::SeedableRng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn the_step_allocates_nothing_outside_the_gemm_kernel() {
    // Everything of a training step but the matrix products (whose packing buffers are the
    // `gemm` crate's): gathering, augmenting (affine: the elastic blur is a product), dropout,
    // the loss gradient, activations and the optimizer, on 1 and 2 threads.
    for threads in [1, 2] {
        ffnn::parallel::set_threads(threads);
        let data = Dataset {
            // Mostly zeros, like a digit: the first layer takes the sparse path.
            images: (0..512 * 784).map(|i| if i % 5 == 0 { (i * 31 % 256) as u8 } else { 0 }).collect(),
            labels: (0..512).map(|i| (i % 10) as u8).collect(),
            height: 28,
            width: 28,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut model = Model::new(&[784, 256, 128, 10], Activation::Relu, Init::He, &mut rng);
        let mut opt = OptimizerState::new(Optimizer::adam(), 1e-3, &model);
        opt.weight_decay = 0.01;
        let mut grads = Gradients::for_model(&model);
        let (mut x, mut y) = (Matrix::default(), Vec::new());
        let mut augmenter = Augmenter::default();
        let affine = Augment { elastic_alpha: 0.0, ..Augment::default() };
        let (mut mask, mut dropped, mut dz) = (Matrix::default(), Matrix::default(), Matrix::default());
        let mut hidden = Matrix::zeros(128, 256);
        let logits = Matrix::zeros(128, 10);
        let batch: Vec<usize> = (0..128).collect();
        let (mut x_sparse, mut x_t) = (ffnn::sparse::Csr::default(), ffnn::sparse::Csr::default());
        let (mut z1, mut dz1, mut dw1) = (Matrix::default(), Matrix::zeros(128, 256), Matrix::default());
        let mut step = |iteration: usize| {
            data.gather(&batch, &mut x, &mut y);
            augmenter.apply(&mut x, 28, 28, &affine, 1, iteration);
            x_sparse.fill_from_dense(&x);
            x_t.fill_transpose_of(&x_sparse);
            ffnn::sparse::csr_matmul(&x_sparse, &model.layers[0].weight, Some(&model.layers[0].bias), &mut z1);
            ffnn::sparse::csr_matmul(&x_t, &dz1, None, &mut dw1);
            dz1.data[iteration] = 1.0;
            activation_forward(&mut hidden, Activation::Relu);
            dropout_forward(&hidden, 0.2, iteration as u64, 0, &mut mask, &mut dropped);
            softmax_cross_entropy_backward(&logits, &y, 0.1, &mut dz);
            relu_backward(&mut hidden, &dropped);
            update_parameters(&mut model, &grads, &mut opt);
            grads.layers[0].bias[0] += 1e-3;
        };
        step(0); // sizes every buffer
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for i in 1..=10 {
            step(i);
        }
        let used = ALLOCATIONS.load(Ordering::Relaxed) - before;
        assert_eq!(used, 0, "{used} allocations in 10 steps with {threads} thread(s)");
    }
}
