//! Mini-batches: every epoch the training set is shuffled and cut into consecutive batches of
//! `batch_size` samples; the last batch keeps the remainder (`60000 / 128` → 468 full batches
//! and one of 96), so every sample is seen exactly once per epoch.

use rand::Rng;
use rand::seq::SliceRandom;

/// A random partition of the sample indices `0..n` into mini-batches.
#[derive(Clone, Debug, PartialEq)]
pub struct MiniBatches {
    order: Vec<usize>,
    batch_size: usize,
}

/// The seed's `random_mini_batches`: shuffles `0..n` with `rng` and splits it into batches of
/// `batch_size` indices (the last one possibly smaller).
///
/// ```
/// use rand::SeedableRng;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// let batches = ffnn::data::random_mini_batches(10, 4, &mut rng);
/// let sizes: Vec<usize> = batches.iter().map(|b| b.len()).collect();
/// assert_eq!(sizes, [4, 4, 2]); // every sample once, the last batch smaller
/// ```
pub fn random_mini_batches(n: usize, batch_size: usize, rng: &mut impl Rng) -> MiniBatches {
    let mut batches = MiniBatches::new(n, batch_size);
    batches.reshuffle(rng);
    batches
}

impl MiniBatches {
    /// The partition of `0..n` in order (call [`MiniBatches::reshuffle`] to randomize it).
    pub fn new(n: usize, batch_size: usize) -> MiniBatches {
        MiniBatches { order: (0..n).collect(), batch_size: batch_size.max(1) }
    }

    /// A new random partition for the next epoch, reusing the index buffer.
    /// (Shuffles the identity, so the result depends only on the RNG state, not on the last epoch.)
    pub fn reshuffle(&mut self, rng: &mut impl Rng) {
        for (i, v) in self.order.iter_mut().enumerate() {
            *v = i;
        }
        self.order.shuffle(rng);
    }

    /// The batches, in order: each a slice of sample indices.
    pub fn iter(&self) -> std::slice::Chunks<'_, usize> {
        self.order.chunks(self.batch_size)
    }

    /// Number of batches per epoch, `⌈n / batch_size⌉`.
    pub fn len(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_sample_once_per_epoch_with_a_partial_last_batch() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let batches = random_mini_batches(10, 4, &mut rng);
        let sizes: Vec<usize> = batches.iter().map(|b| b.len()).collect();
        assert_eq!(sizes, vec![4, 4, 2]);
        assert_eq!(batches.len(), 3);
        let mut all: Vec<usize> = batches.iter().flatten().copied().collect();
        assert_ne!(all, (0..10).collect::<Vec<_>>(), "shuffled");
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    }
}
