//! Regression: a 1-16-16-1 tanh network learns `sin x` on `[−π, π]` to a mean squared error
//! below 1e-4.
//!
//! Run with `cargo run --release --example sine`.
//!
//! It trains on 256 evenly spaced points with Adam (η = 1e-2, cosine schedule to 0 over 1000
//! epochs, batches of 16) and the mean squared error, then measures the error on 1000 other
//! points of the interval, endpoints included, and prints a few predictions.

use mlp::data::Dataset;
use mlp::init::Init;
use mlp::loss::Mse;
use mlp::mlp;
use mlp::ndarray::Array2;
use mlp::optim::{Adam, Schedule};
use mlp::train::{evaluate, Trainer};
use std::error::Error;
use std::f64::consts::PI;
use std::time::Instant;

mlp! {
    /// `x ↦ sin x` on `[−π, π]`.
    pub struct Sine {
        scalar: f64,
        input: 1,
        layers: [16 tanh, 16 tanh, 1 identity],
    }
}

/// The number of epochs, which is also the cosine schedule's length.
const EPOCHS: usize = 1000;

/// `n` points `(x, sin x)` with `x = −π + 2π (i + offset) / (n − 1 + 2 offset)`.
fn points(n: usize, offset: f64) -> Result<Dataset<f64>, Box<dyn Error>> {
    let x = Array2::from_shape_fn((n, 1), |(i, _)| {
        -PI + 2.0 * PI * (i as f64 + offset) / (n as f64 - 1.0 + 2.0 * offset)
    });
    Ok(Dataset::regression(x.clone(), x.mapv(f64::sin))?)
}

fn main() -> Result<(), Box<dyn Error>> {
    let train = points(256, 0.5)?;
    let test = points(1000, 0.0)?;
    let mut net = Sine::zeros();
    Init::XAVIER_NORMAL.init(&mut net, 0);
    let mut trainer = Trainer::new(Mse, Adam::new(1e-2))
        .epochs(EPOCHS)
        .batch_size(16)
        .schedule(Schedule::Cosine {
            epochs: EPOCHS,
            min_lr: 0.0,
        });
    let start = Instant::now();
    trainer.fit(&mut net, &train, None)?;
    println!(
        "trained {EPOCHS} epochs on {} points in {:.2} s",
        train.len(),
        start.elapsed().as_secs_f64()
    );

    println!("\n     x   |  sin x  | network");
    println!("---------+---------+---------");
    for x in [-PI, -2.0, -1.0, 0.0, 0.5, 1.5, 3.0] {
        println!(" {x:7.4} | {:7.4} | {:7.4}", x.sin(), net.forward(&[x])[0]);
    }

    let mse = evaluate(&net, &Mse, &test)?.loss;
    println!("\ntest mse: {mse:.3e}");
    if mse >= 1e-4 {
        eprintln!("the test error did not fall below 1e-4");
        std::process::exit(1);
    }
    Ok(())
}
