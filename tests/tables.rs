//! Training and evaluation on rows of numbers (`Table`), the way the Python package feeds
//! numpy arrays: a table of an image set's scaled pixels gives the same network, bit for bit,
//! as the images themselves; a table of arbitrary features (not in [0, 1]) is learnt.

use ffnn::data::{Dataset, Samples, Table};
use ffnn::optim::Optimizer;
use ffnn::parallel::with_threads;
use ffnn::train::{Length, TrainConfig, evaluate, train_model};
use rand::{Rng, SeedableRng};

fn config() -> TrainConfig {
    TrainConfig {
        hidden: vec![24],
        optimizer: Optimizer::adam(),
        learning_rate: 0.01,
        batch_size: 16,
        length: Length::Epochs(5),
        eval_every: 10,
        dropout: 0.1,
        ..TrainConfig::default()
    }
}

#[test]
fn a_table_of_the_pixels_trains_the_same_network_as_the_images() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let images = Dataset {
        images: (0..300 * 36).map(|_| if rng.random_bool(0.3) { rng.random() } else { 0 }).collect(),
        labels: (0..300).map(|i| (i % 3) as u8).collect(),
        height: 6,
        width: 6,
    };
    let table = Table::new(images.images.iter().map(|&p| p as f32 * (1.0 / 255.0)).collect(), images.labels.clone(), 36).unwrap();
    for threads in [1, 2] {
        let (a, b) = with_threads(threads, || {
            (
                train_model(&images, Some(&images), &config(), &mut |_| {}).unwrap(),
                train_model(&table, Some(&table), &config(), &mut |_| {}).unwrap(),
            )
        });
        assert_eq!(a.model.layers, b.model.layers, "{threads} thread(s)");
        // Every column but the measured seconds.
        let untimed = |h: &ffnn::train::History| {
            h.rows.iter().map(|r| ffnn::train::HistoryRow { seconds: 0.0, ..r.clone() }).collect::<Vec<_>>()
        };
        assert_eq!(untimed(&a.history), untimed(&b.history));
        assert_eq!((a.model.input_shape, b.model.input_shape), ((6, 6), (1, 36)));
        assert_eq!(evaluate(&a.model, &images), evaluate(&b.model, &table));
    }
}

#[test]
fn tables_of_any_numbers_are_learnt_and_cannot_be_augmented() {
    // Two classes apart along a direction, features far outside [0, 1].
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
    let (n, width) = (400, 5);
    let labels: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
    let values: Vec<f32> = labels
        .iter()
        .flat_map(|&l| (0..width).map(move |j| (if l == 1 { 40.0 } else { -40.0 }) * (j as f32 - 2.0)))
        .map(|v| v + rng.random_range(-30.0..30.0))
        .collect();
    let table = Table::new(values, labels, width).unwrap();
    let run = train_model(&table, Some(&table), &config(), &mut |_| {}).unwrap();
    assert!(evaluate(&run.model, &table).accuracy > 0.95);
    assert_eq!(table.features(), 5);
    let augmented = TrainConfig { augment: Some(Default::default()), ..config() };
    let err = train_model(&table, None, &augmented, &mut |_| {}).unwrap_err();
    assert_eq!(err.to_string(), "augment needs images: a table has no pixels to distort");
}

/// A table of `n` rows of 6×6 noise in three classes (class `i % 3`).
fn noise_table(n: usize, seed: u64) -> Table {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let values = (0..n * 36).map(|_| rng.random_range(0.0..1.0)).collect();
    Table::new(values, (0..n).map(|i| (i % 3) as u8).collect(), 36).unwrap()
}

#[test]
fn training_epoch_by_epoch_gives_the_bits_of_one_call() {
    // The Python package trains one epoch a call (to look at the loss in between); the run
    // must be the one a single call gives, for a schedule spanning the whole length too.
    use ffnn::train::{Schedule, TrainControl, continue_training, initialize_run};
    let table = noise_table(203, 7);
    let config = TrainConfig { schedule: Schedule::OneCycle { warmup_fraction: 0.2 }, ..config() };
    let whole = train_model(&table, None, &config, &mut |_| {}).unwrap();
    let mut run = initialize_run(&table, &config).unwrap();
    let mut calls = 0;
    let mut samples_seen = 0;
    while run.iteration < 5 * 203usize.div_ceil(16) {
        let control = TrainControl { epochs: Some(1), ..Default::default() };
        let stopped = continue_training(&mut run, &table, None, control, &mut |e| {
            if let ffnn::train::Event::Step { samples, .. } = e {
                samples_seen += samples;
            }
        })
        .unwrap();
        assert!(!stopped);
        calls += 1;
        assert_eq!(samples_seen, 203 * calls, "each call is one whole epoch");
    }
    assert_eq!(calls, 5);
    assert_eq!(run.model.layers, whole.model.layers);
}

/// A table that records the order in which training reads its rows, and each batch it
/// gathers (`false`) or is asked to prefetch (`true`), in order.
struct Recording(Table, std::sync::Mutex<Vec<usize>>, std::sync::Mutex<Vec<(bool, Vec<usize>)>>);

impl Samples for Recording {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn features(&self) -> usize {
        self.0.features()
    }
    fn labels(&self) -> &[u8] {
        self.0.labels()
    }
    fn image_shape(&self) -> Option<(usize, usize)> {
        None
    }
    fn gather(&self, indices: &[usize], x: &mut ffnn::tensor::Matrix, y: &mut Vec<u8>) {
        self.1.lock().unwrap().extend(indices);
        self.2.lock().unwrap().push((false, indices.to_vec()));
        self.0.gather(indices, x, y)
    }
    fn prefetch(&self, indices: &[usize]) {
        self.2.lock().unwrap().push((true, indices.to_vec()));
    }
}

#[test]
fn training_prefetches_each_batch_one_step_before_it_gathers_it() {
    // 50 samples in batches of 16: 4 steps an epoch, the last of 2 samples; 3 epochs.
    let recording = Recording(noise_table(50, 8), Default::default(), Default::default());
    let config = TrainConfig { length: Length::Epochs(3), ..config() };
    train_model(&recording, None, &config, &mut |_| {}).unwrap();
    let events = recording.2.into_inner().unwrap();
    let gathered: Vec<&Vec<usize>> = events.iter().filter(|(p, _)| !p).map(|(_, b)| b).collect();
    assert_eq!(gathered.len(), 12);
    assert_eq!(gathered.iter().map(|b| b.len()).collect::<Vec<_>>(), [16, 16, 16, 2].repeat(3));
    // Within an epoch, right after gathering a batch, the next one is prefetched; the last
    // batch of an epoch is followed by none (the next epoch's order is drawn at its start).
    let mut expected = Vec::new();
    for epoch in gathered.chunks(4) {
        for (step, batch) in epoch.iter().enumerate() {
            expected.push((false, (*batch).clone()));
            if let Some(next) = epoch.get(step + 1) {
                expected.push((true, (*next).clone()));
            }
        }
    }
    assert_eq!(events, expected);
}

#[test]
fn shuffle_off_takes_the_batches_in_order_and_l2_shrinks_the_weights() {
    let plain = TrainConfig { dropout: 0.0, length: Length::Epochs(3), ..config() };
    let read_order = |config: &TrainConfig| {
        let recording = Recording(noise_table(50, 8), Default::default(), Default::default());
        train_model(&recording, None, config, &mut |_| {}).unwrap();
        recording.1.into_inner().unwrap()
    };
    let in_order: Vec<usize> = (0..3).flat_map(|_| 0..50).collect();
    assert_eq!(read_order(&TrainConfig { shuffle: false, ..plain.clone() }), in_order);
    let shuffled = read_order(&plain);
    assert_ne!(shuffled, in_order);
    assert_eq!(shuffled[..50].iter().copied().collect::<std::collections::BTreeSet<_>>().len(), 50, "a permutation");
    // An L2 penalty gives smaller weights than none, after the same steps.
    let table = noise_table(64, 8);
    let norm = |m: &ffnn::nn::Model| m.layers.iter().flat_map(|l| &l.weight.data).map(|w| w * w).sum::<f32>();
    let free = train_model(&table, None, &plain, &mut |_| {}).unwrap();
    let penalized = train_model(&table, None, &TrainConfig { l2: 0.5, ..plain.clone() }, &mut |_| {}).unwrap();
    assert!(norm(&penalized.model) < 0.9 * norm(&free.model), "{} vs {}", norm(&penalized.model), norm(&free.model));
}

#[test]
fn a_table_may_have_more_classes_than_its_labels_show() {
    let table = noise_table(30, 9);
    assert_eq!(table.classes(), 3);
    let table = table.with_classes(5).unwrap();
    let run = train_model(&table, None, &config(), &mut |_| {}).unwrap();
    assert_eq!(run.model.classes(), 5);
    assert!(noise_table(30, 9).with_classes(2).is_none(), "label 2 needs 3 classes");
    assert!(noise_table(30, 9).with_image_shape(4, 9).is_some_and(|t| t.image_shape() == Some((4, 9))));
    assert!(noise_table(30, 9).with_image_shape(5, 7).is_none());
}

#[test]
fn a_view_of_borrowed_rows_trains_the_same_network_as_the_table() {
    let table = noise_table(120, 10).with_image_shape(6, 6).unwrap();
    let view =
        ffnn::data::TableView { values: &table.values, labels: &table.labels, width: 36, classes: 3, image_shape: Some((6, 6)) };
    let a = train_model(&table, None, &config(), &mut |_| {}).unwrap();
    let b = train_model(&view, None, &config(), &mut |_| {}).unwrap();
    assert_eq!(a.model, b.model);
    assert_eq!(b.model.input_shape, (6, 6));
}

#[test]
fn the_accuracy_counts_the_predictions_that_are_right() {
    // Logits 1e-10 apart: in `f32` their softmax probabilities are equal, and the first class
    // is predicted, although the second logit is the larger one.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut model = ffnn::nn::Model::new(&[1, 2], ffnn::nn::Activation::Relu, ffnn::nn::Init::He, &mut rng);
    model.layers[0].weight.data.fill(0.0);
    model.layers[0].bias = vec![0.0, 1e-10];
    let logits = ffnn::tensor::Matrix::from_vec(1, 2, model.layers[0].bias.clone());
    let mut p = ffnn::tensor::Matrix::default();
    ffnn::nn::softmax(&logits, &mut p);
    assert_eq!(p.data[0], p.data[1], "a tie in probability");
    assert_eq!(ffnn::tensor::argmax(&logits.data), 1, "not in the logits");
    // Two samples of class 1 and one of class 0: the prediction (class 0 for all) is right once.
    let table = Table::new(vec![0.5, 0.25, 1.0], vec![1, 1, 0], 1).unwrap();
    let e = evaluate(&model, &table);
    assert_eq!(e.predictions, [0, 0, 0]);
    assert_eq!(e.accuracy, 1.0 / 3.0, "the accuracy the predictions (and the confusion matrix) give");
}
