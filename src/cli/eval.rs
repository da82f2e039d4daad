//! `ffnn eval`: a saved model on a dataset's test set.

use clap::Args;
use ffnn::data::Classes;
use ffnn::data::load_dataset;
use ffnn::error::Error;
use ffnn::nn::model_file::load_model_and_classes;
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
    let (model, model_classes) = load_model_and_classes(&args.model)?;
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
    let names = shown_classes(&model_classes, &data.class_names, &args.model, &data_path)?;
    let e = evaluate(&model, test);
    let classes = model.classes();
    let confusion = e.confusion_matrix(&test.labels, classes);
    if args.json {
        /// A test image the model got wrong.
        #[derive(serde::Serialize)]
        struct Mistake {
            /// Its index in the test set.
            index: usize,
            /// Its file (path inside the PNG tree's folder or zip); `null` for IDX data.
            file: Option<String>,
            label: usize,
            label_name: String,
            predicted: usize,
            predicted_name: String,
            confidence: f32,
        }
        #[derive(serde::Serialize)]
        struct Report<'a> {
            model: &'a std::path::Path,
            data: &'a std::path::Path,
            dataset: &'a str,
            architecture: String,
            samples: usize,
            accuracy: f32,
            loss: f32,
            classes: &'a [String],
            confusion_matrix: &'a [Vec<usize>],
            /// Every mistake, most confident first.
            mistakes: Vec<Mistake>,
        }
        let mistakes = e
            .mistakes(&test.labels)
            .into_iter()
            .map(|(index, confidence)| {
                let (label, predicted) = (test.labels[index] as usize, e.predictions[index] as usize);
                Mistake {
                    index,
                    file: data.test_files.as_ref().map(|f| f[index].clone()),
                    label,
                    label_name: names.name(label),
                    predicted,
                    predicted_name: names.name(predicted),
                    confidence,
                }
            })
            .collect();
        let report = Report {
            model: &args.model,
            data: &data_path,
            dataset: &names.dataset,
            architecture: model.describe(),
            samples: test.len(),
            accuracy: e.accuracy,
            loss: e.loss,
            classes: &names.names,
            confusion_matrix: &confusion,
            mistakes,
        };
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!("model     {} ({})", args.model.display(), model.describe());
    println!("data      {} ({}, test set, {} images)", data_path.display(), names.dataset, test.len());
    println!("accuracy  {:.2}%  ({} of {} correct)", e.accuracy * 100.0, (e.accuracy * test.len() as f32).round(), test.len());
    println!("loss      {:.4}", e.loss);
    println!();
    let noun = names.noun();
    println!("confusion matrix (rows: true {noun}, columns: predicted {noun})");
    // Named classes are shown by number in the columns, with a key below; numbered ones as they are.
    let numbered = names.are_numbered();
    let width = names.names.iter().map(|n| n.chars().count()).max().unwrap_or(1).max(5) + 1;
    let row_width = if numbered { 6 } else { width + 4 };
    print!("{:>row_width$}", "");
    for c in 0..classes {
        print!("{c:>6}");
    }
    println!("{:>9}", "recall");
    for (t, row) in confusion.iter().enumerate() {
        if numbered {
            print!("{t:>6}");
        } else {
            print!("{:>width$} {t:>3}", names.name(t));
        }
        for v in row {
            print!("{v:>6}");
        }
        let total: usize = row.iter().sum();
        let recall = if total > 0 { format!("{:.1}%", 100.0 * row[t] as f64 / total as f64) } else { "-".into() };
        println!("{recall:>9}");
    }
    Ok(())
}

/// The class names to show: the model's (from its file), or the data's when the file has only
/// numbers (a model written before names were kept). A model and data that both name their
/// classes must name them alike.
fn shown_classes(
    model: &Classes,
    data: &Classes,
    model_path: &std::path::Path,
    data_path: &std::path::Path,
) -> anyhow::Result<Classes> {
    if model.are_numbered() {
        return Ok(Classes {
            names: data.names.clone(),
            dataset: if model.dataset.is_empty() { data.dataset.clone() } else { model.dataset.clone() },
        });
    }
    if !data.are_numbered() && data.names != model.names {
        return Err(Error::file(
            model_path,
            format!(
                "the model's classes are {} but {}'s are {}",
                model.names.join(", "),
                data_path.display(),
                data.names.join(", ")
            ),
        )
        .into());
    }
    Ok(model.clone())
}
