use ffnn::gemm::{Op, matmul};
use ffnn::tensor::Matrix;
use std::time::Instant;
fn main() {
    let threads: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(1);
    ffnn::gemm::set_threads(threads);
    let shapes: &[(&str, usize, usize, usize, Op, Op)] = &[
        ("sq1024", 1024, 1024, 1024, Op::N, Op::N),
        ("sq2048", 2048, 2048, 2048, Op::N, Op::N),
        ("fwd1 X·W", 128, 784, 256, Op::N, Op::N),
        ("dW1 Xt·dZ", 784, 128, 256, Op::T, Op::N),
        ("fwd2", 128, 256, 128, Op::N, Op::N),
        ("dW2", 256, 128, 128, Op::T, Op::N),
        ("dA1 dZ·Wt", 128, 128, 256, Op::N, Op::T),
        ("wide fwd", 128, 784, 800, Op::N, Op::N),
        ("wide dW", 784, 128, 800, Op::T, Op::N),
    ];
    for &(name, m, k, n, oa, ob) in shapes {
        let a = if oa == Op::N { Matrix::zeros(m, k) } else { Matrix::zeros(k, m) };
        let b = if ob == Op::N { Matrix::zeros(k, n) } else { Matrix::zeros(n, k) };
        let mut a = a; let mut b = b;
        a.data.iter_mut().enumerate().for_each(|(i, v)| *v = (i % 7) as f32 * 0.1);
        b.data.iter_mut().enumerate().for_each(|(i, v)| *v = (i % 5) as f32 * 0.1);
        let mut c = Matrix::zeros(m, n);
        let flop = 2.0 * (m * n * k) as f64;
        let reps = ((2e10 / flop) as usize).clamp(3, 5000);
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t = Instant::now();
            for _ in 0..reps { matmul(&a, oa, &b, ob, &mut c, false); }
            best = best.min(t.elapsed().as_secs_f64() / reps as f64);
        }
        println!("{name:12} {:8.1} GFLOP/s  {:8.1} us", flop / best / 1e9, best * 1e6);
    }
}
