//! A physics-informed network: `−Δu = f` on the unit square with
//! `f = 2π² sin(πx) sin(πy)` and `u = 0` on the boundary, whose exact solution is
//! `u = sin(πx) sin(πy)`.
//!
//! The network (2-32-32-32-1 tanh, f64) declares `operators: [laplacian]`, so `mlp!` generates
//! the Forward-Laplacian pass `jets_batch` (value, gradient and `Δu` in one product per layer)
//! and its reverse pass `jets_batch_backward`, which adds `∂Loss/∂θ` into the usual gradients.
//! The boundary condition is built in: `u = x(1 − x) y(1 − y) N(x, y)` is zero on the boundary
//! whatever the network `N` computes, and `Δu = g ΔN + 2 ∇g·∇N + N Δg` comes from `N`'s value,
//! gradient and Laplacian. Each step draws 256 interior points (seeded) and minimises
//! `mean ((Δu + f) / 2π²)²` with Adam and a cosine schedule through `fit_residual`.
//!
//! Run with `cargo run --release --example poisson` (`POISSON_STEPS=N` for fewer steps). With
//! `--features plot` it draws the solution and the error into `out/poisson.png`. It ends with
//! the relative L2 error on a 101×101 grid (and fails if it is above 1e-3).

use mlp::init::Init;
use mlp::mlp;
use mlp::operators::{fit_residual, Collocation, Jets, Laplacian};
use mlp::optim::{Adam, Schedule};
use std::error::Error;
use std::f64::consts::PI;
use std::time::Instant;

mlp! {
    /// `u(x, y)`: two coordinates in, three tanh layers of 32, one value out.
    pub struct Poisson {
        scalar: f64,
        input: 2,
        layers: [32 tanh, 32 tanh, 32 tanh, 1 identity],
        operators: [laplacian],
    }
}

/// The source term `f = 2π² sin(πx) sin(πy)`.
fn source(p: &[f64; 2]) -> f64 {
    2.0 * PI * PI * (PI * p[0]).sin() * (PI * p[1]).sin()
}

/// The residual's scale, `2π²`, so that the loss starts near 1.
const SCALE: f64 = 2.0 * PI * PI;

/// `g = x(1 − x) y(1 − y)`, its gradient and its Laplacian: the solution is `u = g N`, zero
/// on the boundary whatever the network `N` computes.
fn envelope(p: &[f64; 2]) -> (f64, [f64; 2], f64) {
    let (x, y) = (p[0], p[1]);
    let (gx, gy) = (x * (1.0 - x), y * (1.0 - y));
    let g = gx * gy;
    let grad = [(1.0 - 2.0 * x) * gy, gx * (1.0 - 2.0 * y)];
    (g, grad, -2.0 * gy - 2.0 * gx)
}

/// The network's solution `u = g N`.
fn solution(net: &Poisson, p: &[f64; 2]) -> f64 {
    envelope(p).0 * net.forward(p)[0]
}

/// The exact solution.
fn exact(p: &[f64; 2]) -> f64 {
    (PI * p[0]).sin() * (PI * p[1]).sin()
}

fn main() -> Result<(), Box<dyn Error>> {
    let steps: usize = std::env::var("POISSON_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let mut net = Poisson::zeros();
    Init::XAVIER_NORMAL.init(&mut net, 7);
    let mut points = Collocation::new([0.0, 0.0], [1.0, 1.0], 11);
    let mut inside = Vec::new();
    let mut cache = PoissonJetBatchCache::default();
    let mut seed = Jets::default();
    let mut optimizer = Adam::new(2e-3);
    let schedule = Schedule::Cosine {
        epochs: steps,
        min_lr: 1e-5,
    };
    let start = Instant::now();
    let history = fit_residual(
        &mut net,
        &mut optimizer,
        schedule,
        steps,
        |net, _, grads| {
            points.interior(256, &mut inside);
            // u = g N with g = x(1 − x) y(1 − y), zero on the boundary, so only the residual
            // is trained: Δu = g ΔN + 2 ∇g·∇N + N Δg, from N's value, gradient and Laplacian.
            let jets = net.jets_batch(&inside, &Laplacian, &mut cache);
            let n = inside.len() as f64;
            seed.zeroed(inside.len(), 2, 1);
            let mut loss = 0.0;
            for (s, p) in inside.iter().enumerate() {
                let (g, dg, lg) = envelope(p);
                let (v, lap) = (jets.value(s, 0), jets.second(s, 0, 0));
                let grad = [jets.gradient(s, 0, 0), jets.gradient(s, 1, 0)];
                let lap_u = g * lap + 2.0 * (dg[0] * grad[0] + dg[1] * grad[1]) + v * lg;
                let r = (lap_u + source(p)) / SCALE;
                loss += r * r / n;
                let dr = 2.0 * r / (n * SCALE);
                seed.set_value(s, 0, dr * lg);
                seed.set_gradient(s, 0, 0, dr * 2.0 * dg[0]);
                seed.set_gradient(s, 1, 0, dr * 2.0 * dg[1]);
                seed.set_second(s, 0, 0, dr * g);
            }
            net.jets_batch_backward(&Laplacian, &mut cache, &seed, grads)
                .expect("the seed has the jets' shape");
            loss
        },
    )?;
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{steps} steps in {seconds:.1} s ({:.0} µs a step), final loss {:.3e}",
        seconds * 1e6 / steps as f64,
        history.last().unwrap_or(f64::NAN)
    );

    // The relative L2 error on a 101×101 grid.
    let grid: Vec<[f64; 2]> = (0..101)
        .flat_map(|i| (0..101).map(move |j| [i as f64 / 100.0, j as f64 / 100.0]))
        .collect();
    let predicted: Vec<f64> = grid.iter().map(|p| solution(&net, p)).collect();
    let (mut err, mut norm) = (0.0, 0.0);
    for (p, u) in grid.iter().zip(&predicted) {
        err += (u - exact(p)).powi(2);
        norm += exact(p).powi(2);
    }
    #[cfg(feature = "plot")]
    {
        std::fs::create_dir_all("out")?;
        plot::draw(&grid, &predicted, "out/poisson.png")?;
        println!("solution and error drawn in out/poisson.png");
    }
    let relative = (err / norm).sqrt();
    println!("relative L2 error on a 101×101 grid: {relative:.3e}");
    if relative > 1e-3 {
        let message = format!("expected a relative L2 error of at most 1e-3, found {relative:.3e}");
        return Err(message.into());
    }
    Ok(())
}

#[cfg(feature = "plot")]
mod plot {
    use mlp::plot::plotters::prelude::*;
    use std::error::Error;

    /// Two heat maps side by side: the network's solution and its absolute error.
    pub fn draw(grid: &[[f64; 2]], u: &[f64], path: &str) -> Result<(), Box<dyn Error>> {
        mlp::plot::register_font()?;
        let root = BitMapBackend::new(path, (1000, 480)).into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right) = root.split_horizontally(500);
        let err: Vec<f64> = grid
            .iter()
            .zip(u)
            .map(|(p, u)| (u - super::exact(p)).abs())
            .collect();
        for (area, values, title) in [
            (left, u, "u(x, y), network"),
            (right, &err[..], "|u − exact|"),
        ] {
            let max = values.iter().fold(f64::MIN_POSITIVE, |m, v| m.max(v.abs()));
            let mut chart = ChartBuilder::on(&area)
                .caption(format!("{title} (max {max:.2e})"), ("sans-serif", 20))
                .margin(10)
                .x_label_area_size(30)
                .y_label_area_size(40)
                .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
            chart.configure_mesh().draw()?;
            chart.draw_series(grid.iter().zip(values).map(|(p, v)| {
                let c = HSLColor(0.7 * (1.0 - v.abs() / max), 0.9, 0.5);
                Rectangle::new(
                    [(p[0] - 0.005, p[1] - 0.005), (p[0] + 0.005, p[1] + 0.005)],
                    c.filled(),
                )
            }))?;
        }
        root.present()?;
        Ok(())
    }
}
