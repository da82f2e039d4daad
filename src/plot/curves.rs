//! Cost and accuracy against iterations, train (current mini-batch) and test in each,
//! as PNG and SVG.
//!
//! Both costs are the plain cross-entropy (label smoothing shapes the gradient, not the
//! plotted cost); what still differs between them — the training batch seen with dropout
//! masks and augmented images — is said in the train line's legend. The legend goes in the
//! corner the curves leave emptiest.

use ffnn::error::{Error, Result};
use ffnn::train::{History, HistoryRow, TrainConfig};
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// DejaVu Sans (see assets/DejaVuSans.LICENSE), registered as plotters' `sans-serif`.
const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// One line of a chart: its legend name, colour and points `(iteration, value)`.
pub struct Series<'a> {
    pub name: &'a str,
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
}

const SIZE: (u32, u32) = (900, 560);
const TRAIN_COLOR: RGBColor = RGBColor(31, 119, 180);
const TEST_COLOR: RGBColor = RGBColor(214, 39, 40);
const VAL_COLOR: RGBColor = RGBColor(44, 160, 44);

fn draw<DB: DrawingBackend>(backend: DB, title: &str, y_label: &str, series: &[Series]) -> std::result::Result<(), String>
where
    DB::ErrorType: 'static,
{
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let points = series.iter().flat_map(|s| s.points.iter());
    let (mut x_max, mut y_min, mut y_max) = (1.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in points {
        x_max = x_max.max(x);
        if y.is_finite() {
            y_min = y_min.min(y);
            y_max = y_max.max(y);
        }
    }
    if !y_min.is_finite() {
        (y_min, y_max) = (0.0, 1.0);
    }
    let pad = ((y_max - y_min) * 0.05).max(1e-3);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max, (y_min - pad).max(0.0)..y_max + pad)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("iteration")
        .x_label_formatter(&|x| format!("{}", x.round() as i64))
        .y_desc(y_label)
        .axis_desc_style(("sans-serif", 18))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| e.to_string())?;
    for s in series {
        let color = s.color;
        chart
            .draw_series(LineSeries::new(s.points.iter().copied(), color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(s.name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3)));
    }
    let corner = legend_corner(series, (0.0, x_max), ((y_min - pad).max(0.0), y_max + pad));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .position(corner)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// The corner of the plot whose legend box would cover the fewest points of `series` (ties:
/// upper right, lower right, upper left, lower left). The box is taken as 45% of the plot's
/// width and 7% of its height per line, plus a margin.
pub fn legend_corner(series: &[Series], x: (f64, f64), y: (f64, f64)) -> SeriesLabelPosition {
    let (width, height) = (0.45, 0.07 * series.len() as f64 + 0.05);
    let corners = [
        (SeriesLabelPosition::UpperRight, true, true),
        (SeriesLabelPosition::LowerRight, true, false),
        (SeriesLabelPosition::UpperLeft, false, true),
        (SeriesLabelPosition::LowerLeft, false, false),
    ];
    let span = |v: f64, (lo, hi): (f64, f64)| if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
    let covered = |right: bool, upper: bool| {
        series
            .iter()
            .flat_map(|s| &s.points)
            .filter(|&&(px, py)| {
                let (u, v) = (span(px, x), span(py, y));
                let in_x = if right { u >= 1.0 - width } else { u <= width };
                let in_y = if upper { v >= 1.0 - height } else { v <= height };
                in_x && in_y
            })
            .count()
    };
    corners.into_iter().min_by_key(|&(_, right, upper)| covered(right, upper)).map(|(c, _, _)| c).expect("four corners")
}

/// The train line's legend: what it is, and what the test set does not have (dropout masks,
/// augmented images), so the two curves are read for what they are.
pub fn train_label(config: Option<&TrainConfig>) -> String {
    let mut differs = vec![];
    if let Some(c) = config {
        if c.dropout > 0.0 {
            differs.push(format!("dropout {}", c.dropout));
        }
        if c.augment.is_some() {
            differs.push("augmented".to_string());
        }
    }
    if differs.is_empty() {
        "train (current mini-batch)".into()
    } else {
        format!("train (current mini-batch, {})", differs.join(", "))
    }
}

/// Renders one chart as (PNG bytes, SVG text).
pub fn render_curve(title: &str, y_label: &str, series: &[Series]) -> std::result::Result<(Vec<u8>, String), String> {
    register_font();
    let mut rgb = vec![255u8; (SIZE.0 * SIZE.1 * 3) as usize];
    draw(BitMapBackend::with_buffer(&mut rgb, SIZE), title, y_label, series)?;
    let png = ffnn::data::image::encode_png(SIZE.0 as usize, SIZE.1 as usize, 3, &rgb);
    let mut svg = String::new();
    draw(SVGBackend::with_string(&mut svg, SIZE), title, y_label, series)?;
    Ok((png, svg))
}

/// Writes `cost`, `accuracy` and `learning_rate`, each `.png` and `.svg`, into `dir`:
/// train (the current mini-batch), validation and test series where the history has them.
/// `config` (the run's settings) says what the train line's legend names (see [`train_label`]).
pub fn plot_history(history: &History, config: Option<&TrainConfig>, dir: &Path) -> Result<()> {
    let train = train_label(config);
    type Get = fn(&HistoryRow) -> Option<f32>;
    type Chart<'a> = (&'a str, &'a str, &'a str, [(&'a str, RGBColor, Get); 3]);
    let train = train.as_str();
    let points = |f: Get| history.rows.iter().filter_map(|r| f(r).map(|v| (r.iteration as f64, v as f64))).collect::<Vec<_>>();
    let charts: [Chart; 2] = [
        (
            "cost",
            "Cost (cross-entropy)",
            "cost J",
            [
                (train, TRAIN_COLOR, |r| Some(r.train_loss)),
                ("validation", VAL_COLOR, |r| r.val_loss),
                ("test", TEST_COLOR, |r| r.test_loss),
            ],
        ),
        (
            "accuracy",
            "Classification accuracy",
            "accuracy",
            [
                (train, TRAIN_COLOR, |r| Some(r.train_accuracy)),
                ("validation", VAL_COLOR, |r| r.val_accuracy),
                ("test", TEST_COLOR, |r| r.test_accuracy),
            ],
        ),
    ];
    let mut all: Vec<(&str, &str, &str, Vec<Series>)> = charts
        .iter()
        .map(|(file, title, y, lines)| {
            let series = lines
                .iter()
                .map(|(name, color, get)| Series { name, color: *color, points: points(*get) })
                .filter(|s| !s.points.is_empty())
                .collect();
            (*file, *title, *y, series)
        })
        .collect();
    all.push((
        "learning_rate",
        "Learning rate",
        "α",
        vec![Series { name: "learning rate", color: TRAIN_COLOR, points: points(|r| Some(r.learning_rate)) }],
    ));
    for (file, title, y_label, series) in all {
        let (png, svg) = render_curve(title, y_label, &series)
            .map_err(|e| Error::file(dir.join(format!("{file}.png")), format!("cannot draw the plot ({e})")))?;
        ffnn::atomic_file::write_atomic(&dir.join(format!("{file}.png")), &png)?;
        ffnn::atomic_file::write_atomic(&dir.join(format!("{file}.svg")), svg.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(points: Vec<(f64, f64)>) -> Series<'static> {
        Series { name: "x", color: TRAIN_COLOR, points }
    }

    #[test]
    fn the_legend_goes_where_the_curves_are_not() {
        // Accuracy: rises from 0.1 to 1.0 early and stays there: the top right is full, the
        // bottom right empty.
        let accuracy: Vec<(f64, f64)> = (0..100).map(|i| (i as f64, if i < 5 { 0.1 + 0.18 * i as f64 } else { 1.0 })).collect();
        let corner = legend_corner(&[line(accuracy.clone()), line(accuracy)], (0.0, 100.0), (0.0, 1.0));
        assert!(matches!(corner, SeriesLabelPosition::LowerRight), "{corner:?}");
        // Cost: falls from 2.3 to 0.1: the top right is empty.
        let cost: Vec<(f64, f64)> = (0..100).map(|i| (i as f64, 2.3 * (-(i as f64) / 10.0).exp() + 0.1)).collect();
        let corner = legend_corner(&[line(cost)], (0.0, 100.0), (0.0, 2.4));
        assert!(matches!(corner, SeriesLabelPosition::UpperRight), "{corner:?}");
    }

    #[test]
    fn the_train_legend_says_what_the_test_set_does_not_have() {
        let plain = TrainConfig::default();
        assert_eq!(train_label(Some(&plain)), "train (current mini-batch)");
        let regularized = TrainConfig { dropout: 0.2, augment: Some(Default::default()), label_smoothing: 0.1, ..plain };
        assert_eq!(train_label(Some(&regularized)), "train (current mini-batch, dropout 0.2, augmented)");
    }
}
