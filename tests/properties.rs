//! Property tests: every kernel and every way work is split between threads, over random
//! shapes, batch sizes and thread counts, against a reference implementation or the 1-thread
//! result. Sizes are drawn from 1…1100 with the edges that break splitters weighted in
//! (1, primes, 63, 64, 65, 100, 127, 1000, 1023), thread counts from 1…8 (more threads than
//! rows or columns too, on a 2-core machine).

use ffnn::data::{Dataset, MiniBatches};
use ffnn::gemm::{Op, matmul, matmul_reference};
use ffnn::nn::{
    Activation, Gradients, Init, Model, ModelState, TrainingMode, compute_loss, model_backward, model_forward, softmax,
    softmax_cross_entropy_backward,
};
use ffnn::optim::{Optimizer, OptimizerState, update_parameters};
use ffnn::parallel::{for_each_chunk_mut, for_each_mut, for_each_range, for_each_zip_mut, with_threads};
use ffnn::sparse::{Csr, PackedRows, csr_matmul, csr_matmul_reference, csr_t_matmul, csr_t_matmul_reference};
use ffnn::tensor::Matrix;
use ffnn::train::{Length, TrainConfig, evaluate, gather_batch, train_model};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The sizes that break splitters, and anything else in 1…1100.
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        prop::sample::select(vec![1usize, 2, 3, 7, 13, 31, 63, 64, 65, 97, 100, 127, 128, 257, 499, 1000, 1009, 1023, 1100]),
        1usize..=1100,
    ]
}

fn threads() -> impl Strategy<Value = usize> {
    1usize..=8
}

/// `(a, b, c)` with `a·b·c ≤ budget`: the dimension `shrink % 3` is cut down when the product is
/// larger (so the reference loops stay fast while every size still shows up in each role).
fn shape3(budget: usize) -> impl Strategy<Value = (usize, usize, usize)> {
    (size(), size(), size(), 0usize..3).prop_map(move |(a, b, c, shrink)| {
        let mut d = [a, b, c];
        let others: usize = d.iter().enumerate().filter(|&(i, _)| i != shrink).map(|(_, &v)| v).product();
        d[shrink] = d[shrink].min(budget / others.max(1)).max(1);
        (d[0], d[1], d[2])
    })
}

fn random_matrix(rows: usize, cols: usize, density: f64, rng: &mut impl Rng) -> Matrix {
    let data = (0..rows * cols).map(|_| if rng.random_bool(density) { rng.random_range(-1.0..1.0) } else { 0.0 }).collect();
    Matrix::from_vec(rows, cols, data)
}

/// The largest difference between two equally long slices.
fn worst(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, max_shrink_iters: 200, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config(300))]

    /// `for_each_chunk_mut`: every element in exactly one piece, pieces start at whole units
    /// and say where, no more pieces than threads, whatever the length, unit and thread count.
    #[test]
    fn chunks_cover_every_element_once(len in 0usize..=70_000, unit in 1usize..=800, min_units in 1usize..=20, t in threads()) {
        let mut data = vec![0u32; len];
        let pieces = AtomicUsize::new(0);
        with_threads(t, || {
            for_each_chunk_mut(&mut data, unit, min_units, &|first, piece| {
                pieces.fetch_add(1, Ordering::Relaxed);
                // `first` is the index of the piece's first unit: write each element's own index.
                for (k, v) in piece.iter_mut().enumerate() {
                    *v += (first * unit + k) as u32 + 1;
                }
            })
        });
        prop_assert!(pieces.load(Ordering::Relaxed) <= t);
        for (i, &v) in data.iter().enumerate() {
            prop_assert_eq!(v, i as u32 + 1, "element {} of {}", i, len);
        }
    }

    /// `for_each_range`: ranges tile `0..len`, start on multiples of `align`, at most one per thread.
    #[test]
    fn ranges_tile_the_length(len in 0usize..=5000, align in 1usize..=64, t in threads()) {
        let seen: Vec<AtomicUsize> = (0..len).map(|_| AtomicUsize::new(0)).collect();
        let ranges = AtomicUsize::new(0);
        with_threads(t, || {
            for_each_range(len, align, &|r| {
                ranges.fetch_add(1, Ordering::Relaxed);
                assert_eq!(r.start % align, 0);
                r.for_each(|i| { seen[i].fetch_add(1, Ordering::Relaxed); });
            })
        });
        prop_assert!(ranges.load(Ordering::Relaxed) <= t);
        prop_assert!(seen.iter().all(|s| s.load(Ordering::Relaxed) == 1));
    }

    /// The element-wise passes give what one loop gives.
    #[test]
    fn elementwise_passes_equal_one_loop(len in 0usize..=200_000, t in threads()) {
        let input: Vec<f32> = (0..len).map(|i| (i % 97) as f32 - 48.0).collect();
        let mut out = input.clone();
        let mut zipped = vec![1.0f32; len];
        with_threads(t, || {
            for_each_mut(&mut out, &|p| p.iter_mut().for_each(|v| *v = v.max(0.0)));
            for_each_zip_mut(&mut zipped, &input, &|o, i| o.iter_mut().zip(i).for_each(|(o, &i)| *o *= i));
        });
        prop_assert_eq!(out, input.iter().map(|v| v.max(0.0)).collect::<Vec<_>>());
        prop_assert_eq!(zipped, input);
    }

    /// Mini-batches partition the samples, the last batch holding the remainder (1 included).
    #[test]
    fn mini_batches_partition_the_samples(n in 1usize..=3000, batch in 1usize..=1000, seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let batches = ffnn::data::random_mini_batches(n, batch, &mut rng);
        prop_assert_eq!(batches.len(), n.div_ceil(batch));
        let sizes: Vec<usize> = batches.iter().map(<[usize]>::len).collect();
        prop_assert!(sizes[..sizes.len() - 1].iter().all(|&s| s == batch));
        prop_assert_eq!(*sizes.last().unwrap(), n - (sizes.len() - 1) * batch);
        let mut all: Vec<usize> = batches.iter().flatten().copied().collect();
        all.sort_unstable();
        prop_assert_eq!(all, (0..n).collect::<Vec<_>>());
        let _ = MiniBatches::new(n, batch);
    }

    /// A validation split (which moves the kept images up in place) holds out `n` of the
    /// images and keeps the others, each with its own bytes and label, both in their original
    /// order, and draws the same images for the same seed.
    #[test]
    fn a_validation_split_partitions_the_images_in_order(len in 1usize..=600, n in 0usize..=700, side in 2usize..=6, seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let size = side * side;
        // Image i's first two bytes are i, the rest random: each image knows where it came from.
        let mut images = Vec::with_capacity(len * size);
        for i in 0..len {
            images.extend_from_slice(&(i as u16).to_le_bytes());
            images.extend((2..size).map(|_| rng.random::<u8>()));
        }
        let labels: Vec<u8> = (0..len).map(|_| rng.random_range(0..10)).collect();
        let data = Dataset { images, labels, height: side, width: side };
        let (rest, held) = data.clone().split_validation(n, seed);
        prop_assert_eq!(held.len(), n.min(len));
        prop_assert_eq!(rest.len() + held.len(), len);
        prop_assert_eq!(rest.images.len(), rest.len() * size);
        let origin = |d: &Dataset, k: usize| u16::from_le_bytes([d.image(k)[0], d.image(k)[1]]) as usize;
        let mut seen = vec![false; len];
        for part in [&rest, &held] {
            let from: Vec<usize> = (0..part.len()).map(|k| origin(part, k)).collect();
            prop_assert!(from.windows(2).all(|w| w[0] < w[1]), "not in the original order: {:?}", from);
            for (k, &i) in from.iter().enumerate() {
                prop_assert!(!seen[i], "image {} in both parts", i);
                seen[i] = true;
                prop_assert_eq!(part.image(k), data.image(i));
                prop_assert_eq!(part.labels[k], data.labels[i]);
            }
        }
        let (_, again) = data.split_validation(n, seed);
        prop_assert_eq!(again, held);
    }
}

proptest! {
    #![proptest_config(config(96))]

    /// The GEMM wrapper, all four transposes, with and without accumulation, against the triple loop.
    #[test]
    fn gemm_matches_the_triple_loop((m, k, n) in shape3(3_000_000), t in threads(), op_a in any::<bool>(), op_b in any::<bool>(), accumulate in any::<bool>(), seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (op_a, op_b) = (if op_a { Op::T } else { Op::N }, if op_b { Op::T } else { Op::N });
        let a = if op_a == Op::N { random_matrix(m, k, 1.0, &mut rng) } else { random_matrix(k, m, 1.0, &mut rng) };
        let b = if op_b == Op::N { random_matrix(k, n, 1.0, &mut rng) } else { random_matrix(n, k, 1.0, &mut rng) };
        let start = random_matrix(m, n, 1.0, &mut rng);
        let (mut fast, mut slow) = (start.clone(), start);
        with_threads(t, || matmul(&a, op_a, &b, op_b, &mut fast, accumulate));
        matmul_reference(&a, op_a, &b, op_b, &mut slow, accumulate);
        // Sums of k products of values in [-1, 1]: rounding grows like √k·ε.
        let tolerance = 1e-5 * (k as f32).sqrt() * 4.0 + 1e-6;
        prop_assert!(worst(&fast.data, &slow.data) <= tolerance, "{}×{}×{} {:?}{:?} on {} threads", m, k, n, op_a, op_b, t);
    }

    /// A product is, bit for bit, its pieces of `K_PIECE` along the inner dimension added to `C`
    /// one after the other, on any thread count: the sums the `gemm` crate's AVX2 and AVX-512
    /// kernels compute alike, so that a run's bits do not depend on the CPU.
    #[test]
    fn gemm_sums_the_inner_dimension_in_pieces((m, k, n) in shape3(3_000_000), t in threads(), seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (a, b) = (random_matrix(m, k, 1.0, &mut rng), random_matrix(k, n, 1.0, &mut rng));
        let mut whole = Matrix::zeros(m, n);
        with_threads(t, || matmul(&a, Op::N, &b, Op::N, &mut whole, false));
        let mut pieces = Matrix::zeros(m, n);
        for p0 in (0..k).step_by(ffnn::gemm::K_PIECE) {
            let p1 = (p0 + ffnn::gemm::K_PIECE).min(k);
            let a_piece = Matrix::from_vec(m, p1 - p0, (0..m).flat_map(|i| a.row(i)[p0..p1].to_vec()).collect());
            let b_piece = Matrix::from_vec(p1 - p0, n, b.data[p0 * n..p1 * n].to_vec());
            matmul(&a_piece, Op::N, &b_piece, Op::N, &mut pieces, p0 > 0);
        }
        prop_assert!(whole.data.iter().zip(&pieces.data).all(|(x, y)| x.to_bits() == y.to_bits()), "{}×{}×{} on {} threads", m, k, n, t);
    }

    /// The CSR builders (a matrix and its transpose) against the dense matrix, on any thread
    /// count, and the sparse products (`A·B` and, without listing `Aᵀ`, `Aᵀ·B`) against their
    /// definitions; the products' bits do not depend on the thread count.
    #[test]
    fn sparse_kernels_match_their_definitions((m, k, n) in shape3(2_000_000), t in threads(), density in prop::sample::select(vec![0.0, 0.05, 0.2, 0.5, 1.0]), with_bias in any::<bool>(), seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x = random_matrix(m, k, density, &mut rng);
        let b = random_matrix(k, n, 1.0, &mut rng);
        let bias: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let bias = with_bias.then_some(&bias[..]);
        let (mut a, mut a_t, mut fast) = (Csr::default(), Csr::default(), Matrix::default());
        with_threads(t, || {
            a.fill_from_dense(&x);
            a_t.fill_transpose_of(&a);
            csr_matmul(&a, &b, bias, &mut fast);
        });
        // The CSR of X holds exactly X's non-zero entries, row by row, in column order.
        let mut expected = Csr { rows: m, cols: k, start: vec![0], entries: vec![] };
        for i in 0..m {
            expected.entries.extend(x.row(i).iter().enumerate().filter(|&(_, &v)| v != 0.0).map(|(p, &v)| (p as u32, v)));
            expected.start.push(expected.entries.len() as u32);
        }
        prop_assert_eq!(&a, &expected);
        let mut expected_t = Csr::default();
        with_threads(1, || expected_t.fill_from_dense(&x.transpose()));
        prop_assert_eq!(&a_t, &expected_t);
        let (mut one_thread, mut slow) = (Matrix::default(), Matrix::default());
        with_threads(1, || csr_matmul(&a, &b, bias, &mut one_thread));
        prop_assert_eq!(&fast.data, &one_thread.data, "{}×{}×{} on {} threads vs 1", m, k, n, t);
        csr_matmul_reference(&a, &b, bias, &mut slow);
        prop_assert!(worst(&fast.data, &slow.data) <= 1e-5 * (k as f32).sqrt() * 4.0 + 1e-6);
        // Aᵀ·B' for a B' with one row per row of A (n columns: narrow and wide ones).
        let b_rows = random_matrix(m, n, 1.0, &mut rng);
        let (mut scattered, mut scattered_one, mut slow_t) = (Matrix::default(), Matrix::default(), Matrix::default());
        with_threads(t, || csr_t_matmul(&a, &b_rows, &mut scattered));
        with_threads(1, || csr_t_matmul(&a, &b_rows, &mut scattered_one));
        prop_assert_eq!(&scattered.data, &scattered_one.data, "Aᵀ·B: {}×{}×{} on {} threads vs 1", m, k, n, t);
        csr_t_matmul_reference(&a, &b_rows, &mut slow_t);
        prop_assert_eq!((scattered.rows, scattered.cols), (k, n));
        prop_assert!(worst(&scattered.data, &slow_t.data) <= 1e-5 * (m as f32).sqrt() * 4.0 + 1e-6);
    }

    /// A matrix listed straight from rows of bytes is the one listed from the same bytes scaled
    /// to `f32` (the dataset's gather), entry for entry, on any shape and thread count: rows
    /// shorter and longer than the lister's pieces of 256 bytes, widths not a multiple of 8.
    #[test]
    fn listing_bytes_matches_listing_the_scaled_matrix(rows in size(), cols in size(), t in threads(), density in prop::sample::select(vec![0.0, 0.05, 0.2, 0.5, 1.0]), seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let rows = rows.min(2_000_000 / cols);
        let bytes: Vec<u8> = (0..rows * cols).map(|_| if rng.random_bool(density) { rng.random_range(1..=255) } else { 0 }).collect();
        let scaled = Matrix::from_vec(rows, cols, bytes.iter().map(|&b| b as f32 * ffnn::data::PIXEL_SCALE).collect());
        let (mut listed, mut expected) = (Csr::default(), Csr::default());
        // Refilled twice, so the second listing reuses the first one's buffers.
        let row = |i: usize| &bytes[i * cols..(i + 1) * cols];
        with_threads(t, || {
            listed.fill_from_bytes(rows, cols, &row, ffnn::data::PIXEL_SCALE);
            listed.fill_from_bytes(rows, cols, &row, ffnn::data::PIXEL_SCALE);
        });
        with_threads(1, || expected.fill_from_dense(&scaled));
        prop_assert_eq!(&listed, &expected, "{}×{} at {} on {} threads", rows, cols, density, t);
        // Capped at `max` entries: the same list when there are at most that many, else no
        // entries at all and `false` (the batch is counted, not listed).
        let entries = expected.entries.len();
        for max in [entries, entries.saturating_sub(1), 0, usize::MAX] {
            let (mut from_bytes, mut from_dense) = (Csr::default(), Csr::default());
            let fits = with_threads(t, || {
                let fits = from_bytes.fill_from_bytes_up_to(rows, cols, &row, ffnn::data::PIXEL_SCALE, max);
                prop_assert_eq!(fits, from_dense.fill_from_dense_up_to(&scaled, max));
                Ok(fits)
            })?;
            prop_assert_eq!(fits, entries <= max, "{} entries, at most {}", entries, max);
            if fits {
                prop_assert_eq!(&from_bytes, &expected);
                prop_assert_eq!(&from_dense, &expected);
            } else {
                prop_assert!(from_bytes.entries.is_empty() && from_dense.entries.is_empty());
            }
        }
    }

    /// The loss and its gradient, split between threads by rows, are the bits of one thread and
    /// match their definition (`J` = `compute_loss` without smoothing, `dZ = (softmax(Z) − Ỹ)/n`)
    /// on any batch (a single row, more rows than one block of the loss's terms), width and
    /// smoothing.
    #[test]
    fn loss_and_gradient_split_between_threads_equal_one_thread(rows in prop_oneof![Just(1usize), Just(512), Just(513), 1usize..=1200], classes in 2usize..=40, t in threads(), smoothing in prop::sample::select(vec![0.0f32, 0.1]), seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Rows of logits on scales from 10⁻³ to 10⁴: losses from about ln M to 10⁵.
        let scales: Vec<f32> = (0..rows).map(|_| [1e-3, 1.0, 1e4][rng.random_range(0..3)]).collect();
        let z = Matrix::from_vec(rows, classes, (0..rows * classes).map(|k| scales[k / classes] * rng.random_range(-20.0..20.0)).collect());
        let y: Vec<u8> = (0..rows).map(|_| rng.random_range(0..classes) as u8).collect();
        let (mut many, mut one) = (Matrix::default(), Matrix::default());
        let cost = with_threads(t, || softmax_cross_entropy_backward(&z, &y, smoothing, &mut many));
        let cost_one = with_threads(1, || softmax_cross_entropy_backward(&z, &y, smoothing, &mut one));
        prop_assert_eq!(cost.to_bits(), cost_one.to_bits());
        prop_assert_eq!(&many, &one);
        if smoothing == 0.0 {
            prop_assert_eq!(cost.to_bits(), compute_loss(&z, &y).to_bits());
        }
        let mut p = Matrix::default();
        softmax(&z, &mut p);
        for (i, &label) in y.iter().enumerate() {
            for m in 0..classes {
                let target = if m == label as usize { 1.0 - smoothing } else { 0.0 } + smoothing / classes as f32;
                let expected = (p.row(i)[m] - target) / rows as f32;
                prop_assert!((many.row(i)[m] - expected).abs() <= 1e-6 / rows as f32 + 1e-7, "row {} class {}", i, m);
            }
        }
    }

    /// Rows packed by their non-zero bytes list the matrix their bytes list, entry for entry,
    /// for any batch of rows (repeats included) on any shape and thread count: widths not a
    /// multiple of 8 or 64, rows ending within eight entries of the batch's end. Capped at
    /// `max` entries, both refuse the same batches.
    #[test]
    fn listing_packed_rows_matches_listing_their_bytes(rows in size(), cols in size(), batch in 0usize..=300, t in threads(), density in prop::sample::select(vec![0.0, 0.02, 0.2, 0.5, 1.0]), seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let rows = rows.min(2_000_000 / cols);
        let bytes: Vec<u8> = (0..rows * cols).map(|_| if rng.random_bool(density) { rng.random_range(1..=255) } else { 0 }).collect();
        let row = |i: usize| &bytes[i * cols..(i + 1) * cols];
        let packed = PackedRows::new(rows, cols, &row);
        prop_assert_eq!((packed.len(), packed.cols()), (rows, cols));
        let indices: Vec<usize> = (0..batch).map(|_| rng.random_range(0..rows)).collect();
        let batch_row = |i: usize| row(indices[i]);
        let mut expected = Csr::default();
        with_threads(1, || expected.fill_from_bytes(batch, cols, &batch_row, ffnn::data::PIXEL_SCALE));
        let entries = expected.entries.len();
        for max in [usize::MAX, entries, entries.saturating_sub(1), 0] {
            let (mut from_packed, mut from_bytes) = (Csr::default(), Csr::default());
            let fits = with_threads(t, || {
                // Refilled twice, so the second listing reuses the first one's buffers.
                from_packed.fill_from_packed(&packed, &indices, ffnn::data::PIXEL_SCALE, max);
                let fits = from_packed.fill_from_packed(&packed, &indices, ffnn::data::PIXEL_SCALE, max);
                prop_assert_eq!(fits, from_bytes.fill_from_bytes_up_to(batch, cols, &batch_row, ffnn::data::PIXEL_SCALE, max));
                Ok(fits)
            })?;
            prop_assert_eq!(fits, entries <= max, "{} entries, at most {}", entries, max);
            if fits {
                prop_assert_eq!(&from_packed, &expected, "{}×{} at {} on {} threads", batch, cols, density, t);
            } else {
                prop_assert!(from_packed.entries.is_empty() && from_bytes.entries.is_empty());
            }
        }
    }

    /// A training step on a batch listed straight from the dataset's bytes (`gather_batch`)
    /// computes the bits the step on the gathered `f32` batch computes: logits and gradients;
    /// listed from the images packed by their non-zero pixels, the bits listed from the bytes.
    #[test]
    fn a_listed_batch_trains_the_same_bits_as_a_gathered_one(batch in 1usize..=300, hidden in size(), t in threads(), seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (height, width, classes, samples) = (12, 11, 7, 400);
        let data = Dataset {
            images: (0..samples * height * width).map(|_| if rng.random_bool(0.2) { rng.random() } else { 0 }).collect(),
            labels: (0..samples).map(|_| rng.random_range(0..classes) as u8).collect(),
            height,
            width,
        };
        let model = Model::new(&[height * width, hidden.min(300), classes], Activation::Relu, Init::He, &mut rng);
        let indices: Vec<usize> = (0..batch).map(|_| rng.random_range(0..samples)).collect();
        let packed = data.packed();
        let step = |listing: bool, packed: Option<&PackedRows>| {
            let (mut x, mut y, mut state, mut grads) = (Matrix::default(), Vec::new(), ModelState::default(), Gradients::for_model(&model));
            let listed = if listing {
                gather_batch(&data, packed, &indices, model.layers[0].outputs(), &mut x, &mut y, &mut state.sparse_input)
            } else {
                data.gather(&indices, &mut x, &mut y);
                false
            };
            model_forward(&model, &x, &mut state);
            model_backward(&model, &x, &state, &y, &mut grads);
            (listed, state.sparse_input.in_use, y, state.logits().clone(), grads.layers)
        };
        let (listed, sparse, y, logits, grads) = with_threads(t, || step(true, None));
        let (_, sparse_too, y_too, logits_too, grads_too) = with_threads(t, || step(false, None));
        // Listed from the packed images: the bits listed from their bytes.
        let from_packed = with_threads(t, || step(true, Some(&packed)));
        prop_assert_eq!(&from_packed, &(listed, sparse, y.clone(), logits.clone(), grads.clone()));
        prop_assert_eq!(listed, sparse);
        prop_assert_eq!(y, y_too);
        if model.layers[0].outputs() >= ffnn::sparse::WIDE_OUTPUTS {
            // Listed exactly when the gathered batch also takes the sparse path.
            prop_assert_eq!(sparse, sparse_too);
            prop_assert_eq!(logits, logits_too);
            prop_assert_eq!(grads, grads_too);
        } else {
            // A narrow layer takes the sparse path from bytes only; the gathered batch stays
            // dense: the same sums, rounded in another order.
            prop_assert!(!sparse_too);
            let wide = |m: &[f32]| m.iter().map(|&v| v as f64).collect::<Vec<f64>>();
            prop_assert!(close(&logits.data, &wide(&logits_too.data), 1e-5));
            for (g, g_too) in grads.iter().zip(&grads_too) {
                prop_assert!(close(&g.weight.data, &wide(&g_too.weight.data), 1e-5));
                prop_assert!(close(&g.bias, &wide(&g_too.bias), 1e-5));
            }
        }
    }
}

/// `(dW, db)` of one layer, in f64.
type LayerGradient = (Vec<f64>, Vec<f64>);

/// The textbook forward and backward pass in f64, one loop at a time: logits, and each layer's
/// `(dW, db)`, for a network of `h` (sigmoid or ReLU) hidden layers and softmax + cross-entropy.
///
/// A ReLU whose input is within rounding of 0 (|z| < 1e-4) could go either way in `f32`; there
/// the derivative follows `hint`, the hidden outputs of the pass under test, when given.
fn naive_forward_backward(model: &Model, x: &Matrix, y: &[u8], hint: Option<&[Matrix]>) -> (Vec<f64>, Vec<LayerGradient>) {
    let n = x.rows;
    let mut activations: Vec<Vec<f64>> = vec![x.data.iter().map(|&v| v as f64).collect()];
    // h'(z) of every hidden unit and sample.
    let mut derivatives: Vec<Vec<f64>> = Vec::new();
    let layers = model.layers.len();
    for (l, layer) in model.layers.iter().enumerate() {
        let (inputs, outputs) = (layer.weight.rows, layer.weight.cols);
        let a = &activations[l];
        let mut z = vec![0.0f64; n * outputs];
        let mut derivative = vec![0.0f64; n * outputs];
        for i in 0..n {
            for j in 0..outputs {
                let mut s = layer.bias[j] as f64;
                for p in 0..inputs {
                    s += a[i * inputs + p] * layer.weight.data[p * outputs + j] as f64;
                }
                let k = i * outputs + j;
                (z[k], derivative[k]) = if l + 1 == layers {
                    (s, 1.0)
                } else {
                    match model.activation {
                        Activation::Relu => {
                            let on = match hint {
                                Some(h) if s.abs() < 1e-4 => h[l].data[k] > 0.0,
                                _ => s > 0.0,
                            };
                            (s.max(0.0), f64::from(u8::from(on)))
                        }
                        Activation::Sigmoid => {
                            let out = 1.0 / (1.0 + (-s).exp());
                            (out, out * (1.0 - out))
                        }
                    }
                };
            }
        }
        activations.push(z);
        derivatives.push(derivative);
    }
    let logits = activations[layers].clone();
    let classes = model.classes();
    // dZ_L = (softmax(Z_L) − onehot(y)) / n
    let mut dz = vec![0.0f64; n * classes];
    for i in 0..n {
        let row = &logits[i * classes..(i + 1) * classes];
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = row.iter().map(|z| (z - max).exp()).sum();
        for m in 0..classes {
            let p = (row[m] - max).exp() / sum;
            dz[i * classes + m] = (p - f64::from(u8::from(m == y[i] as usize))) / n as f64;
        }
    }
    let mut grads = vec![(vec![], vec![]); layers];
    for l in (0..layers).rev() {
        let layer = &model.layers[l];
        let (inputs, outputs) = (layer.weight.rows, layer.weight.cols);
        let a = &activations[l];
        let mut dw = vec![0.0f64; inputs * outputs];
        let mut db = vec![0.0f64; outputs];
        for i in 0..n {
            for j in 0..outputs {
                let g = dz[i * outputs + j];
                db[j] += g;
                for p in 0..inputs {
                    dw[p * outputs + j] += a[i * inputs + p] * g;
                }
            }
        }
        if l > 0 {
            let mut da = vec![0.0f64; n * inputs];
            for i in 0..n {
                for p in 0..inputs {
                    let mut s = 0.0;
                    for j in 0..outputs {
                        s += dz[i * outputs + j] * layer.weight.data[p * outputs + j] as f64;
                    }
                    da[i * inputs + p] = s * derivatives[l - 1][i * inputs + p];
                }
            }
            dz = da;
        }
        grads[l] = (dw, db);
    }
    (logits, grads)
}

/// Within `rel` of the reference, relative to the reference's largest magnitude.
fn close(fast: &[f32], reference: &[f64], rel: f64) -> bool {
    let scale = reference.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-3);
    fast.len() == reference.len() && fast.iter().zip(reference).all(|(&f, &r)| (f as f64 - r).abs() <= rel * scale)
}

/// Layer sizes `inputs, hidden…, classes`: 1 or 2 hidden layers, the work kept small enough for
/// the f64 reference.
fn network() -> impl Strategy<Value = (usize, Vec<usize>, usize)> {
    (1usize..=1000, size(), prop::collection::vec(size(), 1..=2), 2usize..=12).prop_map(|(batch, inputs, mut hidden, classes)| {
        let budget = 6_000_000usize;
        let mut inputs = inputs;
        // Shrink the widest layer until one pass fits the budget.
        loop {
            let mut sizes = vec![inputs];
            sizes.extend(&hidden);
            sizes.push(classes);
            let work: usize = batch * sizes.windows(2).map(|w| w[0] * w[1]).sum::<usize>();
            if work <= budget {
                break;
            }
            let widest = hidden.iter_mut().chain(std::iter::once(&mut inputs)).max_by_key(|v| **v).unwrap();
            *widest = (*widest * 3 / 4).max(1);
        }
        let mut sizes = vec![inputs];
        sizes.extend(hidden);
        sizes.push(classes);
        (batch, sizes, classes)
    })
}

proptest! {
    #![proptest_config(config(64))]

    /// `model_forward` and `model_backward` (sparse and dense first layer, ReLU and sigmoid)
    /// against the f64 reference, on any batch size and thread count; dropout masks are the
    /// same bits on every thread count.
    #[test]
    fn model_forward_and_backward_match_the_reference((batch, sizes, classes) in network(), t in threads(), sigmoid in any::<bool>(), density in prop::sample::select(vec![0.1, 0.3, 1.0]), seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let activation = if sigmoid { Activation::Sigmoid } else { Activation::Relu };
        let model = Model::new(&sizes, activation, Init::Glorot, &mut rng);
        let x = Matrix::from_vec(batch, sizes[0], (0..batch * sizes[0]).map(|_| if rng.random_bool(density) { rng.random_range(0.01..1.0) } else { 0.0 }).collect());
        let y: Vec<u8> = (0..batch).map(|_| rng.random_range(0..classes) as u8).collect();
        let (mut state, mut grads) = (ModelState::default(), Gradients::for_model(&model));
        let loss = with_threads(t, || {
            model_forward(&model, &x, &mut state);
            model_backward(&model, &x, &state, &y, &mut grads)
        });
        let (logits, reference) = naive_forward_backward(&model, &x, &y, Some(&state.outputs));
        prop_assert!(loss.is_finite());
        // The cost the backward pass returns is `compute_loss`'s, bit for bit (the training
        // loop reports it instead of computing the loss a second time).
        prop_assert_eq!(loss.to_bits(), compute_loss(state.logits(), &y).to_bits());
        prop_assert!(close(&state.logits().data, &logits, 1e-4), "logits of {:?}, batch {}, {} threads", sizes, batch, t);
        for (l, (g, (dw, db))) in grads.layers.iter().zip(&reference).enumerate() {
            prop_assert!(close(&g.weight.data, dw, 2e-4), "dW{} of {:?}, batch {}, {} threads", l + 1, sizes, batch, t);
            prop_assert!(close(&g.bias, db, 2e-4), "db{} of {:?}, batch {}, {} threads", l + 1, sizes, batch, t);
        }
        // Dropout draws the same masks whatever the thread count.
        let training = Some(TrainingMode { dropout: 0.3, label_smoothing: 0.0, l2: 0.0, seed });
        let (mut many, mut one) = (ModelState { training, ..ModelState::default() }, ModelState { training, ..ModelState::default() });
        with_threads(t, || model_forward(&model, &x, &mut many));
        with_threads(1, || model_forward(&model, &x, &mut one));
        prop_assert_eq!(&many.masks, &one.masks);
        // With dropout too, the backward pass's cost is `compute_loss` of its logits.
        let dropped_cost = with_threads(t, || model_backward(&model, &x, &many, &y, &mut grads));
        prop_assert_eq!(dropped_cost.to_bits(), compute_loss(many.logits(), &y).to_bits());
    }

    /// `predict_in_blocks` shares its blocks of `PREDICT_BLOCK` rows between the threads: on any
    /// number of rows and threads, its probabilities are, bit for bit, those of each block
    /// (the last padded with zero rows) through `model_forward` and `softmax` on one thread.
    #[test]
    fn predictions_in_blocks_are_each_blocks_forward_pass(rows in prop_oneof![Just(1usize), Just(256), Just(257), 1usize..=900], hidden in size(), t in threads(), density in 0.05f64..0.9, seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (width, classes) = (40, 7);
        let model = Model::new(&[width, hidden.min(300), classes], Activation::Relu, Init::He, &mut rng);
        let values: Vec<f32> = (0..rows * width).map(|_| if rng.random_bool(density) { rng.random() } else { 0.0 }).collect();
        let probabilities = with_threads(t, || ffnn::nn::predict_in_blocks(&model, &values, rows));
        let sparse = values.iter().filter(|&&v| v != 0.0).count() as f32 <= ffnn::sparse::MAX_DENSITY * values.len() as f32;
        let block = ffnn::nn::PREDICT_BLOCK;
        let mut expected = Vec::new();
        with_threads(1, || {
            for first in (0..rows).step_by(block) {
                let take = block.min(rows - first);
                let mut x = Matrix::zeros(block, width);
                x.data[..take * width].copy_from_slice(&values[first * width..(first + take) * width]);
                let mut state = ModelState::default();
                state.sparse_input.force = Some(sparse);
                let mut p = Matrix::default();
                ffnn::nn::softmax(model_forward(&model, &x, &mut state), &mut p);
                expected.extend_from_slice(&p.data[..take * classes]);
            }
        });
        prop_assert_eq!((probabilities.rows, probabilities.cols), (rows, classes));
        prop_assert!(probabilities.data.iter().zip(&expected).all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    /// `evaluate` works in chunks of 1000 samples: on any number of samples (a last chunk of 1
    /// too) and any thread count, its loss and predictions are the reference's.
    #[test]
    fn evaluation_in_chunks_matches_the_reference(samples in prop_oneof![Just(1usize), Just(1000), Just(1001), Just(2001), 1usize..=2500], hidden in size(), t in threads(), seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (height, width, classes) = (7, 9, 10);
        let hidden = hidden.min(300);
        let data = Dataset {
            images: (0..samples * height * width).map(|_| if rng.random_bool(0.3) { rng.random() } else { 0 }).collect(),
            labels: (0..samples).map(|_| rng.random_range(0..classes) as u8).collect(),
            height,
            width,
        };
        let model = Model::new(&[height * width, hidden, classes], Activation::Relu, Init::He, &mut rng);
        let evaluation = with_threads(t, || evaluate(&model, &data));
        // Each thread evaluates whole chunks, with every product on that thread alone: the same
        // bits as on one thread.
        let alone = with_threads(1, || evaluate(&model, &data));
        prop_assert_eq!(evaluation.loss.to_bits(), alone.loss.to_bits());
        prop_assert_eq!(&evaluation, &alone);
        let (x, y) = data.to_matrix();
        let (logits, _) = naive_forward_backward(&model, &x, &y, None);
        let mut loss = 0.0;
        for (i, &label) in y.iter().enumerate() {
            let row = &logits[i * classes..(i + 1) * classes];
            let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            loss += max + row.iter().map(|z| (z - max).exp()).sum::<f64>().ln() - row[label as usize];
            let mut sorted = row.to_vec();
            sorted.sort_by(|a, b| b.total_cmp(a));
            let best = row.iter().position(|&v| v == sorted[0]).unwrap();
            if sorted[0] - sorted[1] > 1e-4 {
                prop_assert_eq!(evaluation.predictions[i] as usize, best, "sample {} of {}", i, samples);
            }
        }
        prop_assert_eq!(evaluation.predictions.len(), samples);
        let right = evaluation.predictions.iter().zip(&y).filter(|(p, l)| p == l).count();
        prop_assert_eq!(evaluation.accuracy, right as f32 / samples as f32, "the accuracy of the predictions");
        prop_assert!((evaluation.loss as f64 - loss / samples as f64).abs() <= 1e-4 * (1.0 + loss / samples as f64));
    }

    /// Every optimizer's step gives the same bits on any thread count, and the formulas'
    /// values: SGD `θ ← sθ − αg`, momentum `v ← μv + g, θ ← sθ − αv`, Adam with bias
    /// correction, `s = 1 − αλ` for weights (decoupled decay) and 1 for biases.
    #[test]
    fn optimizer_steps_split_between_threads_equal_one_thread(sizes in prop::collection::vec(size(), 2..=3), t in threads(), which in 0usize..3, decay in prop::sample::select(vec![0.0f32, 0.1]), seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let model = Model::new(&sizes, Activation::Relu, Init::He, &mut rng);
        let optimizer = [Optimizer::Sgd, Optimizer::Momentum { momentum: 0.9 }, Optimizer::adam()][which];
        let mut grads = Gradients::for_model(&model);
        let (mut many, mut one) = (model.clone(), model.clone());
        let mut state_many = OptimizerState::new(optimizer, 0.01, &model);
        state_many.weight_decay = decay;
        let mut state_one = state_many.clone();
        // The plain formulas, parameter by parameter, in the order W₁, b₁, W₂, b₂, …
        let mut reference: Vec<Vec<f32>> = model.layers.iter().flat_map(|l| [l.weight.data.clone(), l.bias.clone()]).collect();
        let mut first: Vec<Vec<f32>> = reference.iter().map(|p| vec![0.0; p.len()]).collect();
        let mut second = first.clone();
        for step in 1..=3 {
            for g in &mut grads.layers {
                g.weight.data.iter_mut().chain(&mut g.bias).for_each(|v| *v = rng.random_range(-1.0..1.0));
            }
            with_threads(t, || update_parameters(&mut many, &grads, &mut state_many));
            with_threads(1, || update_parameters(&mut one, &grads, &mut state_one));
            let flat_grads: Vec<&Vec<f32>> = grads.layers.iter().flat_map(|g| [&g.weight.data, &g.bias]).collect();
            for (k, p) in reference.iter_mut().enumerate() {
                let shrink = if k % 2 == 0 { 1.0 - 0.01 * decay } else { 1.0 };
                for (i, v) in p.iter_mut().enumerate() {
                    let g = flat_grads[k][i];
                    *v = match optimizer {
                        Optimizer::Sgd => shrink * *v - 0.01 * g,
                        Optimizer::Momentum { momentum } => {
                            first[k][i] = momentum * first[k][i] + g;
                            shrink * *v - 0.01 * first[k][i]
                        }
                        Optimizer::Adam { beta1, beta2, eps } => {
                            first[k][i] = beta1 * first[k][i] + (1.0 - beta1) * g;
                            second[k][i] = beta2 * second[k][i] + (1.0 - beta2) * g * g;
                            let m_hat = first[k][i] / (1.0 - beta1.powi(step));
                            let v_hat = second[k][i] / (1.0 - beta2.powi(step));
                            shrink * *v - 0.01 * m_hat / (v_hat.sqrt() + eps)
                        }
                    };
                }
            }
        }
        prop_assert_eq!(&many, &one);
        prop_assert_eq!(&state_many, &state_one);
        let flat: Vec<f32> = many.layers.iter().flat_map(|l| l.weight.data.iter().chain(&l.bias)).copied().collect();
        let expected: Vec<f32> = reference.concat();
        prop_assert!(worst(&flat, &expected) <= 1e-5);
    }
}

proptest! {
    #![proptest_config(config(48))]

    /// Training itself on any batch size (a last batch of 1 too) and thread count: it finishes
    /// the iterations it should, with finite losses, and twice the same run gives the same bits.
    #[test]
    fn training_runs_on_any_batch_size_and_thread_count(samples in 1usize..=1200, batch in prop_oneof![Just(1usize), 1usize..=1000], hidden in size(), t in threads(), last_batch_of_one in any::<bool>(), seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Optionally make the last batch a single sample.
        let samples = if last_batch_of_one && batch > 1 { batch * (samples / batch).max(1) + 1 } else { samples };
        let (height, width) = (6, 6);
        let data = Dataset {
            images: (0..samples * height * width).map(|_| if rng.random_bool(0.25) { rng.random() } else { 0 }).collect(),
            labels: (0..samples).map(|i| (i % 4) as u8).collect(),
            height,
            width,
        };
        let config = TrainConfig {
            hidden: vec![hidden.min(200)],
            optimizer: Optimizer::adam(),
            learning_rate: 1e-3,
            batch_size: batch,
            length: Length::Epochs(1),
            eval_every: 7,
            seed,
            dropout: 0.1,
            ..TrainConfig::default()
        };
        let runs: Vec<_> = (0..2).map(|_| with_threads(t, || train_model(&data, Some(&data), &config, &mut |_| {}).unwrap())).collect();
        prop_assert_eq!(runs[0].iterations, samples.div_ceil(batch));
        prop_assert!(runs[0].history.rows.iter().all(|r| r.train_loss.is_finite() && r.test_loss.is_some_and(f32::is_finite)));
        prop_assert_eq!(&runs[0].model, &runs[1].model);
    }
}
