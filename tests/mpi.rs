//! With the `mpi` feature: training on 2 and 3 ranks, from the whole set on every rank, from
//! each rank's rows of one file or from a file per rank, gives the weights and history of one
//! process on the whole set, bit for bit; faults on one rank are errors on every rank.
//!
//! `cargo test --features mpi --test mpi` runs this binary, which starts itself under
//! `mpirun -n 2` and `-n 3` (oversubscribed, so two cores do); under `mpirun`, every rank runs
//! the checks and a failed one ends the job with a non-zero status.

use mlp::data::{load_csv, Csv, Dataset, Target};
use mlp::error::{LossError, TrainError};
use mlp::init::Init;
use mlp::loss::{Loss, Mse, SoftmaxCrossEntropy};
use mlp::ndarray::Array2;
use mlp::optim::{Adam, Sgd};
use mlp::train::distributed::{self, mpi, Reduction, Shard};
use mlp::train::{EpochStats, Trainer};
use mpi::topology::Communicator;
use mpi::traits::CommunicatorCollectives;
use std::path::{Path, PathBuf};
use std::process::Command;

mlp::mlp! {
    /// The network every rank trains.
    pub struct Net { scalar: f32, input: 20, layers: [32 tanh, 5 identity] }
}

mlp::mlp! {
    /// A network of other widths, for ranks that disagree.
    pub struct Other { scalar: f32, input: 20, layers: [16 tanh, 5 identity] }
}

mlp::mlp! {
    /// A regression network, for a step that diverges.
    pub struct Fit { scalar: f32, input: 20, layers: [8 tanh, 1 identity] }
}

fn main() {
    if std::env::var_os("OMPI_COMM_WORLD_SIZE").is_none() {
        launch();
        return;
    }
    let universe = mpi::initialize().expect("MPI initialises once");
    let world = universe.world();
    if std::env::var_os("MLP_MPI_TEST_DIE").is_some() {
        a_rank_dies(&world);
        return;
    }
    let dir = files(&world);
    same_bits_as_one_process(&world, &dir);
    faults_are_errors_on_every_rank(&world, &dir);
    if world.rank() == 0 {
        println!("mpi: {} ranks: every check passed", world.size());
    }
}

/// `mpirun` on `ranks` ranks of this binary, allowed as root too, as CI runs.
fn mpirun(ranks: &str) -> Command {
    let mut command = Command::new("mpirun");
    command
        .args(["--oversubscribe", "-n", ranks])
        .arg(std::env::current_exe().unwrap())
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    command
}

/// Runs this binary under `mpirun` on 2 and 3 ranks, then once more on 2 ranks of which one
/// dies while training: the job must end, with a failure, rather than hang.
fn launch() {
    for ranks in ["2", "3"] {
        let status = mpirun(ranks)
            .status()
            .expect("mpirun starts (Debian: openmpi-bin)");
        assert!(
            status.success(),
            "the checks failed on {ranks} ranks: {status}"
        );
    }
    let mut job = mpirun("2")
        .env("MLP_MPI_TEST_DIE", "1")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("mpirun starts");
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = job.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > std::time::Duration::from_secs(120) {
            let _ = job.kill();
            panic!("a rank died and the job still ran after 120 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(!status.success(), "a rank died, yet mpirun reports success");
}

/// Rank 1 exits in the middle of training (from its loss, at the tenth sample); the others
/// are then waiting in a collective, which `mpirun` must end.
fn a_rank_dies(world: &impl Communicator) {
    #[derive(Clone, Copy, Debug)]
    struct Dying(bool);
    impl Loss<f32> for Dying {
        const NAME: &'static str = "dying";
        fn value_grad(&self, y: &[f32], t: &[f32], grad: &mut [f32]) -> Result<f32, LossError> {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static CALLS: AtomicUsize = AtomicUsize::new(0);
            if self.0 && CALLS.fetch_add(1, Ordering::Relaxed) == 10 {
                std::process::exit(3);
            }
            Mse.value_grad(y, t, grad)
        }
        fn value(&self, y: &[f32], t: &[f32]) -> Result<f32, LossError> {
            Mse.value(y, t)
        }
    }
    let mut trainer = Trainer::new(Dying(world.rank() == 1), Sgd::new(0.01))
        .epochs(1000)
        .batch_size(256)
        .progress(false);
    let _ = trainer.fit_mpi(
        world,
        Reduction::Ordered,
        &mut Fit::zeros(),
        &Shard::whole(regression(0.5)),
        None,
    );
}

/// `n` samples of `features` features in 5 classes, from a formula shifted by `seed`.
fn data(n: usize, features: usize, seed: usize) -> Dataset<f32> {
    let x = Array2::from_shape_fn((n, features), |(i, j)| {
        ((i * 37 + j * 11 + seed) % 41) as f32 / 41.0 - 0.5
    });
    Dataset::classification(x, (0..n).map(|i| (i * 7 + i / 9 + seed) % 5).collect(), 5).unwrap()
}

/// Rows `rows` of `data` as CSV text, with a header, the class last.
fn csv(data: &Dataset<f32>, rows: std::ops::Range<usize>) -> String {
    let mut text = (1..=data.n_features())
        .map(|j| format!("x{j},"))
        .collect::<String>()
        + "class\n";
    for i in rows {
        for v in data.features().row(i) {
            text += &format!("{v},");
        }
        text += &format!("{}\n", data.labels().unwrap()[i]);
    }
    text
}

/// Where rank `q` of `n` starts in the per-rank files of 600 samples: unequal blocks.
fn block_start(q: usize, n: usize) -> usize {
    600 * q * q / (n * n)
}

/// Rank 0 writes the files every rank reads: `all.csv` (600 training samples), `part-R.csv`
/// (rank R's block of them), `val.csv` (120 validation samples), `names-R.csv` (other class
/// names on ranks 1 and up) and `some-R.csv` (missing for rank 1).
fn files(world: &impl Communicator) -> PathBuf {
    let size = world.size() as usize;
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mpi-{size}-ranks"));
    if world.rank() == 0 {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let train = data(600, 20, 0);
        std::fs::write(dir.join("all.csv"), csv(&train, 0..600)).unwrap();
        for q in 0..size {
            let rows = block_start(q, size)..block_start(q + 1, size);
            std::fs::write(dir.join(format!("part-{q}.csv")), csv(&train, rows)).unwrap();
            let names = if q == 0 {
                ["cat", "dog"]
            } else {
                ["dog", "bird"]
            };
            let text = format!("x,y\n1,{}\n2,{}\n", names[0], names[1]);
            std::fs::write(dir.join(format!("names-{q}.csv")), text).unwrap();
            if q != 1 {
                std::fs::write(dir.join(format!("some-{q}.csv")), csv(&train, 0..10)).unwrap();
            }
        }
        std::fs::write(dir.join("val.csv"), csv(&data(120, 20, 3), 0..120)).unwrap();
    }
    world.barrier();
    dir
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

/// Batches cut into 1 to 7 chunks, from the whole set on every rank, every N-th row of one file and a file per rank, with a
/// validation set on rank 0 only: the same weights and history as `Trainer::fit` on the whole
/// set in this process. Early stopping stops every rank where one process stops. The
/// all-reduce option lands within rounding of them.
fn same_bits_as_one_process(world: &impl Communicator, dir: &Path) {
    let rank = world.rank();
    let label = Csv::new(Target::Label { classes: 5 });
    let all = load_csv::<f32>(dir.join("all.csv"), Target::Label { classes: 5 }).unwrap();
    let val = load_csv::<f32>(dir.join("val.csv"), Target::Label { classes: 5 }).unwrap();
    let mine = (rank == 0).then_some(&val);
    let shards = [
        ("whole", Shard::whole(all.clone())),
        (
            "every N-th row",
            Shard::load_csv(world, &label, dir.join("all.csv")).unwrap(),
        ),
        (
            "a file per rank",
            Shard::load_csv_per_rank(
                world,
                &label,
                &format!("{}/part-{{rank}}.csv", dir.display()),
            )
            .unwrap(),
        ),
    ];
    for (_, shard) in &shards {
        assert_eq!(shard.samples(), 600);
    }
    // Batches of 64 (one chunk: only the last rank computes), 200 (3 chunks), 256 (4) and 200
    // cut into 7 chunks.
    for (batch, chunks) in [(64, None), (200, None), (256, None), (200, Some(7))] {
        let trainer = |batch| {
            let mut t = trainer(batch);
            t.chunks = chunks;
            t
        };
        let mut alone = Net::zeros();
        let want = trainer(batch).fit(&mut alone, &all, Some(&val)).unwrap();
        for (what, shard) in &shards {
            let mut net = Net::zeros();
            let got = trainer(batch)
                .fit_mpi(world, Reduction::Ordered, &mut net, shard, mine)
                .unwrap();
            assert!(
                net == alone,
                "batch {batch}, {what}: the weights differ from one process"
            );
            assert_eq!(
                stats(&got.epochs),
                stats(&want.epochs),
                "batch {batch}, {what}"
            );
        }

        let mut summed = Net::zeros();
        trainer(batch)
            .fit_mpi(world, Reduction::Sum, &mut summed, &shards[1].1, mine)
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

    // Early stopping on rank 0's validation set: every rank stops at the same epoch, with the
    // best epoch's weights, as one process does.
    let stopping = || trainer(200).epochs(12).early_stopping(1);
    let mut alone = Net::zeros();
    let want = stopping().fit(&mut alone, &all, Some(&val)).unwrap();
    let mut net = Net::zeros();
    let got = stopping()
        .fit_mpi(world, Reduction::Ordered, &mut net, &shards[2].1, mine)
        .unwrap();
    assert!(net == alone, "early stopping: the weights differ");
    assert_eq!(
        (got.best_epoch, got.stopped_early, stats(&got.epochs)),
        (want.best_epoch, want.stopped_early, stats(&want.epochs))
    );

    // The standardiser of the shards is that of the whole set.
    let whole = mlp::data::Standardizer::fit(all.features()).unwrap();
    for (what, shard) in &shards {
        assert_eq!(shard.standardizer(world).unwrap(), whole, "{what}");
    }
}

/// Mean squared error that refuses targets above 100: a chunk fails where one is.
#[derive(Clone, Copy, Debug)]
struct Picky;

impl Loss<f32> for Picky {
    const NAME: &'static str = "picky";
    fn value_grad(&self, y: &[f32], t: &[f32], grad: &mut [f32]) -> Result<f32, LossError> {
        if t[0] > 100.0 {
            return Err(LossError::Empty { loss: Self::NAME });
        }
        Mse.value_grad(y, t, grad)
    }
    fn value(&self, y: &[f32], t: &[f32]) -> Result<f32, LossError> {
        Mse.value(y, t)
    }
}

/// 600 regression samples whose 300th target is `big`.
fn regression(big: f32) -> Dataset<f32> {
    let x = data(600, 20, 0).features().to_owned();
    let t = Array2::from_shape_fn((600, 1), |(i, _)| if i == 300 { big } else { 0.5 });
    Dataset::regression(x, t).unwrap()
}

/// Whether exactly one rank has `mine` set, and which.
fn the_one(world: &impl Communicator, mine: bool) -> Option<usize> {
    let mut all = vec![0u8; world.size() as usize];
    world.all_gather_into(&u8::from(mine), &mut all[..]);
    match all.iter().filter(|&&f| f != 0).count() {
        1 => all.iter().position(|&f| f != 0),
        _ => None,
    }
}

/// A failing rank, ranks with different networks, data or class names, a file missing on one
/// rank, a step that diverges and a chunk that fails on one rank: an error on every rank,
/// naming the rank and what differs.
fn faults_are_errors_on_every_rank(world: &impl Communicator, dir: &Path) {
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

    let label = Csv::new(Target::Label { classes: 5 });
    let pattern = format!("{}/some-{{rank}}.csv", dir.display());
    let (who, why) =
        distributed(Shard::<f32>::load_csv_per_rank(world, &label, &pattern).unwrap_err());
    assert_eq!(who, 1);
    assert!(why.contains("some-1.csv"), "{why}");
    let (who, why) =
        distributed(Shard::<f32>::load_csv_per_rank(world, &label, "train.csv").unwrap_err());
    assert_eq!(who, 0);
    assert!(why.contains("has no `{rank}`"), "{why}");

    let train = Shard::whole(data(600, 20, 0));
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

    // A rank that would reduce another way, or stop at another time: refused at start-up.
    let reduction = if rank == 1 {
        Reduction::Sum
    } else {
        Reduction::Ordered
    };
    let err = trainer(64).fit_mpi(world, reduction, &mut Net::zeros(), &train, None);
    let (who, why) = distributed(err.unwrap_err());
    assert_eq!(who, 1);
    assert!(
        why.contains("early stopping, divergence factor and reduction"),
        "{why}"
    );
    let factor = if rank == 1 { 3.0 } else { 4.0 };
    let err = trainer(64).divergence_factor(factor).fit_mpi(
        world,
        Reduction::Ordered,
        &mut Net::zeros(),
        &train,
        None,
    );
    assert_eq!(distributed(err.unwrap_err()).0, 1);

    let wide = Shard::whole(data(600, 21, 0));
    let mine = if rank == 1 { &wide } else { &train };
    let err = trainer(64).fit_mpi(world, Reduction::Ordered, &mut Net::zeros(), mine, None);
    let (who, why) = distributed(err.unwrap_err());
    assert_eq!(
        (who, why.as_str()),
        (1, "training features: expected 20 columns, found 21")
    );

    mlp::mlp! { struct Pair { scalar: f32, input: 1, layers: [2 identity] } }
    let named = Shard::<f32>::load_csv_per_rank(
        world,
        &Csv::classes("y"),
        &format!("{}/names-{{rank}}.csv", dir.display()),
    )
    .unwrap();
    let err = trainer(2).fit_mpi(world, Reduction::Ordered, &mut Pair::zeros(), &named, None);
    let (who, why) = distributed(err.unwrap_err());
    assert_eq!(who, 1);
    assert!(why.contains("class names"), "{why}");

    // A target of 1e30 makes one chunk's loss overflow on the rank that computes it: every
    // rank stops at the same batch with the error one process gives.
    let sgd = || {
        Trainer::new(Mse, Sgd::new(0.01))
            .batch_size(256)
            .seed(3)
            .init(Init::XAVIER_UNIFORM)
            .progress(false)
    };
    let huge = regression(1e30);
    let want = sgd().fit(&mut Fit::zeros(), &huge, None).unwrap_err();
    assert!(matches!(want, TrainError::Diverged { .. }), "{want}");
    for shard in [
        Shard::whole(huge.clone()),
        Shard::blocks(world, part_of(&huge, world)),
    ] {
        let got = sgd()
            .fit_mpi(world, Reduction::Ordered, &mut Fit::zeros(), &shard, None)
            .unwrap_err();
        assert_eq!(format!("{got:?}"), format!("{want:?}"));
    }

    // A chunk that fails on one rank: that rank returns the loss's error, the others name it.
    let picky = || {
        Trainer::new(Picky, Sgd::new(0.01))
            .batch_size(256)
            .seed(3)
            .progress(false)
    };
    let err = picky()
        .fit_mpi(
            world,
            Reduction::Ordered,
            &mut Fit::zeros(),
            &Shard::whole(regression(1e3)),
            None,
        )
        .unwrap_err();
    let failed = matches!(err, TrainError::Loss(_));
    let owner = the_one(world, failed).expect("exactly one rank computes the failing chunk");
    if !failed {
        let (who, why) = distributed(err);
        assert_eq!(who, owner);
        assert!(why.contains("failed on chunk"), "{why}");
    }
}

/// This rank's block of `data` in the per-rank layout of [`block_start`].
fn part_of(data: &Dataset<f32>, world: &impl Communicator) -> Dataset<f32> {
    let (q, n) = (world.rank() as usize, world.size() as usize);
    let rows = block_start(q, n)..block_start(q + 1, n);
    Dataset::regression(
        data.features()
            .slice(mlp::ndarray::s![rows.clone(), ..])
            .to_owned(),
        data.targets().slice(mlp::ndarray::s![rows, ..]).to_owned(),
    )
    .unwrap()
}
