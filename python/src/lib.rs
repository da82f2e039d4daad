//! `ffnn._ffnn`: the library crate on numpy arrays, for the Python package.
//!
//! The package's Python code (`python/ffnn/`) is the scikit-learn estimator and the seed's
//! functions with their docstrings; this module is the part that computes:
//!
//! | item | what |
//! |---|---|
//! | `Data` | a training set: `X` lent in place (or kept as bytes when its values are pixels `k/255`) and the class codes |
//! | `Run` | a model with everything training carries on with (optimizer state, RNG, step count) |
//! | `load_dataset`, `read_metadata` | files the `ffnn` command reads and writes |
//! | `seed_*` | the seed's functions, one layer list `[(W, b), …]` in and out |
//!
//! Every call that computes releases the GIL (`Python::detach`), so other Python threads run
//! meanwhile; training runs on a thread of its own while the caller's thread waits, checking
//! for signals, so Ctrl-C stops it within a step and raises `KeyboardInterrupt`.
//! Library errors become `ValueError` (bad settings or data), `FileNotFoundError` / `OSError`
//! (paths) or `MemoryError`, with the library's one-line message.

use ffnn::data::{Dataset, Samples, Table, TableView};
use ffnn::nn::{Activation, Init, Layer, Model, ModelState, model_backward, model_forward};
use ffnn::optim::{Optimizer, OptimizerState, update_parameters};
use ffnn::tensor::Matrix;
use ffnn::train::{Checkpoint, Event, TrainConfig, TrainControl, continue_training, initialize_run};
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyFileNotFoundError, PyMemoryError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// One layer `(W, b)` as numpy arrays, going to Python.
type PyLayer<'py> = (Bound<'py, PyArray2<f32>>, Bound<'py, PyArray1<f32>>);
/// One layer `(W, b)` as numpy arrays, coming from Python.
type LayerArg<'py> = (PyReadonlyArray2<'py, f32>, PyReadonlyArray1<'py, f32>);

/// Samples and their labels `(X, y)` as numpy arrays.
type PySamples<'py> = (Bound<'py, PyArray2<f32>>, Bound<'py, PyArray1<i64>>);

/// Large blocks start on a cache line, as in the `ffnn` command, so the kernels run at the
/// same speed from Python (see `ffnn::alloc`). It serves this module's Rust allocations only.
#[global_allocator]
static ALLOCATOR: ffnn::alloc::CacheAligned = ffnn::alloc::CacheAligned;

/// A library error as the Python exception a Python user expects, with ffnn's message.
fn to_py(error: ffnn::Error) -> PyErr {
    let message = error.to_string();
    match &error {
        ffnn::Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
        ffnn::Error::Io { .. } => PyOSError::new_err(message),
        ffnn::Error::OutOfMemory { .. } => PyMemoryError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

/// A `ValueError` with `message`.
fn value_error(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

/// The rows of a C-contiguous 2-d `f32` array, or a `ValueError` naming `what`.
fn rows<'a>(array: &'a PyReadonlyArray2<'_, f32>, what: &str) -> PyResult<(&'a [f32], usize, usize)> {
    let (n, width) = (array.shape()[0], array.shape()[1]);
    let values = array.as_slice().map_err(|_| value_error(format!("{what} must be a C-contiguous float32 array")))?;
    Ok((values, n, width))
}

/// The first non-finite entry of `values` (rows of `width`), as "row i, column j".
fn first_non_finite(values: &[f32], width: usize) -> Option<String> {
    // A branch-free pass over blocks (it vectorizes), then the search in the block at fault.
    const BLOCK: usize = 4096;
    let block = values.chunks(BLOCK).position(|b| !b.iter().fold(true, |ok, v| ok & v.is_finite()))?;
    let at = block * BLOCK + values[block * BLOCK..].iter().position(|v| !v.is_finite())?;
    Some(format!("{} at row {}, column {}", values[at], at / width.max(1), at % width.max(1)))
}

/// `f` on a team of `threads` threads (at most one per core, as the `ffnn` command does).
/// (`usize::MAX`: one per core.)
fn on_threads<R>(threads: usize, f: impl FnOnce() -> R) -> R {
    ffnn::parallel::with_threads(threads.clamp(1, ffnn::parallel::usable_cores()), f)
}

/// A training set as the trainer reads it: class codes `0..classes` and the rows, either lent
/// by a float32 numpy array and read in place (no copy), or, when every value is a pixel
/// `k/255` (as `load_dataset` gives), kept as bytes like the `ffnn` command keeps its images:
/// a quarter of the memory traffic, and the same bits as `ffnn train` for the same settings.
#[pyclass(module = "ffnn._ffnn", frozen)]
struct Data {
    rows: Rows,
    labels: Vec<u8>,
    width: usize,
    classes: usize,
    image_shape: Option<(usize, usize)>,
}

/// Where a [`Data`]'s rows are.
enum Rows {
    /// `n × width`, C-contiguous float32, every entry finite (checked once, on creation).
    Lent(Py<PyArray2<f32>>),
    /// The same values as bytes `k` of `k/255` (a height-1 image when they are not images).
    Pixels(Dataset),
}

/// Pixel rows with the class count and image shape of the [`Data`] they belong to.
struct PixelRows<'a> {
    pixels: &'a Dataset,
    classes: usize,
    image_shape: Option<(usize, usize)>,
}

impl Samples for PixelRows<'_> {
    fn len(&self) -> usize {
        self.pixels.len()
    }
    fn features(&self) -> usize {
        self.pixels.pixels()
    }
    fn labels(&self) -> &[u8] {
        &self.pixels.labels
    }
    fn classes(&self) -> usize {
        self.classes
    }
    fn image_shape(&self) -> Option<(usize, usize)> {
        self.image_shape
    }
    fn gather(&self, indices: &[usize], x: &mut Matrix, y: &mut Vec<u8>) {
        self.pixels.gather(indices, x, y)
    }
    fn prefetch(&self, indices: &[usize]) {
        Samples::prefetch(self.pixels, indices)
    }
    fn images(&self) -> Option<&Dataset> {
        Some(self.pixels)
    }
}

/// `values` as the bytes of `k/255` pixels, if every one is exactly what `Dataset::gather`
/// makes of a byte (`k as f32 * (1/255)`). Checked block by block, branch-free inside a block
/// (it vectorizes), so a table of other numbers is told apart within its first block.
fn as_pixels(values: &[f32]) -> Option<Vec<u8>> {
    const BLOCK: usize = 4096;
    let mut bytes = vec![0u8; values.len()];
    let other = AtomicBool::new(false);
    // Split between the cores: the pass is a fifth of a second for MNIST on one.
    on_threads(usize::MAX, || {
        ffnn::parallel::for_each_chunk_mut(&mut bytes, BLOCK, 1, &|first, out| {
            for (k, out) in out.chunks_mut(BLOCK).enumerate() {
                let start = (first + k) * BLOCK;
                let mut exact = !other.load(Ordering::Relaxed);
                for (o, &v) in out.iter_mut().zip(&values[start..]) {
                    // `as` saturates: NaN → 0, below 0 → 0, above 255 → 255; the comparison
                    // catches them.
                    let byte = (v * 255.0 + 0.5) as u8;
                    exact &= byte as f32 * ffnn::data::PIXEL_SCALE == v;
                    *o = byte;
                }
                if !exact {
                    other.store(true, Ordering::Relaxed);
                    return;
                }
            }
        })
    });
    (!other.into_inner()).then_some(bytes)
}

impl Data {
    /// The samples as training reads them; lent rows are borrowed through `guard`.
    fn samples<'a, 'py: 'a>(
        &'a self,
        py: Python<'py>,
        guard: &'a mut Option<PyReadonlyArray2<'py, f32>>,
    ) -> PyResult<Box<dyn Samples + 'a>> {
        let x = match &self.rows {
            Rows::Pixels(pixels) => {
                return Ok(Box::new(PixelRows { pixels, classes: self.classes, image_shape: self.image_shape }));
            }
            Rows::Lent(x) => guard.insert(x.bind(py).clone().readonly()),
        };
        let (values, n, width) = rows(x, "X")?;
        if (n, width) != (self.labels.len(), self.width) {
            return Err(value_error(format!(
                "X was reshaped to {n}×{width} after it was given ({}×{})",
                self.labels.len(),
                self.width
            )));
        }
        let view = TableView { values, labels: &self.labels, width, classes: self.classes, image_shape: self.image_shape };
        Ok(Box::new(view))
    }
}

#[pymethods]
impl Data {
    /// Takes `x` (n × features, float32, C order) with the class codes `y` (uint8, below
    /// `classes`); `image_shape` = (height, width) when the rows are images (augmentation
    /// needs it). Rows of pixels `k/255` are kept as bytes; others are read in place from `x`,
    /// which must not change while a training call runs.
    #[new]
    #[pyo3(signature = (x, y, classes, image_shape=None))]
    fn new(
        py: Python<'_>,
        x: Bound<'_, PyArray2<f32>>,
        y: PyReadonlyArray1<'_, u8>,
        classes: usize,
        image_shape: Option<(usize, usize)>,
    ) -> PyResult<Data> {
        let readonly = x.readonly();
        let (values, n, width) = rows(&readonly, "X")?;
        let labels = y.as_slice().map_err(|_| value_error("y must be a contiguous uint8 array"))?.to_vec();
        if labels.len() != n {
            return Err(value_error(format!("X has {n} rows but y has {} labels", labels.len())));
        }
        if !(1..=256).contains(&classes) {
            return Err(value_error(format!("{classes} classes: ffnn takes 1 to 256")));
        }
        if let Some(bad) = labels.iter().find(|&&c| c as usize >= classes) {
            return Err(value_error(format!("label {bad} of y is not below the {classes} classes")));
        }
        if let Some((height, w)) = image_shape
            && height * w != width
        {
            return Err(value_error(format!("image_shape {height}×{w} is not the {width} features of a row")));
        }
        let pixels = py.detach(|| as_pixels(values));
        if pixels.is_none()
            && let Some(bad) = py.detach(|| first_non_finite(values, width))
        {
            return Err(value_error(format!("X holds {bad}; every feature must be a finite number")));
        }
        let rows = match pixels {
            Some(images) => {
                let (height, w) = image_shape.unwrap_or((1, width));
                Rows::Pixels(Dataset { images, labels: labels.clone(), height, width: w })
            }
            None => Rows::Lent(x.clone().unbind()),
        };
        Ok(Data { rows, labels, width, classes, image_shape })
    }

    /// Number of rows.
    fn __len__(&self) -> usize {
        self.labels.len()
    }

    /// Whether the rows are kept as bytes (every value a pixel `k/255`).
    #[getter]
    fn pixels(&self) -> bool {
        matches!(self.rows, Rows::Pixels(_))
    }
}

/// A network and its training state: what `fit` builds and `partial_fit` carries on.
#[pyclass(module = "ffnn._ffnn")]
#[derive(Clone)]
struct Run {
    run: Checkpoint,
}

/// Rust-side state shared by the training thread and the thread waiting for it.
#[derive(Default)]
struct Finished {
    done: Mutex<bool>,
    signal: Condvar,
}

#[pymethods]
impl Run {
    /// A fresh run of `config` (a `TrainConfig` as JSON) on data shaped like `data`.
    #[new]
    fn new(py: Python<'_>, config: &str, data: &Data) -> PyResult<Run> {
        let config: TrainConfig =
            serde_json::from_str(config).map_err(|e| value_error(format!("the training configuration: {e}")))?;
        let mut guard = None;
        let samples = data.samples(py, &mut guard)?;
        Ok(Run { run: initialize_run(samples.as_ref(), &config).map_err(to_py)? })
    }

    /// Trains one more epoch on `data` with `threads` threads; returns the epoch's mean
    /// mini-batch cost (plain cross-entropy, weighted by batch size). Ctrl-C raises
    /// `KeyboardInterrupt` within a step, leaving the run at the last finished step.
    fn train_epoch(&mut self, py: Python<'_>, data: &Data, threads: usize) -> PyResult<f64> {
        let stop = AtomicBool::new(false);
        let finished = Finished::default();
        let mut guard = None;
        let samples = data.samples(py, &mut guard)?;
        let (run, table) = (&mut self.run, samples.as_ref());
        let (mut loss_sum, mut samples) = (0.0f64, 0usize);
        let mut interrupted = None;
        let outcome = std::thread::scope(|scope| {
            let worker = scope.spawn(|| {
                let control = TrainControl { stop: Some(&stop), epochs: Some(1), ..Default::default() };
                let result = on_threads(threads, || {
                    continue_training(run, table, None, control, &mut |event| {
                        if let Event::Step { loss, samples: n, .. } = event {
                            loss_sum += loss as f64 * n as f64;
                            samples += n;
                        }
                    })
                });
                *finished.done.lock().unwrap() = true;
                finished.signal.notify_all();
                result
            });
            // Wait without the GIL, waking every 50 ms to let Python handle signals (Ctrl-C).
            loop {
                let done = py.detach(|| {
                    let done = finished.done.lock().unwrap();
                    let (done, _) = finished.signal.wait_timeout_while(done, Duration::from_millis(50), |d| !*d).unwrap();
                    *done
                });
                if done {
                    break;
                }
                if let Err(signal) = py.check_signals() {
                    stop.store(true, Ordering::Relaxed);
                    interrupted = Some(signal);
                    py.detach(|| {
                        let mut done = finished.done.lock().unwrap();
                        while !*done {
                            done = finished.signal.wait(done).unwrap();
                        }
                    });
                    break;
                }
            }
            worker.join()
        });
        if let Some(signal) = interrupted {
            return Err(signal);
        }
        match outcome {
            Ok(result) => result.map_err(to_py)?,
            Err(_) => return Err(PyRuntimeError::new_err("ffnn: training stopped on an internal error")),
        };
        Ok(loss_sum / samples.max(1) as f64)
    }

    /// Class probabilities of the rows of `x` (n × features, float32), in chunks of 1000.
    fn predict_proba<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
        threads: usize,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let (values, n, width) = rows(&x, "X")?;
        let model = &self.run.model;
        if width != model.inputs() {
            return Err(value_error(format!("X has {width} features, the model takes {}", model.inputs())));
        }
        if let Some(bad) = first_non_finite(values, width) {
            return Err(value_error(format!("X holds {bad}; every feature must be a finite number")));
        }
        let classes = model.classes();
        let probabilities = py.detach(|| on_threads(threads, || ffnn::nn::predict_in_blocks(model, values, n).data));
        PyArray1::from_vec(py, probabilities).reshape([n, classes])
    }

    /// `[(W, b), …]`: each layer's weights (inputs × outputs) and biases, as float32 arrays.
    fn layers<'py>(&self, py: Python<'py>) -> PyResult<Vec<PyLayer<'py>>> {
        layers_to_py(py, &self.run.model.layers)
    }

    /// Optimizer steps taken.
    #[getter]
    fn iterations(&self) -> usize {
        self.run.iteration
    }

    /// Seconds spent in training steps.
    #[getter]
    fn train_seconds(&self) -> f64 {
        self.run.train_seconds
    }

    /// The run's `TrainConfig` as JSON.
    #[getter]
    fn config(&self) -> String {
        serde_json::to_string(&self.run.config).expect("a TrainConfig serializes")
    }

    /// Layer sizes: inputs, hidden…, classes.
    #[getter]
    fn sizes(&self) -> Vec<usize> {
        self.run.model.sizes()
    }

    /// Makes the run open-ended, as `partial_fit` trains it one epoch a call on whatever data
    /// it is given: its length out of reach, a constant learning rate (a schedule needs the
    /// length), and the next call at the start of an epoch.
    fn open_ended(&mut self) {
        self.run.config.length = ffnn::train::Length::Iterations(usize::MAX / 2);
        self.run.config.schedule = ffnn::train::Schedule::Constant;
        if self.run.batches_done > 0 {
            self.run.epoch += 1;
            self.run.batches_done = 0;
        }
    }

    /// The same run, to train on without touching this one.
    fn copy(&self) -> Run {
        self.clone()
    }

    /// The whole run (model, optimizer state, RNG, history, config) as the bytes of an ffnn
    /// checkpoint file.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.run.to_bytes(&BTreeMap::new()))
    }

    /// A run from [`Run::to_bytes`].
    #[staticmethod]
    fn from_bytes(bytes: &[u8]) -> PyResult<Run> {
        let (run, _) = Checkpoint::from_bytes(bytes).map_err(to_py)?;
        Ok(Run { run })
    }

    /// Pickling: the checkpoint's bytes.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        Ok((py.get_type::<Run>().getattr("from_bytes")?, (self.to_bytes(py),)))
    }

    /// Writes the model as the `ffnn` command's model file (safetensors), atomically, with
    /// `metadata` added to its header.
    fn save_model(&self, py: Python<'_>, path: PathBuf, metadata: BTreeMap<String, String>) -> PyResult<()> {
        py.detach(|| ffnn::nn::model_file::save_model(&self.run.model, &path, &metadata)).map_err(to_py)
    }

    /// A run that continues from the model file at `path` with `config` (its hidden layers
    /// and activation must be the model's), its optimizer state fresh.
    #[staticmethod]
    fn from_model_file(path: PathBuf, config: &str) -> PyResult<Run> {
        let model = ffnn::nn::model_file::load_model(&path).map_err(to_py)?;
        let mut config: TrainConfig =
            serde_json::from_str(config).map_err(|e| value_error(format!("the training configuration: {e}")))?;
        let sizes = model.sizes();
        config.hidden = sizes[1..sizes.len() - 1].to_vec();
        config.activation = model.activation;
        // A throw-away table of the model's shape makes the fresh run; its model is replaced.
        let table = Table::new(vec![0.0; model.inputs()], vec![0], model.inputs())
            .and_then(|t| t.with_classes(model.classes()))
            .expect("one row of the model's width");
        let mut run = initialize_run(&table, &config).map_err(to_py)?;
        run.optimizer = OptimizerState::new(config.optimizer, config.learning_rate, &model);
        run.optimizer.weight_decay = config.weight_decay;
        run.model = model;
        Ok(Run { run })
    }
}

/// Layers as `(W, b)` numpy arrays.
fn layers_to_py<'py>(py: Python<'py>, layers: &[Layer]) -> PyResult<Vec<PyLayer<'py>>> {
    layers
        .iter()
        .map(|l| {
            let w = PyArray1::from_slice(py, &l.weight.data).reshape([l.weight.rows, l.weight.cols])?;
            Ok((w, PyArray1::from_slice(py, &l.bias)))
        })
        .collect()
}

/// Layers from `(W, b)` arrays: `W` is inputs × outputs, `b` has one entry per output, and each
/// layer's inputs are the previous one's outputs.
fn layers_from_py(layers: Vec<LayerArg<'_>>) -> PyResult<Vec<Layer>> {
    let mut out: Vec<Layer> = Vec::with_capacity(layers.len());
    for (l, (w, b)) in layers.iter().enumerate() {
        let (rows, cols) = (w.shape()[0], w.shape()[1]);
        let name = l + 1;
        let weight = w.as_array().iter().copied().collect::<Vec<f32>>();
        let bias = b.as_array().iter().copied().collect::<Vec<f32>>();
        if bias.len() != cols {
            return Err(value_error(format!("b{name} has {} entries, W{name} has {cols} columns (outputs)", bias.len())));
        }
        if let Some(previous) = out.last()
            && previous.outputs() != rows
        {
            return Err(value_error(format!("W{name} has {rows} rows, but layer {} has {} outputs", l, previous.outputs())));
        }
        out.push(Layer { weight: Matrix::from_vec(rows, cols, weight), bias });
    }
    if out.is_empty() {
        return Err(value_error("the model needs at least one layer (W1, b1)"));
    }
    Ok(out)
}

/// A 2-d array's entries, in row-major order, as a [`Matrix`].
fn matrix(array: &PyReadonlyArray2<'_, f32>) -> Matrix {
    Matrix::from_vec(array.shape()[0], array.shape()[1], array.as_array().iter().copied().collect())
}

/// A matrix as a 2-d numpy array.
fn matrix_to_py<'py>(py: Python<'py>, m: Matrix) -> PyResult<Bound<'py, PyArray2<f32>>> {
    PyArray1::from_vec(py, m.data).reshape([m.rows, m.cols])
}

/// `relu` or `sigmoid`.
fn activation(name: &str) -> PyResult<Activation> {
    Activation::from_name(name).ok_or_else(|| value_error(format!("activation {name:?}: valid values are 'relu' and 'sigmoid'")))
}

/// Class codes of `y` for `n` rows, each below `classes`.
fn labels(y: &PyReadonlyArray1<'_, i64>, n: usize, classes: usize) -> PyResult<Vec<u8>> {
    let y: Vec<i64> = y.as_array().iter().copied().collect();
    if y.len() != n {
        return Err(value_error(format!("y has {} labels for {n} rows", y.len())));
    }
    match y.iter().find(|&&c| c < 0 || c as usize >= classes) {
        Some(bad) => Err(value_error(format!("label {bad} is not a class of the model's {classes} (0 to {})", classes - 1))),
        None => Ok(y.iter().map(|&c| c as u8).collect()),
    }
}

/// A model of `layers` with `activation`, checked against an input of `inputs` columns.
fn model_of(layers: Vec<Layer>, activation_name: &str, inputs: usize) -> PyResult<Model> {
    let activation = activation(activation_name)?;
    if layers[0].inputs() != inputs {
        return Err(value_error(format!("X has {inputs} columns, W1 has {} rows", layers[0].inputs())));
    }
    if layers.last().is_some_and(|l| l.outputs() > 256) {
        return Err(value_error("the last layer has more than 256 outputs (classes)"));
    }
    Ok(Model { input_shape: (1, layers[0].inputs()), layers, activation })
}

/// `initialize_parameters`: `W_l ~ N(0, std²)`, `b_l = 0` for layer sizes `layer_dims`.
#[pyfunction]
fn seed_initialize_parameters(py: Python<'_>, layer_dims: Vec<usize>, seed: u64, std: f32) -> PyResult<Vec<PyLayer<'_>>> {
    use rand::SeedableRng;
    if layer_dims.len() < 2 || layer_dims.contains(&0) {
        return Err(value_error(format!("layer_dims {layer_dims:?}: at least two sizes (inputs, outputs), none 0")));
    }
    if !(std.is_finite() && std > 0.0) {
        return Err(value_error(format!("std {std}: must be a positive number")));
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    layers_to_py(py, &ffnn::nn::initialize_parameters(&layer_dims, Init::Normal { std }, &mut rng))
}

/// `linear_forward`: `Z = A_prev·W + b`.
#[pyfunction]
fn seed_linear_forward<'py>(
    py: Python<'py>,
    a_prev: PyReadonlyArray2<'py, f32>,
    w: PyReadonlyArray2<'py, f32>,
    b: PyReadonlyArray1<'py, f32>,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let layer = layers_from_py(vec![(w, b)])?.remove(0);
    let a_prev = matrix(&a_prev);
    if a_prev.cols != layer.inputs() {
        return Err(value_error(format!("A_prev has {} columns, W has {} rows", a_prev.cols, layer.inputs())));
    }
    let mut z = Matrix::default();
    ffnn::nn::linear_forward(&a_prev, &layer.weight, &layer.bias, &mut z);
    matrix_to_py(py, z)
}

/// `activation_forward`: `A = h(Z)`.
#[pyfunction]
fn seed_activation_forward<'py>(
    py: Python<'py>,
    z: PyReadonlyArray2<'py, f32>,
    activation_name: &str,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let mut z = matrix(&z);
    ffnn::nn::activation_forward(&mut z, activation(activation_name)?);
    matrix_to_py(py, z)
}

/// `softmax`: each row's probabilities.
#[pyfunction]
fn seed_softmax<'py>(py: Python<'py>, z: PyReadonlyArray2<'py, f32>) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let mut p = Matrix::default();
    ffnn::nn::softmax(&matrix(&z), &mut p);
    matrix_to_py(py, p)
}

/// `compute_loss`: the mean cross-entropy `J` of logits `Z` for labels `y`.
#[pyfunction]
fn seed_compute_loss(z: PyReadonlyArray2<'_, f32>, y: PyReadonlyArray1<'_, i64>) -> PyResult<f32> {
    let z = matrix(&z);
    let y = labels(&y, z.rows, z.cols)?;
    Ok(ffnn::nn::compute_loss(&z, &y))
}

/// `model_forward`: every layer's output `[A_1, …, A_{L−1}, Z_L]`.
#[pyfunction]
fn seed_model_forward<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f32>,
    layers: Vec<LayerArg<'py>>,
    activation_name: &str,
) -> PyResult<Vec<Bound<'py, PyArray2<f32>>>> {
    let x = matrix(&x);
    let model = model_of(layers_from_py(layers)?, activation_name, x.cols)?;
    let mut state = ModelState::default();
    model_forward(&model, &x, &mut state);
    state.outputs.into_iter().map(|m| matrix_to_py(py, m)).collect()
}

/// `model_backward`: `[(dW_l, db_l), …]` from the forward pass's outputs (as
/// [`seed_model_forward`] returns them) and the labels.
#[pyfunction]
fn seed_model_backward<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f32>,
    layers: Vec<LayerArg<'py>>,
    activation_name: &str,
    outputs: Vec<PyReadonlyArray2<'py, f32>>,
    y: PyReadonlyArray1<'py, i64>,
) -> PyResult<Vec<PyLayer<'py>>> {
    let x = matrix(&x);
    let model = model_of(layers_from_py(layers)?, activation_name, x.cols)?;
    let outputs: Vec<Matrix> = outputs.iter().map(matrix).collect();
    if outputs.len() != model.layers.len() {
        return Err(value_error(format!(
            "model_state has {} layer outputs, the model {} layers",
            outputs.len(),
            model.layers.len()
        )));
    }
    for (l, (out, layer)) in outputs.iter().zip(&model.layers).enumerate() {
        if (out.rows, out.cols) != (x.rows, layer.outputs()) {
            return Err(value_error(format!(
                "model_state's output of layer {} is {}×{}, expected {}×{}",
                l + 1,
                out.rows,
                out.cols,
                x.rows,
                layer.outputs()
            )));
        }
    }
    let y = labels(&y, x.rows, model.classes())?;
    let state = ModelState { outputs, ..Default::default() };
    let mut grads = ffnn::nn::Gradients::for_model(&model);
    model_backward(&model, &x, &state, &y, &mut grads);
    layers_to_py(py, &grads.layers)
}

/// `update_parameters`: one plain gradient-descent step `θ ← θ − α·dθ` on every layer.
#[pyfunction]
fn seed_update_parameters<'py>(
    py: Python<'py>,
    layers: Vec<LayerArg<'py>>,
    grads: Vec<LayerArg<'py>>,
    learning_rate: f32,
) -> PyResult<Vec<PyLayer<'py>>> {
    let layers = layers_from_py(layers)?;
    let grads = layers_from_py(grads)?;
    let shapes = |ls: &[Layer]| ls.iter().map(|l| (l.inputs(), l.outputs())).collect::<Vec<_>>();
    if shapes(&layers) != shapes(&grads) {
        return Err(value_error(format!(
            "the gradients' shapes {:?} are not the parameters' {:?}",
            shapes(&grads),
            shapes(&layers)
        )));
    }
    if !(learning_rate.is_finite() && learning_rate > 0.0) {
        return Err(value_error(format!("learning_rate {learning_rate}: must be a positive number")));
    }
    let inputs = layers[0].inputs();
    let mut model = Model { layers, activation: Activation::Relu, input_shape: (1, inputs) };
    let gradients = ffnn::nn::Gradients { layers: grads, ..Default::default() };
    let mut sgd = OptimizerState::new(Optimizer::Sgd, learning_rate, &model);
    update_parameters(&mut model, &gradients, &mut sgd);
    layers_to_py(py, &model.layers)
}

/// `((X_train, y_train), (X_test, y_test), (height, width))` of a dataset the `ffnn` command
/// reads (IDX raw or gzip, a PNG tree folder or zip): pixels as float32 in [0, 1], one image a
/// row, labels as int64.
#[pyfunction]
fn load_dataset(py: Python<'_>, path: PathBuf) -> PyResult<(PySamples<'_>, PySamples<'_>, (usize, usize))> {
    let split = py.detach(|| ffnn::data::load_dataset(&path)).map_err(to_py)?;
    let shape = (split.train.height, split.train.width);
    let (train_x, train_y) = py.detach(|| split.train.to_matrix());
    let (test_x, test_y) = py.detach(|| split.test.to_matrix());
    let ints = |y: Vec<u8>| PyArray1::from_vec(py, y.into_iter().map(i64::from).collect());
    Ok(((matrix_to_py(py, train_x)?, ints(train_y)), (matrix_to_py(py, test_x)?, ints(test_y)), shape))
}

/// The string metadata in a model file's header (ffnn's own keys and any added on saving).
#[pyfunction]
fn read_metadata(path: PathBuf) -> PyResult<HashMap<String, String>> {
    let bytes = std::fs::read(&path).map_err(|e| to_py(ffnn::Error::io(&path, e)))?;
    ffnn::nn::model_file::read_metadata(&bytes).map_err(|e| to_py(e.in_file(&path)))
}

/// The number of cores training uses by default.
#[pyfunction]
fn usable_cores() -> usize {
    ffnn::parallel::usable_cores()
}

/// The native module.
#[pymodule]
fn _ffnn(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Data>()?;
    m.add_class::<Run>()?;
    m.add_function(wrap_pyfunction!(load_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(read_metadata, m)?)?;
    m.add_function(wrap_pyfunction!(usable_cores, m)?)?;
    m.add_function(wrap_pyfunction!(seed_initialize_parameters, m)?)?;
    m.add_function(wrap_pyfunction!(seed_linear_forward, m)?)?;
    m.add_function(wrap_pyfunction!(seed_activation_forward, m)?)?;
    m.add_function(wrap_pyfunction!(seed_softmax, m)?)?;
    m.add_function(wrap_pyfunction!(seed_compute_loss, m)?)?;
    m.add_function(wrap_pyfunction!(seed_model_forward, m)?)?;
    m.add_function(wrap_pyfunction!(seed_model_backward, m)?)?;
    m.add_function(wrap_pyfunction!(seed_update_parameters, m)?)?;
    Ok(())
}
