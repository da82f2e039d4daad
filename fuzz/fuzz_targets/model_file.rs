//! The model-file and checkpoint loaders (safetensors and the metadata ffnn reads).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = ffnn::nn::model_file::model_from_bytes(data) {
        // A model that loads must also run.
        let x = ffnn::tensor::Matrix::zeros(1, model.inputs());
        let _ = ffnn::nn::predict(&model, &x, None);
    }
    let _ = ffnn::train::Checkpoint::from_bytes(data);
});
