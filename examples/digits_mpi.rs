//! Handwritten digits trained on several processes at once over MPI (the `mpi` feature): the
//! recipe of `digits.rs` without the shifted copies, in global batches of 256 that the ranks
//! share, with the same test accuracy, bit for bit the same weights, on any number of ranks.
//!
//! ```text
//! cargo build --release --features mpi --example digits_mpi
//! mpirun --oversubscribe -n 4 target/release/examples/digits_mpi   # 4 ranks
//! target/release/examples/digits_mpi --alone                       # Trainer::fit, no MPI
//! ```
//!
//! Each rank reads its rows of the bundled training file (rank `r` of `N` reads rows `r`,
//! `r + N`, …; a rank that cannot ends the run on every rank with its error), the ranks
//! standardise with the statistics of the whole set, train with `Trainer::fit_mpi`, and rank
//! 0 reads the test file, saves the weights to `out/digits_mpi.safetensors` and prints the
//! test accuracy and a checksum of the weights.

use mlp::data::{load_csv, Csv, Target};
use mlp::init::Init;
use mlp::loss::SoftmaxCrossEntropy;
use mlp::mlp;
use mlp::optim::{Adam, Schedule};
use mlp::train::distributed::{mpi, Reduction, Shard};
use mlp::train::{evaluate, Trainer};
use mlp::Parameters;
use mpi::topology::Communicator;
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
    let alone = std::env::args().skip(1).any(|a| a == "--alone");
    let Some(universe) = mpi::initialize() else {
        eprintln!("digits_mpi: MPI was initialised already");
        std::process::exit(1);
    };
    let world = universe.world();
    if let Err(e) = run(&world, alone) {
        eprintln!("digits_mpi: rank {}: {e}", world.rank());
        // Ends every rank's process, as the others may wait for this one.
        world.abort(1);
    }
}

/// Loads, trains on every rank of `world` (or alone), and reports on rank 0.
fn run(world: &impl Communicator, alone: bool) -> Result<(), Box<dyn Error>> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let digits = Target::Label { classes: 10 };
    let train_csv = data.join("digits_train.csv");
    let mut train = if alone {
        Shard::whole(load_csv::<f32>(&train_csv, digits)?)
    } else {
        Shard::load_csv(world, &Csv::new(digits), &train_csv)?
    };
    let standardizer = train.standardizer(world)?;
    train.standardize(&standardizer)?;

    let mut net = Digits::zeros();
    let mut trainer = Trainer::new(
        SoftmaxCrossEntropy,
        Adam::adamw(3e-3).with_weight_decay(0.05),
    )
    .epochs(EPOCHS)
    .batch_size(256)
    .seed(0)
    .init(Init::XAVIER_UNIFORM)
    .schedule(Schedule::Cosine {
        epochs: EPOCHS,
        min_lr: 0.0,
    });
    let start = Instant::now();
    let ranks = if alone { 1 } else { world.size() };
    if alone {
        trainer.fit(&mut net, train.data(), None)?;
    } else {
        trainer.fit_mpi(world, Reduction::Ordered, &mut net, &train, None)?;
    }
    if world.rank() != 0 {
        return Ok(());
    }
    let seconds = start.elapsed().as_secs_f64();
    let mut test = load_csv::<f32>(data.join("digits_test.csv"), digits)?;
    test.standardize(&standardizer)?;
    std::fs::create_dir_all("out")?;
    mlp::io::save(&net, "out/digits_mpi.safetensors")?;
    let accuracy = evaluate(&net, &SoftmaxCrossEntropy, &test)?
        .accuracy
        .unwrap_or(0.0);
    // FNV-1a over the weights' bits: equal checksums are equal weights.
    let mut checksum = 0xcbf2_9ce4_8422_2325u64;
    net.visit(|_, p| {
        for v in p {
            checksum = (checksum ^ u64::from(v.to_bits())).wrapping_mul(0x0100_0000_01b3);
        }
    });
    println!(
        "digits_mpi: {ranks} rank(s), {} training images, {EPOCHS} epochs in {seconds:.2} s",
        train.samples()
    );
    println!("weights checksum {checksum:016x}, saved to out/digits_mpi.safetensors");
    println!("test accuracy: {accuracy:.4}");
    Ok(())
}
