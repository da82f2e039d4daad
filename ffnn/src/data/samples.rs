//! What training and evaluation read: labelled samples of a fixed number of features, gathered
//! into batch matrices. Images ([`Dataset`], `u8` pixels scaled to `[0, 1]`) and tables of
//! numbers ([`Table`], `f32` features as given, e.g. from a numpy array) both are.

use super::Dataset;
use crate::tensor::Matrix;

/// Labelled samples that `train_model` and `evaluate` can read.
pub trait Samples: Sync {
    /// Number of samples.
    fn len(&self) -> usize;

    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Features per sample: the network's input size.
    fn features(&self) -> usize;

    /// The class of each sample, `0..classes`.
    fn labels(&self) -> &[u8];

    /// One more than the largest label.
    fn classes(&self) -> usize {
        self.labels().iter().copied().max().map_or(0, |m| m as usize + 1)
    }

    /// `(height, width)` when the samples are images (augmentation and the model's input
    /// shape need it); `None` for a table.
    fn image_shape(&self) -> Option<(usize, usize)>;

    /// Copies the samples `indices` into the rows of `x` and their labels into `y`; both buffers
    /// keep their allocations from call to call.
    fn gather(&self, indices: &[usize], x: &mut Matrix, y: &mut Vec<u8>);

    /// Starts fetching the samples `indices` from memory into the CPU's caches without waiting
    /// for them ([`crate::tensor::prefetch_cache_lines`]): the training loop calls it with the
    /// next batch, so that [`Samples::gather`] (or the listing of its non-zero pixels) finds
    /// them there. Does nothing unless the samples say how they are stored.
    fn prefetch(&self, indices: &[usize]) {
        let _ = indices;
    }

    /// The samples as images of bytes (`k` standing for `k/255`), when they are stored so: the
    /// training step then lists a batch's non-zero pixels straight from the bytes.
    fn images(&self) -> Option<&Dataset> {
        None
    }
}

impl Samples for Dataset {
    fn len(&self) -> usize {
        Dataset::len(self)
    }

    fn features(&self) -> usize {
        self.pixels()
    }

    fn labels(&self) -> &[u8] {
        &self.labels
    }

    fn image_shape(&self) -> Option<(usize, usize)> {
        Some((self.height, self.width))
    }

    fn gather(&self, indices: &[usize], x: &mut Matrix, y: &mut Vec<u8>) {
        Dataset::gather(self, indices, x, y)
    }

    fn prefetch(&self, indices: &[usize]) {
        crate::tensor::prefetch_cache_lines(indices.iter().map(|&i| self.image(i)));
    }

    fn images(&self) -> Option<&Dataset> {
        Some(self)
    }
}

/// Labelled rows of `f32` features, used as they are (no scaling): tabular data, or images
/// whose pixels are already numbers (then [`Table::with_image_shape`] says how they are laid out).
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// `len() × width` features, row after row.
    pub values: Vec<f32>,
    /// Class of each row, `0..classes`.
    pub labels: Vec<u8>,
    /// Features per row.
    pub width: usize,
    /// The number of classes, at least one more than the largest label (a batch of data need
    /// not show every class, as in scikit-learn's `partial_fit(…, classes=…)`).
    pub classes: usize,
    /// `(height, width)` of the images the rows are, if they are.
    pub image_shape: Option<(usize, usize)>,
}

impl Table {
    /// A table of `labels.len()` rows of `width` features, with as many classes as the largest
    /// label says; `None` when `values` does not hold exactly that many.
    pub fn new(values: Vec<f32>, labels: Vec<u8>, width: usize) -> Option<Table> {
        let classes = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
        (values.len() == labels.len() * width).then_some(Table { values, labels, width, classes, image_shape: None })
    }

    /// The same table with `classes` classes; `None` when a label is not below it.
    pub fn with_classes(self, classes: usize) -> Option<Table> {
        (self.classes <= classes).then_some(Table { classes, ..self })
    }

    /// The same table read as `height × width` images; `None` when that is not the row width.
    pub fn with_image_shape(self, height: usize, width: usize) -> Option<Table> {
        (height * width == self.width).then_some(Table { image_shape: Some((height, width)), ..self })
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        self.view().row(i)
    }

    /// The table as a [`TableView`] of its storage.
    pub fn view(&self) -> TableView<'_> {
        TableView {
            values: &self.values,
            labels: &self.labels,
            width: self.width,
            classes: self.classes,
            image_shape: self.image_shape,
        }
    }
}

/// A table is read through its view: one implementation of the rows and their gathering.
impl Samples for Table {
    fn len(&self) -> usize {
        self.view().len()
    }

    fn features(&self) -> usize {
        self.width
    }

    fn labels(&self) -> &[u8] {
        self.view().labels
    }

    fn classes(&self) -> usize {
        self.classes
    }

    fn image_shape(&self) -> Option<(usize, usize)> {
        self.image_shape
    }

    fn gather(&self, indices: &[usize], x: &mut Matrix, y: &mut Vec<u8>) {
        self.view().gather(indices, x, y)
    }

    fn prefetch(&self, indices: &[usize]) {
        self.view().prefetch(indices)
    }
}

/// A [`Table`] over storage it does not own, such as a numpy array lent by the Python package
/// for the length of a call (training reads the rows in place: no copy of the data).
#[derive(Clone, Copy, Debug)]
pub struct TableView<'a> {
    /// `len() × width` features, row after row.
    pub values: &'a [f32],
    /// Class of each row, `0..classes`.
    pub labels: &'a [u8],
    /// Features per row.
    pub width: usize,
    /// The number of classes (see [`Table::classes`]).
    pub classes: usize,
    /// `(height, width)` of the images the rows are, if they are.
    pub image_shape: Option<(usize, usize)>,
}

impl<'a> TableView<'a> {
    /// Row `i`.
    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.values[i * self.width..(i + 1) * self.width]
    }
}

impl Samples for TableView<'_> {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn features(&self) -> usize {
        self.width
    }

    fn labels(&self) -> &[u8] {
        self.labels
    }

    fn classes(&self) -> usize {
        self.classes
    }

    fn image_shape(&self) -> Option<(usize, usize)> {
        self.image_shape
    }

    fn gather(&self, indices: &[usize], x: &mut Matrix, y: &mut Vec<u8>) {
        let width = self.width;
        x.reshape(indices.len(), width);
        crate::parallel::for_each_chunk_mut(&mut x.data, width.max(1), 16, &|first, rows| {
            let mine = &indices[first..first + rows.len() / width.max(1)];
            crate::tensor::touch_cache_lines(mine.iter().map(|&i| self.row(i)));
            for (out, &i) in rows.chunks_exact_mut(width.max(1)).zip(mine) {
                out.copy_from_slice(self.row(i));
            }
        });
        y.clear();
        y.extend(indices.iter().map(|&i| self.labels[i]));
    }

    fn prefetch(&self, indices: &[usize]) {
        crate::tensor::prefetch_cache_lines(indices.iter().map(|&i| self.row(i)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_of_the_scaled_pixels_gathers_what_the_images_do() {
        let images = Dataset {
            images: (0..6 * 4).map(|i| (i * 37 % 256) as u8).collect(),
            labels: vec![0, 1, 2, 1, 0, 2],
            height: 2,
            width: 2,
        };
        let table =
            Table::new(images.images.iter().map(|&p| p as f32 * (1.0 / 255.0)).collect(), images.labels.clone(), 4).unwrap();
        let (mut a, mut b, mut ya, mut yb) = (Matrix::default(), Matrix::default(), Vec::new(), Vec::new());
        Samples::gather(&images, &[4, 0, 5], &mut a, &mut ya);
        table.gather(&[4, 0, 5], &mut b, &mut yb);
        assert_eq!((a, ya), (b, yb));
        assert_eq!((table.features(), table.classes(), table.image_shape()), (4, 3, None));
        assert!(Table::new(vec![0.0; 5], vec![0, 1], 3).is_none());
    }
}
