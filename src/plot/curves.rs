//! Cost and accuracy against iterations, train (current mini-batch) and test in each,
//! as PNG and SVG.

use ffnn::error::{Error, Result};
use ffnn::train::{History, HistoryRow};
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
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
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
pub fn plot_history(history: &History, dir: &Path) -> Result<()> {
    type Get = fn(&HistoryRow) -> Option<f32>;
    type Chart<'a> = (&'a str, &'a str, &'a str, [(&'a str, RGBColor, Get); 3]);
    let points = |f: Get| history.rows.iter().filter_map(|r| f(r).map(|v| (r.iteration as f64, v as f64))).collect::<Vec<_>>();
    let charts: [Chart; 2] = [
        (
            "cost",
            "Cost (cross-entropy)",
            "cost J",
            [
                ("train (current mini-batch)", TRAIN_COLOR, |r| Some(r.train_loss)),
                ("validation", VAL_COLOR, |r| r.val_loss),
                ("test", TEST_COLOR, |r| r.test_loss),
            ],
        ),
        (
            "accuracy",
            "Classification accuracy",
            "accuracy",
            [
                ("train (current mini-batch)", TRAIN_COLOR, |r| Some(r.train_accuracy)),
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
