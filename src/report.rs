//! `report.html`: one self-contained page per run (styles inline, images as data URIs, no
//! request to any other host) with the run's settings, results, the curves of Exercise 1.3,
//! the first-layer weights, the confusion matrix, per-class precision/recall/F1, and the test
//! images the model got wrong with the highest confidence.

use base64::Engine;
use ffnn::data::DataSplit;
use ffnn::data::image::encode_png;
use ffnn::data::load_dataset;
use ffnn::error::{Error, Result};
use ffnn::nn::Model;
use ffnn::nn::model_file::load_model;
use ffnn::train::run_dir::Summary;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A setting for people: `{"kind":"adam","beta1":0.9}` → `adam (beta1 0.9)`, `null` → `none`.
fn describe(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "none".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(map) => {
            let kind = map.get("kind").and_then(|k| k.as_str()).map(str::to_string);
            let rest: Vec<String> = map
                .iter()
                .filter(|(k, _)| *k != "kind")
                .map(|(k, v)| format!("{} {}", k.replace('_', " "), describe(v)))
                .collect();
            match (kind, rest.is_empty()) {
                (Some(k), true) => k,
                (Some(k), false) => format!("{k} ({})", rest.join(", ")),
                (None, _) => rest.join(", "),
            }
        }
        other => other.to_string(),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Writes `RUN_DIR/report.html` and returns its path. `data` overrides the dataset recorded
/// in the run (for the confusion matrix and the mistakes).
pub fn write_report(run_dir: &Path, data: Option<&Path>) -> Result<PathBuf> {
    let (summary, finished) = Summary::read(run_dir)?;
    // A finished run's model; an interrupted run's last checkpoint.
    let model_path = run_dir.join(if finished { ffnn::train::run_dir::MODEL } else { ffnn::train::run_dir::CHECKPOINT });
    let model = load_model(&model_path)?;
    let data_path: PathBuf = match data {
        Some(d) => d.to_path_buf(),
        None if summary.data.as_os_str().is_empty() => {
            return Err(Error::file(run_dir, "the run does not record its data; pass --data"));
        }
        None => summary.data.clone(),
    };
    if data.is_none() && !data_path.exists() {
        return Err(Error::file(
            run_dir,
            format!("the run's data {} is not there any more: pass --data with where it is now", data_path.display()),
        ));
    }
    let split = load_dataset(&data_path)?;
    write_report_from(run_dir, &summary, finished, &model, &split, &data_path)
}

/// [`write_report`] for a run whose summary, model and data are in memory already (as
/// `ffnn train` has them when it ends): the dataset is not loaded a second time.
pub fn write_report_from(
    run_dir: &Path,
    summary: &Summary,
    finished: bool,
    model: &Model,
    split: &DataSplit,
    data_path: &Path,
) -> Result<PathBuf> {
    let test = &split.test;
    if test.pixels() != model.inputs() {
        return Err(Error::file(
            data_path,
            format!("its images are {}×{}, the model takes {} inputs", test.width, test.height, model.inputs()),
        ));
    }
    let history = std::fs::read_to_string(run_dir.join("history.csv")).unwrap_or_default();

    let classes = model.classes();
    // The run's class names (recorded in its summary), else the data's.
    let names = if summary.classes.len() == classes {
        ffnn::data::Classes { names: summary.classes.clone(), dataset: summary.dataset.clone() }
    } else {
        split.class_names.clone()
    };
    let evaluation = ffnn::train::evaluate(model, test);
    let predicted: Vec<usize> = evaluation.predictions.iter().map(|&p| p as usize).collect();
    let confusion = evaluation.confusion_matrix(&test.labels, classes);
    let correct: usize = (0..classes).map(|c| confusion[c][c]).sum();
    let accuracy = correct as f64 / test.len() as f64;

    let mut html = String::new();
    let title = format!("ffnn run {}", run_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    let _ = write!(
        html,
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main><h1>{}</h1>",
        escape(&title),
        escape(&title)
    );
    if !finished {
        html += "<p class=note>This run was interrupted; the model is its last checkpoint.</p>";
    }

    // Results.
    html += "<h2>Results</h2><div class=cards>";
    let card = |html: &mut String, label: &str, value: String| {
        let _ = write!(html, "<div class=card><div class=label>{label}</div><div class=value>{value}</div></div>");
    };
    card(&mut html, "test accuracy", format!("{:.2}%", accuracy * 100.0));
    if let Some(l) = summary.test_loss {
        card(&mut html, "test loss", format!("{l:.4}"));
    }
    if let (Some(a), Some(l)) = (summary.train_accuracy, summary.train_loss) {
        card(&mut html, "train accuracy", format!("{:.2}%", a * 100.0));
        card(&mut html, "train loss", format!("{l:.4}"));
    }
    card(&mut html, "training time", format!("{:.1} s", summary.train_seconds));
    card(&mut html, "samples / s", format!("{:.0}", summary.samples_per_second));
    html += "</div>";

    // Settings.
    let config = serde_json::to_value(&summary.config).expect("a configuration serializes");
    html += "<h2>Settings</h2><table class=settings>";
    let row = |html: &mut String, k: &str, v: String| {
        let _ = write!(html, "<tr><th>{k}</th><td>{}</td></tr>", escape(&v));
    };
    row(&mut html, "architecture", model.describe());
    row(&mut html, "parameters", model.parameter_count().to_string());
    row(&mut html, "activation", model.activation.name().to_string());
    row(&mut html, "optimizer", describe(&config["optimizer"]));
    row(&mut html, "learning rate", format!("{}, schedule {}", config["learning_rate"], describe(&config["schedule"])));
    row(
        &mut html,
        "regularization",
        format!(
            "weight decay {}, dropout {}, label smoothing {}",
            config["weight_decay"], config["dropout"], config["label_smoothing"]
        ),
    );
    row(&mut html, "augmentation", describe(&config["augment"]));
    row(&mut html, "batch size", config["batch_size"].to_string());
    row(
        &mut html,
        "length",
        format!("{} ({} iterations run, {} epochs)", describe(&config["length"]), summary.iterations, summary.epochs),
    );
    row(&mut html, "initialization", describe(&config["init"]));
    row(&mut html, "seed", config["seed"].to_string());
    row(&mut html, "threads", summary.threads.to_string());
    row(
        &mut html,
        "data",
        format!(
            "{}: {} ({} train / {} test images of {}×{})",
            names.dataset,
            data_path.display(),
            split.train.len(),
            test.len(),
            test.width,
            test.height
        ),
    );
    if !names.are_numbered() {
        row(&mut html, "classes", names.names.join(", "));
    }
    row(&mut html, "preset", if summary.preset.is_empty() { "-".to_string() } else { summary.preset.clone() });
    row(&mut html, "ffnn version", env!("CARGO_PKG_VERSION").to_string());
    html += "</table>";

    // Curves.
    html += "<h2>Training curves</h2><p>Train: the cost and accuracy of the mini-batch of that iteration; validation and test: the whole set.</p><div class=grid2>";
    for name in ["cost", "accuracy", "learning_rate"] {
        if let Ok(svg) = std::fs::read(run_dir.join(format!("{name}.svg"))) {
            let _ = write!(html, "<img class=plot alt=\"{name}\" src=\"{}\">", data_uri("image/svg+xml", &svg));
        }
    }
    html += "</div>";
    if history.lines().count() > 1 {
        let _ = write!(
            html,
            "<details><summary>history.csv ({} rows)</summary><pre>{}</pre></details>",
            history.lines().count() - 1,
            escape(&history)
        );
    }

    // Weights.
    let (w, h, rgb) = crate::plot::weight_image(model, 64);
    let _ = write!(
        html,
        "<h2>First-layer weights</h2><p>Each tile is one unit of the first layer: its weight on every pixel. Blue pixels raise the unit's \
         input when lit, red ones lower it, white ones do not matter; each tile is scaled to its own largest weight. {}</p><img class=weights alt=\"first-layer weights\" src=\"{}\">",
        if model.layers.len() == 1 {
            format!(
                "This is a one-layer model: each tile is the template of one {}, in order ({}).",
                names.noun(),
                escape(&names.names.join(", "))
            )
        } else {
            String::new()
        },
        data_uri("image/png", &encode_png(w, h, 3, &rgb))
    );

    // Confusion matrix.
    let noun = names.noun();
    let _ = write!(
        html,
        "<h2>Confusion matrix</h2><p>Rows: true {noun}; columns: predicted {noun}; shade: share of the row.</p><div class=scroll><table class=confusion><tr><th></th>"
    );
    let label = |c: usize| escape(&names.name(c));
    for c in 0..classes {
        let _ = write!(html, "<th>{}</th>", label(c));
    }
    html += "</tr>";
    for (t, row) in confusion.iter().enumerate() {
        let total: usize = row.iter().sum::<usize>().max(1);
        let _ = write!(html, "<tr><th>{}</th>", label(t));
        for (p, &n) in row.iter().enumerate() {
            let share = n as f64 / total as f64;
            let color = if p == t {
                format!("rgba(44,160,44,{:.3})", share)
            } else {
                format!("rgba(214,39,40,{:.3})", (share * 5.0).min(1.0))
            };
            let _ = write!(html, "<td style=\"background:{color}\">{n}</td>");
        }
        html += "</tr>";
    }
    html += "</table></div>";

    // Per-class metrics.
    let _ = write!(
        html,
        "<h2>Per {noun}</h2><table class=metrics><tr><th>{noun}</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>"
    );
    for (c, row) in confusion.iter().enumerate() {
        let tp = row[c] as f64;
        let predicted_c: usize = confusion.iter().map(|r| r[c]).sum();
        let support: usize = row.iter().sum();
        let precision = if predicted_c > 0 { tp / predicted_c as f64 } else { 0.0 };
        let recall = if support > 0 { tp / support as f64 } else { 0.0 };
        let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{precision:.4}</td><td>{recall:.4}</td><td>{f1:.4}</td><td>{support}</td></tr>",
            label(c)
        );
    }
    html += "</table>";

    // The most confident mistakes.
    let mistakes = evaluation.mistakes(&test.labels);
    let _ = write!(
        html,
        "<h2>Most confident mistakes</h2><p>The {} test images (of {} wrong) the model got wrong with the highest confidence.</p><div class=mistakes>",
        mistakes.len().min(24),
        mistakes.len()
    );
    for &(i, p) in mistakes.iter().take(24) {
        let png = encode_png(test.width, test.height, 1, test.image(i));
        // A PNG tree's image by its file; an IDX image by its index in the test set.
        let which = match &split.test_files {
            Some(files) => escape(&files[i]),
            None => format!("#{i}"),
        };
        let _ = write!(
            html,
            "<figure><img alt=\"test image {which}\" src=\"{}\"><figcaption>{which}<br>true <b>{}</b>, predicted <b>{}</b><br>p = {:.3}</figcaption></figure>",
            data_uri("image/png", &png),
            label(test.labels[i] as usize),
            label(predicted[i]),
            p
        );
    }
    html += "</div><footer>Written by ffnn ";
    html += env!("CARGO_PKG_VERSION");
    html += ".</footer></main></body></html>\n";

    let out = run_dir.join("report.html");
    ffnn::atomic_file::write_atomic(&out, html.as_bytes())?;
    Ok(out)
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f6f7f9;color:#1d2430}\
main{max-width:1100px;margin:0 auto;padding:16px}h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:4px}\
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:#fff;border-radius:8px;padding:10px 14px;box-shadow:0 1px 3px #0002;min-width:120px}\
.label{font-size:.8em;color:#667}.value{font-size:1.4em;font-weight:600}table{border-collapse:collapse;background:#fff}\
th,td{padding:4px 8px;border:1px solid #e3e5e8;text-align:right}.settings th{text-align:left;background:#fafbfc}.settings td{text-align:left;word-break:break-word}\
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(320px,100%),1fr));gap:10px}.plot,.weights{max-width:100%;height:auto;background:#fff}\
.weights{image-rendering:pixelated}.scroll{overflow-x:auto}.confusion td{min-width:2.5em}\
.mistakes{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0;background:#fff;padding:6px;border-radius:6px;text-align:center;font-size:.8em}\
figure img{width:84px;height:84px;image-rendering:pixelated;background:#000}pre{overflow-x:auto;font-size:.8em}.note{background:#fff3cd;padding:8px}\
footer{margin-top:2em;color:#889;font-size:.8em}";
