//! The README's comparison recipe in mlp, timed from reading the CSV to the end of training:
//! 64-64-10 (tanh, then softmax cross-entropy), Xavier-uniform weights, features standardised,
//! plain SGD with lr 0.1, batches of 32, 100 epochs on the bundled digits (1437 training
//! images), then the test accuracy as a check that it learned.
//!
//! Run with `cargo bench -p mlp-benches --bench recipe` (add `--features parallel` and set
//! `RAYON_NUM_THREADS` for the threaded products); `scripts/compare-recipe.py` runs it beside
//! PyTorch and scikit-learn.

use mlp::data::{load_csv, Standardizer, Target};
use mlp::init::Init;
use mlp::loss::SoftmaxCrossEntropy;
use mlp::optim::Sgd;
use mlp::train::{evaluate, Trainer};
use std::path::Path;
use std::time::Instant;

mlp::mlp! {
    /// 64 pixels in, 64 tanh units, 10 logits out.
    pub struct Recipe { scalar: f32, input: 64, layers: [64 tanh, 10 identity] }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
    let digits = Target::Label { classes: 10 };
    let start = Instant::now();
    let mut train = load_csv::<f32>(data.join("digits_train.csv"), digits)?;
    let standardizer = Standardizer::fit(train.features())?;
    train.standardize(&standardizer)?;
    let mut net = Recipe::zeros();
    Init::XAVIER_UNIFORM.init(&mut net, 0);
    Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.1))
        .epochs(100)
        .batch_size(32)
        .seed(0)
        .progress(false)
        .fit(&mut net, &train, None)?;
    let seconds = start.elapsed().as_secs_f64();
    let mut test = load_csv::<f32>(data.join("digits_test.csv"), digits)?;
    test.standardize(&standardizer)?;
    let accuracy = evaluate(&net, &SoftmaxCrossEntropy, &test)?
        .accuracy
        .unwrap_or(0.0);
    println!("mlp seconds {seconds:.3} test_accuracy {accuracy:.4}");
    Ok(())
}
