//! `ffnn export MODEL --onnx FILE --html FILE`: a model for other runtimes, and as a one-file
//! web page.

use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("format").required(true).multiple(true).args(["onnx", "html"])))]
pub struct ExportArgs {
    /// Model file (model.safetensors of a run folder).
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// Write the network as an ONNX graph (opset 13: Gemm, Relu or Sigmoid, Softmax; input
    /// `input` [N, pixels] in [0, 1], output `probabilities` [N, classes]; class names in its
    /// metadata_props).
    #[arg(long, value_name = "FILE")]
    pub onnx: Option<PathBuf>,
    /// Write a self-contained web page with the model inside: the drawing canvas and upload of
    /// `ffnn serve`, predictions computed in the page (plain JavaScript), no server and no
    /// request to any host; it works opened from disk.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let (model, classes, accuracy) = super::load_served_model(&args.model)?;
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
    if let Some(path) = &args.html {
        ffnn::atomic_file::write_atomic(path, crate::serve::demo_page(&model, &classes, accuracy).as_bytes())?;
        eprintln!("wrote {} (open it in a browser: no server needed)", path.display());
    }
    Ok(())
}
