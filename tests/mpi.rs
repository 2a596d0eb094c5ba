//! With the `mpi` feature: training on 2 and 3 ranks gives the weights and history of one
//! process, bit for bit, and faults on one rank are errors on every rank.
//!
//! `cargo test --features mpi --test mpi` runs this binary, which starts itself under
//! `mpirun -n 2` and `-n 3` (oversubscribed, so two cores do); under `mpirun`, every rank runs
//! the checks and a failed one ends the job with a non-zero status.

use mlp::data::Dataset;
use mlp::error::TrainError;
use mlp::init::Init;
use mlp::loss::SoftmaxCrossEntropy;
use mlp::ndarray::Array2;
use mlp::optim::Adam;
use mlp::train::distributed::{self, mpi, Reduction};
use mlp::train::{EpochStats, Trainer};
use mpi::topology::Communicator;
use std::process::Command;

mlp::mlp! {
    /// The network every rank trains.
    pub struct Net { scalar: f32, input: 20, layers: [32 tanh, 5 identity] }
}

mlp::mlp! {
    /// A network of other widths, for ranks that disagree.
    pub struct Other { scalar: f32, input: 20, layers: [16 tanh, 5 identity] }
}

fn main() {
    if std::env::var_os("OMPI_COMM_WORLD_SIZE").is_none() {
        launch();
        return;
    }
    let universe = mpi::initialize().expect("MPI initialises once");
    let world = universe.world();
    let rank = world.rank();
    same_bits_as_one_process(&world);
    faults_are_errors_on_every_rank(&world);
    if rank == 0 {
        println!("mpi: {} ranks: every check passed", world.size());
    }
}

/// Runs this binary under `mpirun` on 2 and 3 ranks.
fn launch() {
    let exe = std::env::current_exe().unwrap();
    for ranks in ["2", "3"] {
        let status = Command::new("mpirun")
            .args(["--oversubscribe", "-n", ranks])
            .arg(&exe)
            // Allowed as root too, as CI runs.
            .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
            .status()
            .expect("mpirun starts (Debian: openmpi-bin)");
        assert!(
            status.success(),
            "the checks failed on {ranks} ranks: {status}"
        );
    }
}

/// 600 samples of 20 features in 5 classes, the same on every rank.
fn data(features: usize) -> Dataset<f32> {
    let x = Array2::from_shape_fn((600, features), |(i, j)| {
        ((i * 37 + j * 11) % 41) as f32 / 41.0 - 0.5
    });
    Dataset::classification(x, (0..600).map(|i| (i * 7 + i / 9) % 5).collect(), 5).unwrap()
}

fn trainer(batch: usize) -> Trainer<SoftmaxCrossEntropy, Adam<f32>> {
    Trainer::new(SoftmaxCrossEntropy, Adam::new(0.01))
        .epochs(3)
        .batch_size(batch)
        .seed(11)
        .init(Init::XAVIER_UNIFORM)
        .progress(false)
}

/// The history without the durations.
fn stats(epochs: &[EpochStats]) -> Vec<String> {
    epochs
        .iter()
        .map(|e| format!("{} {:?} {:?} {:?}", e.epoch, e.lr, e.train, e.validation))
        .collect()
}

/// Batches of 64 (one chunk: on 2 and 3 ranks, only the last computes), 200 (3 chunks) and
/// 256 (4),
/// with a validation set: the same weights and history as `Trainer::fit` in this process.
/// The all-reduce option lands within rounding of them.
fn same_bits_as_one_process(world: &impl Communicator) {
    let (train, val) = trainer(64).split(&data(20), 0.2).unwrap();
    for batch in [64, 200, 256] {
        let mut alone = Net::zeros();
        let want = trainer(batch).fit(&mut alone, &train, Some(&val)).unwrap();
        let mut net = Net::zeros();
        let got = trainer(batch)
            .fit_mpi(world, Reduction::Ordered, &mut net, &train, Some(&val))
            .unwrap();
        assert!(
            net == alone,
            "batch {batch}: the weights differ from one process"
        );
        assert_eq!(stats(&got.epochs), stats(&want.epochs), "batch {batch}");

        let mut summed = Net::zeros();
        trainer(batch)
            .fit_mpi(world, Reduction::Sum, &mut summed, &train, Some(&val))
            .unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        mlp::Parameters::visit(&summed, |_, p| a.extend_from_slice(p));
        mlp::Parameters::visit(&alone, |_, p| b.extend_from_slice(p));
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(
            worst < 1e-4,
            "batch {batch}: the all-reduce run is {worst} away"
        );
    }
}

/// A failing rank, ranks with different networks and a rank with data of another width: an
/// error on every rank, naming the rank and what differs.
fn faults_are_errors_on_every_rank(world: &impl Communicator) {
    let rank = world.rank();
    let distributed = |e: TrainError| match e {
        TrainError::Distributed { rank, reason } => (rank, reason),
        other => panic!("expected a distributed error, found {other}"),
    };

    let loaded: Result<(), String> = match rank {
        1 => Err("shard 1: no such file".to_owned()),
        _ => Ok(()),
    };
    let (who, why) = distributed(distributed::agree(world, loaded).unwrap_err());
    assert_eq!((who, why.as_str()), (1, "shard 1: no such file"));

    let train = data(20);
    let err = if rank == 1 {
        trainer(64).fit_mpi(world, Reduction::Ordered, &mut Other::zeros(), &train, None)
    } else {
        trainer(64).fit_mpi(world, Reduction::Ordered, &mut Net::zeros(), &train, None)
    };
    let (who, why) = distributed(err.unwrap_err());
    assert_eq!(who, 1);
    assert!(
        why.contains("the hash of the network's PARAM_INFO"),
        "{why}"
    );

    let wide = data(21);
    let mine = if rank == 1 { &wide } else { &train };
    let err = trainer(64).fit_mpi(world, Reduction::Ordered, &mut Net::zeros(), mine, None);
    let (who, why) = distributed(err.unwrap_err());
    assert_eq!(
        (who, why.as_str()),
        (1, "training features: expected 20 columns, found 21")
    );
}
