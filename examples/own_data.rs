//! Train on your own data: the README's "Train on your own data" section, line for line.
//! A CSV with an id column and text class labels (`data/iris_species.csv`), a stratified
//! seeded split, standardisation, training with early stopping, a confusion matrix, and the
//! model saved, loaded back and used on raw rows.
//!
//! Run with `cargo run --release --example own_data`.

use mlp::data::{Csv, Preprocessing, Standardizer};
use mlp::{init::Init, loss::SoftmaxCrossEntropy, mlp, optim::Adam, train::Trainer, Model};

mlp! { pub struct Iris = 4 -> 16 tanh -> 3 identity; }

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = Csv::classes("species")
        .exclude(["id"])
        .load::<f32>("data/iris_species.csv")?;
    let mut trainer = Trainer::new(SoftmaxCrossEntropy, Adam::new(1e-2))
        .seed(7)
        .init(Init::XAVIER_UNIFORM)
        .epochs(500)
        .early_stopping(30);
    let (rest, test) = trainer.split(&data, 0.2)?; // stratified by species, seeded
    let (mut train, mut val) = trainer.split(&rest, 0.25)?;
    let standardizer = Standardizer::fit(train.features())?;
    train.standardize(&standardizer)?;
    val.standardize(&standardizer)?;
    let mut net = Iris::zeros();
    trainer.fit(&mut net, &train, Some(&val))?; // keeps the best epoch's weights
    let prep = Preprocessing::from_dataset(&data).with_standardizer(standardizer);
    let path = std::env::temp_dir().join("iris.safetensors");
    Model::new(net, prep).save(&path)?; // weights, names and standardiser
    let model = Model::<Iris>::load(&path)?;
    println!("{}", model.confusion_matrix(&test)?); // accuracy, precision, recall, F1
    println!("{:?}", &model.predict_names(&test)?[..3]); // class names, from raw rows
    Ok(())
}
