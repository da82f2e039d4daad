//! What a finished or interrupted `ffnn train` leaves in its run folder besides the
//! checkpoint, written in one place (the names are the library's, `ffnn::train::run_dir`).

use ffnn::data::DataSplit;
use ffnn::nn::Model;
use ffnn::nn::model_file::save_model;
use ffnn::train::History;
use ffnn::train::run_dir::{self, Summary};
use std::path::Path;

/// Writes what a run leaves in its folder, in one place: the history and its plots; for a
/// finished run (`summary` given) the model file and the weight images; `report.html` from
/// all of them (with the data already in memory: no second copy of it); and last
/// `summary.json`, whose `peak_rss_mb` is then the process's high-water mark with everything
/// else done. (A checkpoint is written during training.) Returns the summary's JSON line,
/// empty for an interrupted run.
pub fn write_run_files(
    run_dir: &Path,
    history: &History,
    model: &Model,
    summary: Option<Summary>,
    data: &DataSplit,
    data_path: &Path,
) -> ffnn::Result<String> {
    history.write_csv(&run_dir.join(run_dir::HISTORY))?;
    let Some(mut summary) = summary else {
        // Interrupted: the report describes the checkpoint.
        let (summary, _) = Summary::read(run_dir)?;
        crate::plot::plot_history(history, Some(&summary.config), run_dir)?;
        crate::report::write_report_from(run_dir, &summary, false, model, data, data_path)?;
        return Ok(String::new());
    };
    crate::plot::plot_history(history, Some(&summary.config), run_dir)?;
    let mut model_meta = data.class_names.to_metadata();
    if let Some(accuracy) = summary.test_accuracy {
        model_meta.insert(ffnn::nn::model_file::TEST_ACCURACY_KEY.to_string(), format!("{accuracy}"));
    }
    save_model(model, &run_dir.join(run_dir::MODEL), &model_meta)?;
    crate::plot::write_weight_image(model, &run_dir.join("weights.png"))?;
    crate::report::write_report_from(run_dir, &summary, true, model, data, data_path)?;
    summary.peak_rss_mb = peak_rss_mb();
    summary.write(run_dir)
}

/// Peak resident set size of this process so far (`VmHWM` in `/proc/self/status`), in MB:
/// what `/usr/bin/time -v` reports as the maximum resident set size, once nothing more is
/// allocated. `None` where the kernel does not say.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
