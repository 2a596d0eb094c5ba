//! Handwritten digits: a 64-256-10 ReLU network trained on the bundled UCI digits, 8×8 images
//! with pixels 0..16 (`data/digits_train.csv`, 1437 images; `data/digits_test.csv`, 360).
//!
//! Run with `cargo run --release --example digits`, or `-- --seed N` for another seed
//! (`-- --help` says so). With `--features plot` it also draws the training curves into
//! `out/digits_curves.png` and `.svg`.
//!
//! The recipe, chosen on validation splits of the training images (the test images were used
//! only to report the result):
//! - each training image also appears shifted by one pixel up, down, left and right (zeros
//!   shifted in), so the network sees 5 × 1437 images and learns that a digit moved by a
//!   pixel is the same digit;
//! - features standardised with the mean and standard deviation of those training images
//!   (`Standardizer`), applied unchanged to the test images;
//! - Xavier-uniform weights, AdamW (η = 3e-3, λ = 0.05) with a cosine schedule to 0 over
//!   20 epochs, batches of 32, softmax cross-entropy.
//!
//! It prints a progress bar while training (when stderr is a terminal), a summary, saves the
//! weights as safetensors in `out/digits.safetensors`, and ends with the test accuracy.

use mlp::data::{load_csv, Dataset, Standardizer, Target};
use mlp::init::Init;
use mlp::loss::SoftmaxCrossEntropy;
use mlp::mlp;
use mlp::ndarray::Array2;
use mlp::optim::{Adam, Schedule};
use mlp::train::{evaluate, Trainer};
use std::error::Error;
use std::path::Path;
use std::time::Instant;

mlp! {
    /// 64 pixels in, 256 ReLU units, 10 logits out (one per digit).
    pub struct Digits {
        scalar: f32,
        input: 64,
        layers: [256 relu, 10 identity],
    }
}

/// The number of epochs, which is also the cosine schedule's length.
const EPOCHS: usize = 20;

fn main() {
    let seed = match seed_argument() {
        Ok(Some(seed)) => seed,
        Ok(None) => {
            println!("{USAGE}");
            return;
        }
        Err(e) => {
            eprintln!("digits: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(seed) {
        eprintln!("digits: {e}");
        std::process::exit(1);
    }
}

/// What `--help` prints.
const USAGE: &str = "usage: cargo run --release --example digits [-- --seed N]

Trains a 64-256-10 relu network on the bundled handwritten digits with seed N (0 by
default), saves the weights to out/digits.safetensors and prints the test accuracy.";

/// Trains, saves and reports with `seed`.
fn run(seed: u64) -> Result<(), Box<dyn Error>> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let digits = Target::Label { classes: 10 };
    let original = load_csv::<f32>(data.join("digits_train.csv"), digits)?;
    let mut test = load_csv::<f32>(data.join("digits_test.csv"), digits)?;
    let mut train = with_shifts(&original)?;
    let standardizer = Standardizer::fit(train.features())?;
    train.standardize(&standardizer)?;
    test.standardize(&standardizer)?;
    println!(
        "digits: {} training images ({} with shifts), {} test images, a 64-256-10 relu network, seed {seed}",
        original.len(),
        train.len(),
        test.len(),
    );

    let mut net = Digits::zeros();
    Init::XAVIER_UNIFORM.init(&mut net, seed);
    let mut trainer = Trainer::new(
        SoftmaxCrossEntropy,
        Adam::adamw(3e-3).with_weight_decay(0.05),
    )
    .epochs(EPOCHS)
    .batch_size(32)
    .seed(seed)
    .schedule(Schedule::Cosine {
        epochs: EPOCHS,
        min_lr: 0.0,
    });
    let start = Instant::now();
    let history = trainer.fit(&mut net, &train, None)?;
    let seconds = start.elapsed().as_secs_f64();
    if let Some(last) = history.epochs.last() {
        println!(
            "trained {} epochs in {seconds:.2} s: training loss {:.4}, training accuracy {:.4}",
            history.epochs.len(),
            last.train.loss,
            last.train.accuracy.unwrap_or(f64::NAN),
        );
    }

    std::fs::create_dir_all("out")?;
    mlp::io::save(&net, "out/digits.safetensors")?;
    println!("saved the weights to out/digits.safetensors");
    #[cfg(feature = "plot")]
    {
        history.plot("out/digits_curves.png")?;
        history.plot("out/digits_curves.svg")?;
        println!("drew the training curves in out/digits_curves.png and .svg");
    }

    let accuracy = evaluate(&net, &SoftmaxCrossEntropy, &test)?
        .accuracy
        .unwrap_or(0.0);
    println!("test accuracy: {accuracy:.4}");
    Ok(())
}

/// Reads `--seed N` from the command line: 0 without it, `None` for `--help`.
fn seed_argument() -> Result<Option<u64>, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => Ok(Some(0)),
        [flag] if flag == "--help" || flag == "-h" => Ok(None),
        [flag, n] if flag == "--seed" => n
            .parse()
            .map(Some)
            .map_err(|e| format!("--seed {n}: {e}, expected a whole number")),
        _ => Err(format!("unexpected arguments `{}`", args.join(" "))),
    }
}

/// The images, each followed by its copies shifted one pixel down, up, right and left.
fn with_shifts(data: &Dataset<f32>) -> Result<Dataset<f32>, Box<dyn Error>> {
    const SHIFTS: [(i32, i32); 5] = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)];
    let labels = data.labels().ok_or("the digits need class labels")?;
    let n = data.len();
    let mut x = Array2::<f32>::zeros((SHIFTS.len() * n, 64));
    let mut y = Vec::with_capacity(SHIFTS.len() * n);
    for (k, &(dr, dc)) in SHIFTS.iter().enumerate() {
        for (i, image) in data.features().outer_iter().enumerate() {
            let mut row = x.row_mut(k * n + i);
            for r in 0..8 {
                for c in 0..8 {
                    let (sr, sc) = (r - dr, c - dc);
                    if (0..8).contains(&sr) && (0..8).contains(&sc) {
                        row[(r * 8 + c) as usize] = image[(sr * 8 + sc) as usize];
                    }
                }
            }
            y.push(labels[i]);
        }
    }
    Ok(Dataset::classification(x, y, 10)?)
}
