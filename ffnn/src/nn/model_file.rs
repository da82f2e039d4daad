//! Model files: safetensors, laid out as PyTorch's `nn.Sequential(Linear, act, Linear, …)`
//! state dict, so `model.load_state_dict(safetensors.torch.load_file(path))` takes it as it is:
//!
//! | tensor | shape | ffnn's `Layer` |
//! |---|---|---|
//! | `0.weight` | `[out, in]` | `W₁ᵀ` (ffnn keeps `W` as `in × out` because rows are samples) |
//! | `0.bias` | `[out]` | `b₁` |
//! | `2.weight`, `2.bias` | … | layer 2 (index 1 of the Sequential is the activation) |
//!
//! The architecture is in the file's metadata (`ffnn.sizes` = `784,256,10`,
//! `ffnn.activation` = `relu`, `ffnn.input_shape` = `28x28`), so `ffnn` loads a model without
//! flags. A file without that metadata (a state dict saved from PyTorch) loads too: sizes come
//! from the tensors, the activation defaults to ReLU.

use super::activation::Activation;
use super::init::Layer;
use super::model::Model;
use crate::error::{Error, Result, io_error};
use crate::tensor::Matrix;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The model as safetensors bytes, with `extra` added to the metadata.
pub fn model_to_bytes(model: &Model, extra: &BTreeMap<String, String>) -> Vec<u8> {
    model_to_bytes_with(model, extra, &[])
}

/// The model as safetensors bytes, with `extra` added to the metadata and `tensors`
/// (name, values) stored beside the model's as 1-D tensors: a checkpoint's optimizer state.
pub fn model_to_bytes_with(model: &Model, extra: &BTreeMap<String, String>, tensors: &[(String, &[f32])]) -> Vec<u8> {
    let sizes: Vec<String> = model.sizes().iter().map(|s| s.to_string()).collect();
    let mut metadata: HashMap<String, String> = extra.clone().into_iter().collect();
    metadata.insert("format".into(), "pt".into());
    metadata.insert("ffnn.version".into(), env!("CARGO_PKG_VERSION").into());
    metadata.insert("ffnn.sizes".into(), sizes.join(","));
    metadata.insert("ffnn.activation".into(), model.activation.name().into());
    metadata.insert("ffnn.input_shape".into(), format!("{}x{}", model.input_shape.0, model.input_shape.1));

    let le = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let mut buffers: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (l, layer) in model.layers.iter().enumerate() {
        let (inputs, outputs) = (layer.inputs(), layer.outputs());
        buffers.push((format!("{}.weight", 2 * l), vec![outputs, inputs], le(&layer.weight.transpose().data)));
        buffers.push((format!("{}.bias", 2 * l), vec![outputs], le(&layer.bias)));
    }
    for (name, values) in tensors {
        buffers.push((name.clone(), vec![values.len()], le(values)));
    }
    let views = buffers
        .iter()
        .map(|(name, shape, data)| (name.clone(), TensorView::new(Dtype::F32, shape.clone(), data).expect("shape matches data")));
    let mut bytes = safetensors::tensor::serialize(views, Some(metadata.clone())).expect("serializing f32 tensors cannot fail");
    sort_metadata(&mut bytes, &metadata);
    bytes
}

/// Puts the metadata's entries in the file in the order of their keys. safetensors writes
/// them from a `HashMap`, in an order that changes from one process to the next, and the same
/// model, trained with the same seed, should give the same bytes (a run's checksum repeats).
/// The metadata is the header's first entry (`{"__metadata__":{…}`): the same entries sorted
/// take exactly the same bytes, so they overwrite it in place. Should a future safetensors lay
/// the header out otherwise, the bytes stay as they are.
fn sort_metadata(bytes: &mut [u8], metadata: &HashMap<String, String>) {
    const PREFIX: &[u8] = b"{\"__metadata__\":";
    let sorted = serde_json::to_vec(&metadata.iter().collect::<BTreeMap<_, _>>()).expect("strings serialize");
    let start = 8 + PREFIX.len();
    if bytes.get(8..start) != Some(PREFIX) {
        return;
    }
    if let Some(slot) = bytes.get_mut(start..start + sorted.len())
        && serde_json::from_slice::<HashMap<String, String>>(slot).is_ok_and(|written| written == *metadata)
    {
        slot.copy_from_slice(&sorted);
    }
}

/// Saves the model to `path` atomically (temporary file, fsync, rename).
pub fn save_model(model: &Model, path: &Path, extra: &BTreeMap<String, String>) -> Result<()> {
    crate::atomic_file::write_atomic(path, &model_to_bytes(model, extra))
}

/// The metadata of a model file (empty when it has none).
pub fn read_metadata(bytes: &[u8]) -> Result<HashMap<String, String>> {
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| format!("not a safetensors model file, or truncated ({e})"))?;
    Ok(meta.metadata().clone().unwrap_or_default())
}

/// Reads a tensor as f32 values with the expected shape.
pub fn read_tensor(st: &SafeTensors, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
    let t = st.tensor(name).map_err(|_| format!("tensor {name} is missing"))?;
    if t.dtype() != Dtype::F32 {
        return Err(Error::Format(format!("tensor {name} is {:?}, ffnn reads F32", t.dtype())));
    }
    if t.shape() != shape {
        return Err(Error::Format(format!("tensor {name} has shape {:?}, expected {shape:?}", t.shape())));
    }
    let values: Vec<f32> = t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    if values.iter().any(|v| !v.is_finite()) {
        return Err(Error::Format(format!("tensor {name} holds NaN or infinite values")));
    }
    Ok(values)
}

/// Parses model bytes (see the module docs for the layout).
pub fn model_from_bytes(bytes: &[u8]) -> Result<Model> {
    let metadata = read_metadata(bytes)?;
    let st = SafeTensors::deserialize(bytes).map_err(|e| format!("not a safetensors model file, or truncated ({e})"))?;
    let sizes: Vec<usize> = match metadata.get("ffnn.sizes") {
        Some(s) => s
            .split(',')
            .map(|v| v.trim().parse::<usize>().ok().filter(|&n| n > 0))
            .collect::<Option<Vec<_>>>()
            .filter(|v| v.len() >= 2)
            .ok_or_else(|| format!("bad ffnn.sizes metadata {s:?}"))?,
        None => {
            // A plain state dict: follow 0.weight, 2.weight, … for the sizes.
            let mut sizes = Vec::new();
            let mut l = 0;
            while let Ok(t) = st.tensor(&format!("{}.weight", 2 * l)) {
                let [out, inp] = t.shape() else {
                    return Err(Error::Format(format!("tensor {}.weight is not a matrix", 2 * l)));
                };
                if sizes.is_empty() {
                    sizes.push(*inp);
                }
                sizes.push(*out);
                l += 1;
            }
            if sizes.is_empty() {
                return Err(Error::Format("no tensor 0.weight: not an ffnn or nn.Sequential model".into()));
            }
            sizes
        }
    };
    let activation = match metadata.get("ffnn.activation") {
        Some(a) => Activation::from_name(a).ok_or_else(|| format!("unknown activation {a:?} in the metadata"))?,
        None => Activation::Relu,
    };
    let mut layers = Vec::new();
    for (l, pair) in sizes.windows(2).enumerate() {
        let (inputs, outputs) = (pair[0], pair[1]);
        let w = read_tensor(&st, &format!("{}.weight", 2 * l), &[outputs, inputs])?;
        let bias = read_tensor(&st, &format!("{}.bias", 2 * l), &[outputs])?;
        layers.push(Layer { weight: Matrix::from_vec(outputs, inputs, w).transpose(), bias });
    }
    let input_shape = match metadata.get("ffnn.input_shape") {
        Some(s) => {
            let parsed = s.split_once('x').and_then(|(h, w)| Some((h.parse::<usize>().ok()?, w.parse::<usize>().ok()?)));
            match parsed {
                Some((h, w)) if h * w == sizes[0] => (h, w),
                _ => return Err(Error::Format(format!("bad ffnn.input_shape metadata {s:?} for {} inputs", sizes[0]))),
            }
        }
        None => {
            let side = (sizes[0] as f64).sqrt().round() as usize;
            if side * side == sizes[0] { (side, side) } else { (1, sizes[0]) }
        }
    };
    Ok(Model { layers, activation, input_shape })
}

/// The metadata key of the test accuracy the run that wrote a model file reached.
pub const TEST_ACCURACY_KEY: &str = "ffnn.test_accuracy";

/// Loads a model file.
pub fn load_model(path: &Path) -> Result<Model> {
    Ok(load_model_and_classes(path)?.0)
}

/// Loads a model file with what its metadata says of the classes (their names and the
/// dataset's; numbers when the file does not say, as files written before names were kept).
pub fn load_model_and_classes(path: &Path) -> Result<(Model, crate::data::Classes)> {
    let (model, metadata) = load_model_with_metadata(path)?;
    let classes = crate::data::Classes::from_metadata(&metadata, model.classes());
    Ok((model, classes))
}

/// Loads a model file with all the string metadata of its header, the file read once.
pub fn load_model_with_metadata(path: &Path) -> Result<(Model, HashMap<String, String>)> {
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    let model = model_from_bytes(&bytes).map_err(|e| e.in_file(path))?;
    let metadata = read_metadata(&bytes).map_err(|e| e.in_file(path))?;
    Ok((model, metadata))
}
