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
