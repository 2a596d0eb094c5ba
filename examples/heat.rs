//! The 1-D heat equation `u_t = ν u_xx` on `x ∈ [0, 1]`, `t ∈ [0, 1]`, with `ν = 0.1`,
//! `u(0, x) = sin(πx)` and `u(t, 0) = u(t, 1) = 0`; the exact solution is
//! `u = e^(−νπ²t) sin(πx)`.
//!
//! The network's input is `(t, x)`, and the residual `u_t − ν u_xx` is one general operator
//! (`operators: [operator]`): `Σ a_ij ∂²u/∂x_i∂x_j + Σ b_i ∂u/∂x_i` with `a = [[0, 0], [0, −ν]]`
//! and `b = [1, 0]`, given at run time. Unlike `poisson.rs`, the conditions are soft: each
//! step draws 256 interior points and 128 points on the boundary of the box (seeded; those on
//! the face `t = 1`, where nothing is imposed, are dropped), and minimises
//! `mean (u_t − ν u_xx)² + mean (u − u_0)²` over the initial and boundary points.
//!
//! Run with `cargo run --release --example heat` (`HEAT_STEPS=N` for fewer steps). It ends
//! with the relative L2 error on a 101×101 grid of `(t, x)`.

use mlp::init::Init;
use mlp::mlp;
use mlp::operators::{fit_residual, Collocation, Jets, Operator};
use mlp::optim::{Adam, Schedule};
use std::error::Error;
use std::f64::consts::PI;
use std::time::Instant;

mlp! {
    /// `u(t, x)`: time and position in, two tanh layers of 32, one value out.
    pub struct Heat {
        scalar: f64,
        input: 2,
        layers: [32 tanh, 32 tanh, 1 identity],
        operators: [operator],
    }
}

/// The diffusivity `ν`.
const NU: f64 = 0.1;

/// The exact solution at `(t, x)`.
fn exact(p: &[f64; 2]) -> f64 {
    (-NU * PI * PI * p[0]).exp() * (PI * p[1]).sin()
}

/// The value imposed at a point of the boundary: `sin(πx)` at `t = 0`, `0` at `x = 0, 1`.
fn imposed(p: &[f64; 2]) -> f64 {
    if p[0] == 0.0 {
        (PI * p[1]).sin()
    } else {
        0.0
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let steps: usize = std::env::var("HEAT_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let heat = Operator {
        a: [[0.0, 0.0], [0.0, -NU]],
        b: [1.0, 0.0],
    };
    let mut net = Heat::zeros();
    Init::XAVIER_NORMAL.init(&mut net, 3);
    let mut points = Collocation::new([0.0, 0.0], [1.0, 1.0], 5);
    let (mut inside, mut edge) = (Vec::new(), Vec::new());
    let mut cache = HeatJetBatchCache::default();
    let mut batch_cache = HeatBatchCache::default();
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
            points.boundary(128, &mut edge);
            edge.retain(|p| p[0] < 1.0);
            // The residual u_t − ν u_xx, one channel of the general operator.
            let jets = net.jets_batch(&inside, &heat, &mut cache);
            let n = inside.len() as f64;
            seed.zeroed(inside.len(), 2, 1);
            let mut loss = 0.0;
            for s in 0..inside.len() {
                let r = jets.second(s, 0, 0);
                loss += r * r / n;
                seed.set_second(s, 0, 0, 2.0 * r / n);
            }
            net.jets_batch_backward(&heat, &mut cache, &seed, grads)
                .expect("the seed has the jets' shape");
            // The initial and boundary values, through the plain batched pass.
            let xb = mlp::ndarray::ArrayView2::from_shape((edge.len(), 2), edge.as_flattened())
                .expect("two columns");
            let ub = net
                .forward_batch_cached(xb, &mut batch_cache)
                .expect("two columns");
            let m = edge.len() as f64;
            let mut grad = Vec::with_capacity(edge.len());
            for (p, u) in edge.iter().zip(ub.iter()) {
                let e = u - imposed(p);
                loss += e * e / m;
                grad.push(2.0 * e / m);
            }
            let dl_du =
                mlp::ndarray::Array2::from_shape_vec((edge.len(), 1), grad).expect("one column");
            net.backward_batch(&mut batch_cache, dl_du.view(), grads)
                .expect("the batch of the forward call");
            loss
        },
    )?;
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{steps} steps in {seconds:.1} s ({:.0} µs a step), final loss {:.3e}",
        seconds * 1e6 / steps as f64,
        history.last().unwrap_or(f64::NAN)
    );
    let (mut err, mut norm) = (0.0, 0.0);
    for i in 0..=100 {
        for j in 0..=100 {
            let p = [i as f64 / 100.0, j as f64 / 100.0];
            err += (net.forward(&p)[0] - exact(&p)).powi(2);
            norm += exact(&p).powi(2);
        }
    }
    println!(
        "relative L2 error on a 101×101 grid: {:.3e}",
        (err / norm).sqrt()
    );
    Ok(())
}
