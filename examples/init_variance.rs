//! The initialisation analysis, measured: how the variance of the activations and of the
//! gradients changes through a deep `tanh` network whose widths change, for six weight
//! initialisations.
//!
//! In the linear regime of `tanh` (small inputs, `tanh z ≈ z`), with zero-mean i.i.d. weights
//! and zero biases, the analysis predicts
//!
//! ```text
//! Var[h_l] / Var[x]          = Π_{k=1..l}   N_{k−1} Var[W_k]
//! Var[∂L/∂h_l] / Var[∂L/∂y]  = Π_{k=l+1..L} N_k     Var[W_k]
//! ```
//!
//! so LeCun's `Var W = 1/N_in` keeps the activations' variance, fan-out's `1/N_out` keeps the
//! gradients', and Xavier's `2/(N_in + N_out)` sits between. With widths that change, the
//! products telescope: LeCun's gradients scale as `N_L/N_l` and fan-out's activations as
//! `N_0/N_l`. This example measures both ratios with `mlp::diagnostics::variances`, averaged
//! over several seeds, prints them as tables (measured, then predicted) and plots them on a
//! log scale, predictions dashed.
//!
//! The loss is a random linear one, `L = cᵀy` with `c` drawn afresh for each sample with unit
//! variance, so that `∂L/∂y = c` is independent of the forward pass, as the analysis assumes.
//!
//! Run with `cargo run --release --features plot --example init_variance [-- OUTPUT_DIR]`; it writes
//! `init_variance.png` and `init_variance.svg` into `OUTPUT_DIR`, by default
//! `target/init_variance/`.

use mlp::diagnostics::{variances, Prediction};
use mlp::init::{generator, Init, Sampler};
use mlp::plot::plotters::{self, coord::Shift};
use mlp::{mlp, Network};
use plotters::prelude::*;
use std::error::Error;
use std::path::PathBuf;

mlp! {
    /// Eight `tanh` layers whose widths change by up to 8× from one layer to the next, and a
    /// linear output.
    pub struct Deep {
        scalar: f64,
        input: 64,
        layers: [256 tanh, 128 tanh, 512 tanh, 64 tanh, 256 tanh, 128 tanh, 512 tanh, 64 tanh, 32 identity],
        bias: true,
    }
}

/// The input variance, small enough for `tanh z ≈ z`: `Var[tanh z] ≥ Var[z](1 − 2 Var[z])`,
/// and `Var[z_l]` stays below 1e-3 here for all but N(0, 1).
const VAR_X: f64 = 1e-6;
/// Networks (seeds) per initialisation.
const SEEDS: u64 = 8;
/// Samples per network.
const BATCH: usize = 256;

/// An initialisation, its label and its colour.
struct Scheme {
    label: &'static str,
    init: Init,
    color: RGBColor,
    /// Whether the zoomed panels show it (the schemes that keep the variance near 1).
    zoom: bool,
}

const SCHEMES: [Scheme; 6] = [
    Scheme {
        label: "LeCun 1/N_in",
        init: Init::LECUN_NORMAL,
        color: RGBColor(31, 119, 180),
        zoom: true,
    },
    Scheme {
        label: "fan-out 1/N_out",
        init: Init::FAN_OUT_NORMAL,
        color: RGBColor(255, 127, 14),
        zoom: true,
    },
    Scheme {
        label: "Xavier 2/(N_in+N_out)",
        init: Init::XAVIER_NORMAL,
        color: RGBColor(44, 160, 44),
        zoom: true,
    },
    Scheme {
        label: "He 2/N_in",
        init: Init::HE_NORMAL,
        color: RGBColor(148, 103, 189),
        zoom: true,
    },
    Scheme {
        label: "N(0, 1)",
        init: Init::normal(1.0),
        color: RGBColor(214, 39, 40),
        zoom: false,
    },
    Scheme {
        label: "N(0, 0.01²)",
        init: Init::normal(0.01),
        color: RGBColor(127, 127, 127),
        zoom: false,
    },
];

/// One scheme's ratios per layer `l = 0..=L`, averaged over the seeds, and its weight
/// gradients' variance per layer.
struct Measured {
    forward: Vec<f64>,
    backward: Vec<f64>,
    weight_grad: Vec<f64>,
}

/// The stream of the inputs and loss gradients: the weights come from stream 0 of the same
/// seed (see [`mlp::init::generator`]), so they share no random bits.
const DATA_STREAM: u64 = 3;

/// `N` uniform values with variance `variance`, in `[−a, a)` with `a = √(3 variance)`.
fn vector<const N: usize>(draws: &mut Sampler<'_>, variance: f64) -> [f64; N] {
    let a = (3.0 * variance).sqrt();
    std::array::from_fn(|_| a * draws.symmetric())
}

fn measure(init: Init) -> Result<Measured, Box<dyn Error + Send + Sync>> {
    let layers = Deep::LAYERS + 1;
    let mut m = Measured {
        forward: vec![0.0; layers],
        backward: vec![0.0; layers],
        weight_grad: vec![0.0; layers],
    };
    let mut net = Deep::zeros();
    for seed in 0..SEEDS {
        init.init(&mut net, seed);
        let mut rng = generator(seed, DATA_STREAM);
        let mut draws = Sampler::new(&mut rng);
        let inputs: Vec<[f64; 64]> = (0..BATCH).map(|_| vector(&mut draws, VAR_X)).collect();
        let dl_dy: Vec<[f64; 32]> = (0..BATCH).map(|_| vector(&mut draws, 1.0)).collect();
        let v = variances(&net, &inputs, |i, _| dl_dy[i])?;
        let mean = 1.0 / SEEDS as f64;
        add_scaled(&mut m.forward, &v.forward_ratios(), mean);
        add_scaled(&mut m.backward, &v.backward_ratios(), mean);
        let dw: Vec<f64> = v.layers.iter().map(|l| l.dl_dw.variance()).collect();
        add_scaled(&mut m.weight_grad, &dw, mean);
    }
    Ok(m)
}

fn add_scaled(sum: &mut [f64], values: &[f64], scale: f64) {
    sum.iter_mut()
        .zip(values)
        .for_each(|(s, v)| *s += v * scale);
}

/// `N_0, …, N_L`.
fn widths() -> Vec<usize> {
    std::iter::once(Deep::INPUT)
        .chain(<Deep as Network>::LAYER_SPECS.iter().map(|s| s.fan_out))
        .collect()
}

/// Prints one Markdown table: a row per layer `first..=L`, a column per scheme, each cell
/// "measured (predicted)".
fn print_table(title: &str, measured: &[Vec<f64>], predicted: &[Vec<f64>], first: usize) {
    println!("\n{title}\n");
    print!("| l | N_l |");
    SCHEMES.iter().for_each(|s| print!(" {} |", s.label));
    print!("\n|---:|---:|");
    SCHEMES.iter().for_each(|_| print!("---:|"));
    println!();
    for (l, n) in widths().into_iter().enumerate().skip(first) {
        print!("| {l} | {n} |");
        for (m, p) in measured.iter().zip(predicted) {
            print!(" {} ({}) |", number(m[l]), number(p[l]));
        }
        println!();
    }
}

/// Three significant digits, in scientific notation outside `[0.001, 10000)`.
fn number(v: f64) -> String {
    let a = v.abs();
    if (1e-3..1e4).contains(&a) {
        let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.2e}")
    }
}

fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    let out = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/init_variance"), PathBuf::from);
    std::fs::create_dir_all(&out)?;

    println!(
        "{} tanh layers and a linear output, widths {:?}, Var[x] = {VAR_X:e}, {SEEDS} seeds × {BATCH} samples per initialisation",
        Deep::LAYERS - 1,
        widths()
    );
    // One thread per scheme.
    let measured: Vec<Measured> = std::thread::scope(|scope| {
        let handles: Vec<_> = SCHEMES
            .iter()
            .map(|s| scope.spawn(move || measure(s.init)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a measuring thread panicked"))
            .collect::<Result<_, _>>()
    })?;
    let predicted: Vec<Prediction> = SCHEMES
        .iter()
        .map(|s| Prediction::new(&s.init, <Deep as Network>::LAYER_SPECS))
        .collect();

    let pick =
        |f: fn(&Measured) -> &Vec<f64>| measured.iter().map(|m| f(m).clone()).collect::<Vec<_>>();
    let forward: Vec<Vec<f64>> = predicted.iter().map(|p| p.forward.clone()).collect();
    let backward: Vec<Vec<f64>> = predicted.iter().map(|p| p.backward.clone()).collect();
    // ∂L/∂W_l = δ_l h_{l−1}ᵀ, so Var[∂L/∂W_l] = Var[δ_l] Var[h_{l−1}] = B_l · Var[x] F_{l−1}
    // with Var[∂L/∂y] = 1 and tanh' ≈ 1.
    let weight_grad: Vec<Vec<f64>> = predicted
        .iter()
        .map(|p| {
            (0..p.forward.len())
                .map(|l| {
                    if l == 0 {
                        0.0
                    } else {
                        VAR_X * p.forward[l - 1] * p.backward[l]
                    }
                })
                .collect()
        })
        .collect();
    print_table(
        "Var[h_l] / Var[x], measured (predicted Π_{k≤l} N_{k−1} Var[W_k]):",
        &pick(|m| &m.forward),
        &forward,
        1,
    );
    print_table(
        "Var[∂L/∂h_l] / Var[∂L/∂y], measured (predicted Π_{k>l} N_k Var[W_k]):",
        &pick(|m| &m.backward),
        &backward,
        0,
    );
    print_table("Var[∂L/∂W_l] per sample, measured (predicted Var[x] · Π_{k<l} N_{k−1} Var[W_k] · Π_{k>l} N_k Var[W_k]):", &pick(|m| &m.weight_grad), &weight_grad, 1);

    let png = out.join("init_variance.png");
    let svg = out.join("init_variance.svg");
    mlp::plot::register_font()?;
    draw(
        BitMapBackend::new(&png, (1400, 1000)).into_drawing_area(),
        &measured,
        &predicted,
    )?;
    draw(
        SVGBackend::new(&svg, (1400, 1000)).into_drawing_area(),
        &measured,
        &predicted,
    )?;
    println!("\nwrote {} and {}", png.display(), svg.display());
    Ok(())
}

type Area<DB> = DrawingArea<DB, Shift>;

/// Draws the four panels: activations and gradients, all schemes and zoomed.
fn draw<DB: DrawingBackend>(
    root: Area<DB>,
    measured: &[Measured],
    predicted: &[Prediction],
) -> Result<(), Box<dyn Error + Send + Sync>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(to_box)?;
    let (header, body) = root.split_vertically(84);
    header
        .draw_text(
            &format!(
                "{} tanh layers + linear output, widths {:?}, Var[x] = {VAR_X:e}, Var[∂L/∂y] = 1, mean of {SEEDS} seeds",
                Deep::LAYERS - 1,
                widths()
            ),
            &("sans-serif", 20).into_text_style(&header),
            (16, 10),
        )
        .map_err(to_box)?;
    legend(&header)?;
    let panels = body.split_evenly((2, 2));
    for (area, (direction, view)) in panels.iter().zip([
        (Direction::Forward, View::All),
        (Direction::Backward, View::All),
        (Direction::Forward, View::Zoomed),
        (Direction::Backward, View::Zoomed),
    ]) {
        panel(area, measured, predicted, direction, view)?;
    }
    root.present().map_err(to_box)?;
    Ok(())
}

/// One legend for all panels: a swatch per scheme, then the two line styles.
fn legend<DB: DrawingBackend>(area: &Area<DB>) -> Result<(), Box<dyn Error + Send + Sync>>
where
    DB::ErrorType: 'static,
{
    let text = ("sans-serif", 16).into_text_style(area);
    let (mut x, y) = (16, 56);
    for s in &SCHEMES {
        area.draw(&PathElement::new(
            [(x, y), (x + 26, y)],
            s.color.stroke_width(3),
        ))
        .map_err(to_box)?;
        area.draw(&Circle::new((x + 13, y), 4, s.color.filled()))
            .map_err(to_box)?;
        area.draw_text(s.label, &text, (x + 32, y - 9))
            .map_err(to_box)?;
        let (w, _) = area.estimate_text_size(s.label, &text).map_err(to_box)?;
        x += 56 + w as i32;
    }
    x += 20;
    area.draw(&Circle::new((x + 13, y), 4, BLACK.filled()))
        .map_err(to_box)?;
    area.draw_text("measured", &text, (x + 24, y - 9))
        .map_err(to_box)?;
    x += 110;
    for k in 0..3 {
        let x0 = x + 10 * k;
        area.draw(&PathElement::new(
            [(x0, y), (x0 + 6, y)],
            BLACK.stroke_width(2),
        ))
        .map_err(to_box)?;
    }
    area.draw_text("predicted Π N·Var[W]", &text, (x + 32, y - 9))
        .map_err(to_box)?;
    Ok(())
}

fn to_box<E: Error + Send + Sync + 'static>(e: E) -> Box<dyn Error + Send + Sync> {
    Box::new(e)
}

/// Which variance a panel shows.
#[derive(Clone, Copy)]
enum Direction {
    /// `Var[h_l] / Var[x]`.
    Forward,
    /// `Var[∂L/∂h_l] / Var[∂L/∂y]`.
    Backward,
}

/// Which schemes a panel shows, and on what range.
#[derive(Clone, Copy)]
enum View {
    /// All six, from `10^−20` to `10^20`.
    All,
    /// Those that keep the variance near 1, from `10^−2` to `10^3`.
    Zoomed,
}

/// One panel: measured ratios as dots, predictions dashed, per layer, on a log axis.
fn panel<DB: DrawingBackend>(
    area: &Area<DB>,
    measured: &[Measured],
    predicted: &[Prediction],
    direction: Direction,
    view: View,
) -> Result<(), Box<dyn Error + Send + Sync>>
where
    DB::ErrorType: 'static,
{
    let ratio = match direction {
        Direction::Forward => "Var[h_l] / Var[x]",
        Direction::Backward => "Var[∂L/∂h_l] / Var[∂L/∂y]",
    };
    let (caption, (lo, hi)) = match view {
        View::All => (format!("{ratio}, all six"), (-20.0, 20.0)),
        View::Zoomed => (format!("{ratio}, zoomed"), (-2.0, 3.0)),
    };
    let caption = caption.as_str();
    let values = |m: &Measured| match direction {
        Direction::Forward => m.forward.clone(),
        Direction::Backward => m.backward.clone(),
    };
    let prediction = |p: &Prediction| match direction {
        Direction::Forward => p.forward.clone(),
        Direction::Backward => p.backward.clone(),
    };
    let show = |s: &Scheme| match view {
        View::All => true,
        View::Zoomed => s.zoom,
    };
    let n = widths();
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(-0.3f64..(n.len() as f64 - 0.7), lo..hi)
        .map_err(to_box)?;
    let layer_label = |x: &f64| {
        let l = x.round() as usize;
        if (x - x.round()).abs() < 1e-9 && l < n.len() {
            format!("{l}·{}", n[l])
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .x_labels(n.len())
        .y_labels(if hi - lo > 10.0 { 11 } else { 6 })
        .x_label_formatter(&layer_label)
        .x_desc("layer l · width N_l")
        .y_label_formatter(&|y: &f64| match y.round() as i32 {
            e @ -3..=-1 => format!("{}", 10f64.powi(e)),
            e @ 0..=3 => format!("{}", 10i32.pow(e as u32)),
            e => format!("1e{e}"),
        })
        .light_line_style(WHITE.mix(0.0))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(to_box)?;
    // The line y = 1: the variance kept.
    chart
        .draw_series(LineSeries::new(
            [(-0.3, 0.0), (n.len() as f64 - 0.7, 0.0)],
            BLACK.mix(0.3),
        ))
        .map_err(to_box)?;
    // The y axis is log10 of the ratio, so that the labels fall on every decade we choose.
    let clamp = |v: f64| v.log10().clamp(lo, hi);
    for ((s, m), p) in SCHEMES.iter().zip(measured).zip(predicted) {
        if !show(s) {
            continue;
        }
        let points: Vec<(f64, f64)> = values(m)
            .into_iter()
            .enumerate()
            .map(|(l, v)| (l as f64, clamp(v)))
            .collect();
        let dashed: Vec<(f64, f64)> = prediction(p)
            .into_iter()
            .enumerate()
            .map(|(l, v)| (l as f64, clamp(v)))
            .collect();
        chart
            .draw_series(DashedLineSeries::new(dashed, 6, 4, s.color.stroke_width(2)))
            .map_err(to_box)?;
        chart
            .draw_series(LineSeries::new(
                points.clone(),
                s.color.mix(0.6).stroke_width(1),
            ))
            .map_err(to_box)?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&(x, y)| Circle::new((x, y), 4, s.color.filled())),
            )
            .map_err(to_box)?;
    }
    Ok(())
}
