//! `ffnn serve`: the drawing page and JSON API for a saved model.

use clap::Args;
use ffnn::error::Error;
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
    let (model, classes, accuracy) = super::load_served_model(&args.model)?;
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
