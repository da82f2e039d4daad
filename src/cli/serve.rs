//! `ffnn serve`: the drawing page and JSON API for a saved model.

use clap::Args;
use ffnn::error::{Error, io_error};
use ffnn::nn::model_file::{model_from_bytes, read_metadata};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Model file (model.safetensors of a run folder).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Address to listen on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8000")]
    pub addr: String,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.model).map_err(|e| io_error(&args.model, e))?;
    let model = model_from_bytes(&bytes).map_err(|e| e.in_file(&args.model))?;
    let metadata = read_metadata(&bytes).unwrap_or_default();
    let accuracy = metadata.get("ffnn.test_accuracy").and_then(|a| a.parse().ok());
    let classes = ffnn::data::Classes::from_metadata(&metadata, model.classes());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.addr)
            .await
            .map_err(|e| Error::invalid(format!("--addr {}: cannot listen there ({e})", args.addr)))?;
        eprintln!(
            "ffnn: serving {} ({}) on http://{}/ (Ctrl-C to stop)",
            args.model.display(),
            model.describe(),
            listener.local_addr()?
        );
        crate::serve::serve(listener, crate::serve::router(model, classes, accuracy)).await?;
        Ok(())
    })
}
