//! Pictures of training (the `plot` feature): [`History`]'s loss and accuracy curves, training
//! and validation, as PNG or SVG, drawn by [`plotters`] with pure-Rust backends and DejaVu Sans
//! from the `dejavu` crate, so no system library is needed.
//!
//! ```no_run
//! # fn demo(history: &mlp::train::History) -> Result<(), mlp::plot::PlotError> {
//! history.plot("out/curves.png")?;       // PNG or SVG, by the extension
//! history.plot("out/curves.svg")?;
//! # Ok(()) }
//! ```

use crate::train::History;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// The `plotters` crate the curves are drawn with, so that users draw with the same version.
pub use plotters;

/// The size of [`History::plot`]'s image, in pixels.
pub const SIZE: (u32, u32) = (1000, 420);

/// Why a plot could not be drawn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// The history has no epoch to draw.
    #[error("the history has no epochs to plot, expected at least 1")]
    Empty,
    /// The file's extension is neither `png` nor `svg`.
    #[error("{}: expected a file name ending in .png or .svg", path.display())]
    Format {
        /// The file.
        path: PathBuf,
    },
    /// The font could not be registered.
    #[error("the DejaVu Sans font of the dejavu crate does not parse")]
    Font,
    /// Drawing or writing the file failed.
    #[error("cannot draw {}: {message}", path.display())]
    Draw {
        /// The file.
        path: PathBuf,
        /// What plotters reports.
        message: String,
    },
}

/// Registers DejaVu Sans as the `"sans-serif"` family of plotters' text (done by
/// [`History::plot`]; call it before drawing plots of your own).
pub fn register_font() -> Result<(), PlotError> {
    plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| PlotError::Font)
}

impl History {
    /// Draws the loss (left, log scale) and, for a classifying loss, the accuracy (right) of
    /// every epoch, training and validation, into a PNG or SVG file of [`SIZE`] pixels,
    /// chosen by the extension of `path`.
    pub fn plot(&self, path: impl AsRef<Path>) -> Result<(), PlotError> {
        let path = path.as_ref();
        if self.epochs.is_empty() {
            return Err(PlotError::Empty);
        }
        register_font()?;
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let result = match extension.as_deref() {
            Some("png") => draw(self, BitMapBackend::new(path, SIZE).into_drawing_area()),
            Some("svg") => draw(self, SVGBackend::new(path, SIZE).into_drawing_area()),
            _ => {
                return Err(PlotError::Format {
                    path: path.to_path_buf(),
                })
            }
        };
        result.map_err(|message| PlotError::Draw {
            path: path.to_path_buf(),
            message,
        })
    }
}

/// The curves of one panel: name, colour and points.
type Curves = Vec<(&'static str, RGBColor, Vec<(f64, f64)>)>;

/// The training and validation curves of one metric.
fn curves(
    h: &History,
    train: impl Fn(usize) -> Option<f64>,
    val: impl Fn(usize) -> Option<f64>,
) -> Curves {
    let points = |f: &dyn Fn(usize) -> Option<f64>| -> Vec<(f64, f64)> {
        (0..h.epochs.len())
            .filter_map(|i| {
                f(i).filter(|v| v.is_finite())
                    .map(|v| (h.epochs[i].epoch as f64, v))
            })
            .collect()
    };
    let mut c = vec![("training", RGBColor(31, 119, 180), points(&train))];
    c.push(("validation", RGBColor(255, 127, 14), points(&val)));
    c.retain(|(_, _, p)| !p.is_empty());
    c
}

/// Draws both panels on `root`.
fn draw<DB: DrawingBackend>(h: &History, root: DrawingArea<DB, Shift>) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let loss = curves(
        h,
        |i| Some(h.epochs[i].train.loss),
        |i| h.epochs[i].validation.map(|v| v.loss),
    );
    let accuracy = curves(
        h,
        |i| h.epochs[i].train.accuracy,
        |i| h.epochs[i].validation.and_then(|v| v.accuracy),
    );
    let (left, right) = root.split_horizontally(SIZE.0 / 2);
    panel(&left, "loss", &loss, true)?;
    if !accuracy.is_empty() {
        panel(&right, "accuracy", &accuracy, false)?;
    }
    root.present().map_err(|e| e.to_string())
}

/// One panel: the curves against the epoch, the loss on a log scale.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    curves: &Curves,
    log: bool,
) -> Result<(), String> {
    let all = || curves.iter().flat_map(|(_, _, p)| p.iter());
    let last = all().map(|p| p.0).fold(1.0, f64::max);
    let (lo, hi) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    });
    let mut chart = ChartBuilder::on(area);
    chart
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60);
    let style = |c: RGBColor| ShapeStyle::from(&c).stroke_width(2);
    macro_rules! draw_curves {
        ($chart:expr) => {{
            let mut chart = $chart.map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .x_desc("epoch")
                .x_label_formatter(&|x| format!("{x:.0}"))
                .draw()
                .map_err(|e| e.to_string())?;
            for (name, colour, points) in curves {
                let c = *colour;
                chart
                    .draw_series(LineSeries::new(points.iter().copied(), style(c)))
                    .map_err(|e| e.to_string())?
                    .label(*name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style(c)));
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(|e| e.to_string())?;
        }};
    }
    if log && lo > 0.0 {
        draw_curves!(
            chart.build_cartesian_2d(1.0..last.max(2.0), (lo * 0.8..hi * 1.25).log_scale())
        );
    } else {
        let pad = ((hi - lo) * 0.05).max(1e-3);
        draw_curves!(chart.build_cartesian_2d(1.0..last.max(2.0), lo - pad..hi + pad));
    }
    Ok(())
}
