//! Saving and loading models: identical predictions after a round trip, and the PyTorch
//! `nn.Sequential` state-dict layout (names, shapes, dtype, transposed weights).

use ffnn::nn::model_file::{load_model, model_to_bytes, save_model};
use ffnn::nn::{Activation, Init, Model, predict};
use ffnn::tensor::Matrix;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

fn model(sizes: &[usize], activation: Activation) -> Model {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    Model::new(sizes, activation, Init::Torch, &mut rng)
}

#[test]
fn the_same_model_gives_the_same_bytes() {
    // safetensors writes its metadata from a HashMap, in an order that changes from one map
    // to the next: every file of the same model must still be the same bytes.
    let m = model(&[784, 32, 10], Activation::Relu);
    let extra: BTreeMap<String, String> = (0..12).map(|i| (format!("key{i}"), format!("value {i}"))).collect();
    let first = model_to_bytes(&m, &extra);
    for _ in 0..20 {
        assert_eq!(model_to_bytes(&m, &extra), first);
    }
    // Its metadata, sorted by key, and the model load back.
    let header_len = u64::from_le_bytes(first[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&first[8..8 + header_len]).unwrap();
    let positions: Vec<usize> =
        ["ffnn.activation", "ffnn.input_shape", "ffnn.sizes", "ffnn.version", "format", "key0", "key1", "key10"]
            .iter()
            .map(|key| header.find(&format!("\"{key}\"")).unwrap())
            .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{header}");
    assert_eq!(ffnn::nn::model_file::read_metadata(&first).unwrap()["key11"], "value 11");
}

#[test]
fn save_then_load_gives_identical_predictions() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let x = Matrix::from_vec(20, 784, (0..20 * 784).map(|_| rng.random_range(0.0..1.0)).collect());
    for (sizes, act) in [(vec![784, 10], Activation::Relu), (vec![784, 64, 32, 10], Activation::Sigmoid)] {
        let m = model(&sizes, act);
        let path = tmp.path().join("m.safetensors");
        save_model(&m, &path, &BTreeMap::new()).unwrap();
        let loaded = load_model(&path).unwrap();
        assert_eq!(loaded, m);
        assert_eq!(predict(&loaded, &x, None).0, predict(&m, &x, None).0);
    }
}

#[test]
fn layout_is_pytorch_sequential() {
    let m = model(&[784, 32, 10], Activation::Relu);
    let bytes = model_to_bytes(&m, &BTreeMap::new());
    // safetensors: u64 header length, JSON header, then the data.
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    let tensor = |name: &str| -> (Vec<usize>, Vec<f32>) {
        let t = &header[name];
        assert_eq!(t["dtype"], "F32", "{name}");
        let shape = t["shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        let off = t["data_offsets"].as_array().unwrap();
        let (a, b) = (off[0].as_u64().unwrap() as usize, off[1].as_u64().unwrap() as usize);
        (shape, data[a..b].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect())
    };
    let (s0, w0) = tensor("0.weight");
    assert_eq!(s0, vec![32, 784]);
    // PyTorch's weight[j][i] is ffnn's W[i][j].
    assert_eq!(w0[5 * 784 + 100], m.layers[0].weight.data[100 * 32 + 5]);
    assert_eq!(tensor("0.bias"), (vec![32], m.layers[0].bias.clone()));
    assert_eq!(tensor("2.weight").0, vec![10, 32]);
    assert_eq!(tensor("2.bias").0, vec![10]);
    let meta = &header["__metadata__"];
    assert_eq!(meta["ffnn.sizes"], "784,32,10");
    assert_eq!(meta["ffnn.activation"], "relu");
    assert_eq!(meta["ffnn.input_shape"], "28x28");
}
