//! `ffnn predict`: the class and class probabilities of PNG images.

use clap::Args;
use ffnn::data::image::decode_gray_png;
use ffnn::error::{Error, io_error};
use ffnn::nn::model_file::load_model_and_classes;
use ffnn::nn::predict;
use ffnn::tensor::Matrix;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// Model file (model.safetensors of a run folder).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// PNG images of the model's input size (grayscale or colour; as the training images were:
    /// for MNIST a white digit on black).
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
    /// Print one JSON line per image.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: PredictArgs) -> anyhow::Result<()> {
    let (model, classes) = load_model_and_classes(&args.model)?;
    let (h, w) = model.input_shape;
    // Read and check every image first, so a bad one is reported before any output.
    let mut x = Matrix::zeros(args.images.len(), model.inputs());
    for (i, path) in args.images.iter().enumerate() {
        let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
        let img = decode_gray_png(&bytes).map_err(|e| e.in_file(path))?;
        if (img.width, img.height) != (w, h) {
            return Err(
                Error::file(path, format!("image is {}×{} but the model takes {w}×{h} images", img.width, img.height)).into()
            );
        }
        for (out, &p) in x.row_mut(i).iter_mut().zip(&img.pixels) {
            *out = p as f32 / 255.0;
        }
    }
    let (probabilities, _) = predict(&model, &x, None);
    for (i, path) in args.images.iter().enumerate() {
        let p = probabilities.row(i);
        let class = ffnn::tensor::argmax(p);
        if args.json {
            println!("{}", serde_json::json!({"image": path, "class": class, "name": classes.name(class), "probabilities": p}));
        } else if classes.are_numbered() {
            let probs: Vec<String> = p.iter().enumerate().map(|(c, v)| format!("{c}:{v:.3}")).collect();
            println!("{}: {class} (p = {:.3})  [{}]", path.display(), p[class], probs.join(" "));
        } else {
            let probs: Vec<String> = p.iter().enumerate().map(|(c, v)| format!("{}:{v:.3}", classes.name(c))).collect();
            println!("{}: {} ({class}, p = {:.3})  [{}]", path.display(), classes.name(class), p[class], probs.join(" "));
        }
    }
    Ok(())
}
