//! `ffnn export MODEL --onnx FILE`: a model for other runtimes.

use clap::Args;
use ffnn::nn::model_file::load_model_and_classes;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Model file (model.safetensors of a run folder).
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// Write the network as an ONNX graph (opset 13: Gemm, Relu or Sigmoid, Softmax; input
    /// `input` [N, pixels] in [0, 1], output `probabilities` [N, classes]; class names in its
    /// metadata_props).
    #[arg(long, value_name = "FILE", required = true)]
    pub onnx: Option<PathBuf>,
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let (model, classes) = load_model_and_classes(&args.model)?;
    if let Some(path) = &args.onnx {
        ffnn::atomic_file::write_atomic(path, &ffnn::nn::onnx::onnx_bytes(&model, &classes))?;
        eprintln!(
            "wrote {} ({}, opset {}, classes: {})",
            path.display(),
            model.describe(),
            ffnn::nn::onnx::OPSET,
            classes.names.join(", ")
        );
    }
    Ok(())
}
