//! Datasets: labelled grayscale images, kept as `u8` and scaled to `[0, 1]` one batch at a time.
//!
//! | file | what |
//! |---|---|
//! | `idx.rs` | the IDX format of MNIST and Fashion-MNIST (raw or `.gz`) |
//! | `png_tree.rs` | the seed's layout: `train/` and `test/` folders of class folders of PNGs, or a `.zip` of it |
//! | `batches.rs` | `random_mini_batches` and turning sample indices into a batch matrix |

pub mod augment;
pub mod batches;
pub mod classes;
pub mod idx;
pub mod image;
pub mod png_tree;
pub mod samples;

pub use batches::{MiniBatches, random_mini_batches};
pub use classes::Classes;
pub use samples::{Samples, Table, TableView};

use crate::error::{Error, Result};
use crate::sparse::PackedRows;
use crate::tensor::Matrix;
use std::path::{Path, PathBuf};

/// Labelled images of one size: `len()` images of `height × width` pixels, one `u8` each.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dataset {
    /// Pixel bytes, image after image, each row-major.
    pub images: Vec<u8>,
    /// Class of each image, `0..classes`.
    pub labels: Vec<u8>,
    /// Rows of each image.
    pub height: usize,
    /// Pixels per row of each image.
    pub width: usize,
}

impl Dataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The fraction of non-zero pixels, estimated from up to 1000 images spread evenly over
    /// the set: about 0.19 for MNIST, 0.49 for Fashion-MNIST.
    pub fn density(&self) -> f32 {
        let step = self.len().div_ceil(1000).max(1);
        let (non_zero, all) = (0..self.len()).step_by(step).fold((0, 0), |(n, a), i| {
            let image = self.image(i);
            (n + image.iter().filter(|&&b| b != 0).count(), a + image.len())
        });
        non_zero as f32 / all.max(1) as f32
    }

    /// Pixels per image (`height · width`): the network's input size.
    pub fn pixels(&self) -> usize {
        self.height * self.width
    }

    /// The raw bytes of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * self.pixels()..(i + 1) * self.pixels()]
    }

    /// The images by their non-zero pixels ([`PackedRows`]), for listing mini-batches from:
    /// training packs a sparse training set once, before its first step.
    pub fn packed(&self) -> PackedRows {
        PackedRows::new(self.len(), self.pixels(), &|i| self.image(i))
    }

    /// One more than the largest label.
    pub fn classes(&self) -> usize {
        self.labels.iter().copied().max().map_or(0, |m| m as usize + 1)
    }

    /// How many images each class has.
    pub fn label_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes()];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// Which images a validation set of `n` drawn at random with `seed` holds out (`true`).
    fn validation_mask(&self, n: usize, seed: u64) -> Vec<bool> {
        use rand::SeedableRng;
        use rand::seq::SliceRandom;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(7);
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(&mut rng);
        let mut held = vec![false; self.len()];
        for &i in &order[..n.min(self.len())] {
            held[i] = true;
        }
        held
    }

    /// Splits off `n` images, drawn at random with `seed`, as a validation set: returns
    /// `(the rest, validation)`, both in their original order. The rest keeps this set's
    /// buffer (its images moved up in place), so only the `n` held-out images are copied: the
    /// split does not hold the training set twice.
    pub fn split_validation(self, n: usize, seed: u64) -> (Dataset, Dataset) {
        let held = self.validation_mask(n, seed);
        self.split_by_mask(&held)
    }

    /// `(the images not in `held`, the images in `held`)`, both in their original order.
    fn split_by_mask(mut self, held: &[bool]) -> (Dataset, Dataset) {
        let size = self.height * self.width;
        let count = held.iter().filter(|&&h| h).count();
        let mut out = Dataset {
            images: Vec::with_capacity(count * size),
            labels: Vec::with_capacity(count),
            height: self.height,
            width: self.width,
        };
        let mut kept = 0;
        for (i, &h) in held.iter().enumerate() {
            if h {
                out.images.extend_from_slice(self.image(i));
                out.labels.push(self.labels[i]);
            } else {
                // `kept ≤ i`: the image moves up over images already moved or held out.
                self.images.copy_within(i * size..(i + 1) * size, kept * size);
                self.labels[kept] = self.labels[i];
                kept += 1;
            }
        }
        // No `shrink_to_fit`: giving back the held-out tail would copy the whole buffer (the
        // `ffnn` binary's allocator moves large blocks), the very copy this split avoids.
        self.images.truncate(kept * size);
        self.labels.truncate(kept);
        (self, out)
    }

    /// All images as one matrix scaled to `[0, 1]`, with their labels.
    pub fn to_matrix(&self) -> (Matrix, Vec<u8>) {
        let mut x = Matrix::default();
        let mut y = Vec::new();
        let all: Vec<usize> = (0..self.len()).collect();
        self.gather(&all, &mut x, &mut y);
        (x, y)
    }

    /// Copies the images `indices` into the rows of `x`, scaled to `[0, 1]` (`x / 255`), and
    /// their labels into `y`. Both buffers keep their allocations from call to call.
    /// Rows are split between the threads: the copy is limited by memory latency (random rows).
    pub fn gather(&self, indices: &[usize], x: &mut Matrix, y: &mut Vec<u8>) {
        let pixels = self.pixels();
        x.reshape(indices.len(), pixels);
        crate::parallel::for_each_chunk_mut(&mut x.data, pixels.max(1), 16, &|first, rows| {
            let mine = &indices[first..first + rows.len() / pixels];
            crate::tensor::touch_cache_lines(mine.iter().map(|&i| self.image(i)));
            for (out, &i) in rows.chunks_exact_mut(pixels).zip(mine) {
                for (o, &byte) in out.iter_mut().zip(self.image(i)) {
                    *o = byte as f32 * PIXEL_SCALE;
                }
            }
        });
        y.clear();
        y.extend(indices.iter().map(|&i| self.labels[i]));
    }
}

/// What a pixel's byte is multiplied by to give the network's input: `k/255 ∈ [0, 1]` (as
/// `k · (1/255)`, the one rounding every path uses).
pub const PIXEL_SCALE: f32 = 1.0 / 255.0;

/// A training set and a test set of the same image size.
#[derive(Clone, Debug)]
pub struct DataSplit {
    /// What the network learns from.
    pub train: Dataset,
    /// What it is measured on (never trained on).
    pub test: Dataset,
    /// Where it was loaded from.
    pub source: PathBuf,
    /// What the classes are called, and the dataset's name.
    pub class_names: Classes,
    /// For a PNG tree, each test image's file (its path inside the folder or the zip), in the
    /// test set's order; `None` for IDX files, whose images are known by their index.
    pub test_files: Option<Vec<String>>,
}

impl DataSplit {
    /// Number of classes: one more than the largest training label.
    pub fn classes(&self) -> usize {
        self.train.classes()
    }

    /// The SHA-256 (hex) of the loaded data: image size, then the training and the test set's
    /// pixels and labels. Two copies of a dataset agree whatever their layout or compression
    /// (IDX raw or gzip, PNG folder or zip); a different dataset of the same shape does not.
    /// A checkpoint records it, so a run is never resumed on other data.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for set in [&self.train, &self.test] {
            for n in [set.height, set.width, set.len()] {
                hash.update((n as u64).to_le_bytes());
            }
            hash.update(&set.images);
            hash.update(&set.labels);
        }
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Holds `n` training images (drawn with `seed`) out as a validation set and returns it;
    /// `None` for `n = 0`. Refused ([`Error::Setting`] of `validation`) when the rest would be smaller than one
    /// batch of `batch_size` or would have no example of some class (the number of classes is
    /// the whole training set's).
    pub fn hold_out_validation(&mut self, n: usize, seed: u64, batch_size: usize) -> Result<Option<Dataset>> {
        if n == 0 {
            return Ok(None);
        }
        let total = self.train.len();
        if n >= total {
            return Err(Error::setting("validation", format!("{n}: the training set has only {total} images")));
        }
        if total - n < batch_size {
            return Err(Error::setting(
                "validation",
                format!(
                    "{n} leaves {} training images, fewer than one batch of {batch_size} (at most {} with this batch size)",
                    total - n,
                    total - batch_size
                ),
            ));
        }
        let classes = self.train.classes();
        let mask = self.train.validation_mask(n, seed);
        let mut counts = vec![0usize; classes];
        for (&label, _) in self.train.labels.iter().zip(&mask).filter(|(_, held)| !**held) {
            counts[label as usize] += 1;
        }
        if let Some(class) = counts.iter().position(|&k| k == 0) {
            return Err(Error::setting(
                "validation",
                format!("{n} leaves no training image of class {class}: hold out fewer images"),
            ));
        }
        let (rest, held) = std::mem::take(&mut self.train).split_by_mask(&mask);
        self.train = rest;
        Ok(Some(held))
    }
}

/// Loads a dataset from `path`, whichever of the supported layouts it has:
/// a folder of IDX files, a folder with `train/` and `test/` PNG trees, or a `.zip` of that.
pub fn load_dataset(path: &Path) -> Result<DataSplit> {
    let meta = std::fs::metadata(path).map_err(|e| crate::error::io_error(path, e))?;
    let split = if meta.is_file() {
        png_tree::load_zip(path)?
    } else if idx::find_idx_files(path).is_some() {
        idx::load_idx_folder(path)?
    } else if png_tree::find_root(path).is_some() {
        png_tree::load_folder(path)?
    } else {
        return Err(Error::file(
            path,
            "no dataset here: expected IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], \
             t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]) or train/ and test/ folders of PNGs",
        ));
    };
    check_split(&split)?;
    Ok(split)
}

/// Checks what every layout must satisfy: equal image sizes, no empty split, test labels
/// inside the training classes.
fn check_split(split: &DataSplit) -> Result<()> {
    let (train, test) = (&split.train, &split.test);
    if train.is_empty() || test.is_empty() {
        let which = if train.is_empty() { "training" } else { "test" };
        return Err(Error::file(&split.source, format!("the {which} set has no images")));
    }
    if (train.height, train.width) != (test.height, test.width) {
        return Err(Error::file(
            &split.source,
            format!("training images are {}×{} but test images are {}×{}", train.width, train.height, test.width, test.height),
        ));
    }
    let classes = train.classes();
    if split.class_names.len() != classes {
        return Err(Error::file(
            &split.source,
            format!("{} class names for {classes} classes (labels 0 to {})", split.class_names.len(), classes - 1),
        ));
    }
    if let Some(i) = test.labels.iter().position(|&l| l as usize >= classes) {
        return Err(Error::file(
            &split.source,
            format!("test label {} (image {i}) is outside the training classes 0..{}", test.labels[i], classes - 1),
        ));
    }
    Ok(())
}
