//! Fisher's iris: a 4-16-3 tanh network classifies three species from four measurements
//! (`data/iris_train.csv`, 120 flowers; `data/iris_test.csv`, 30).
//!
//! Run with `cargo run --release --example iris`.
//!
//! It holds out a fifth of the training flowers for validation, stops when the validation loss
//! has not improved for 30 epochs, keeps the best epoch's weights, and ends with the test
//! accuracy.

use mlp::data::{load_csv, Standardizer, Target};
use mlp::init::Init;
use mlp::loss::SoftmaxCrossEntropy;
use mlp::mlp;
use mlp::optim::Adam;
use mlp::train::{evaluate, Trainer};
use std::error::Error;
use std::path::Path;

mlp! {
    /// 4 measurements in, 16 tanh units, 3 logits out (setosa, versicolor, virginica).
    pub struct Iris {
        scalar: f64,
        input: 4,
        layers: [16 tanh, 3 identity],
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let species = Target::Label { classes: 3 };
    let (mut train, mut val) =
        load_csv::<f64>(data.join("iris_train.csv"), species)?.split(0.2, 0)?;
    let mut test = load_csv::<f64>(data.join("iris_test.csv"), species)?;
    let standardizer = Standardizer::fit(train.features())?;
    for set in [&mut train, &mut val, &mut test] {
        set.standardize(&standardizer)?;
    }

    let mut net = Iris::zeros();
    Init::XAVIER_NORMAL.init(&mut net, 0);
    let history = Trainer::new(SoftmaxCrossEntropy, Adam::new(1e-2))
        .epochs(500)
        .batch_size(16)
        .early_stopping(30)
        .fit(&mut net, &train, Some(&val))?;
    let best = history.best().map_or(0, |e| e.epoch);
    let at_best = history.best().and_then(|e| e.validation);
    println!(
        "{} training and {} validation flowers; stopped after {} epochs, best epoch {best}: validation loss {:.4}, accuracy {:.4}",
        train.len(),
        val.len(),
        history.epochs.len(),
        at_best.map_or(f64::NAN, |v| v.loss),
        at_best.and_then(|v| v.accuracy).unwrap_or(f64::NAN),
    );

    let accuracy = evaluate(&net, &SoftmaxCrossEntropy, &test)?
        .accuracy
        .unwrap_or(0.0);
    println!("test accuracy: {accuracy:.4}");
    Ok(())
}
