//! `ffnn eval`: a saved model on a dataset's test set.

use clap::Args;
use ffnn::data::load_dataset;
use ffnn::error::Error;
use ffnn::nn::model_file::load_model;
use ffnn::train::evaluate;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Model file (model.safetensors of a run folder).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Dataset whose test set to use [default: $FFNN_DATA, else ./data/mnist].
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// Threads [default: all cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Print one JSON line instead of the table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    super::set_threads(args.threads)?;
    let model = load_model(&args.model)?;
    let data_path = super::resolve_data(args.data.as_deref())?;
    let data = load_dataset(&data_path)?;
    let test = &data.test;
    if test.pixels() != model.inputs() {
        return Err(Error::file(
            &args.model,
            format!(
                "the model takes {} inputs but {} has {}×{} images",
                model.inputs(),
                data_path.display(),
                test.width,
                test.height
            ),
        )
        .into());
    }
    if test.classes() > model.classes() {
        return Err(Error::file(
            &args.model,
            format!(
                "the model knows {} classes but {} has labels up to {}",
                model.classes(),
                data_path.display(),
                test.classes() - 1
            ),
        )
        .into());
    }
    let e = evaluate(&model, test);
    let classes = model.classes();
    let confusion = e.confusion_matrix(&test.labels, classes);
    if args.json {
        #[derive(serde::Serialize)]
        struct Report<'a> {
            model: &'a std::path::Path,
            data: &'a std::path::Path,
            architecture: String,
            samples: usize,
            accuracy: f32,
            loss: f32,
            confusion_matrix: &'a [Vec<usize>],
        }
        let report = Report {
            model: &args.model,
            data: &data_path,
            architecture: model.describe(),
            samples: test.len(),
            accuracy: e.accuracy,
            loss: e.loss,
            confusion_matrix: &confusion,
        };
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!("model     {} ({})", args.model.display(), model.describe());
    println!("data      {} (test set, {} images)", data_path.display(), test.len());
    println!("accuracy  {:.2}%  ({} of {} correct)", e.accuracy * 100.0, (e.accuracy * test.len() as f32).round(), test.len());
    println!("loss      {:.4}", e.loss);
    println!();
    println!("confusion matrix (rows: true class, columns: predicted class)");
    print!("{:>6}", "");
    for c in 0..classes {
        print!("{c:>6}");
    }
    println!("{:>9}", "recall");
    for (t, row) in confusion.iter().enumerate() {
        print!("{t:>6}");
        for v in row {
            print!("{v:>6}");
        }
        let total: usize = row.iter().sum();
        let recall = if total > 0 { format!("{:.1}%", 100.0 * row[t] as f64 / total as f64) } else { "-".into() };
        println!("{recall:>9}");
    }
    Ok(())
}
