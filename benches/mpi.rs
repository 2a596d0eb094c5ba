//! The W3 network (784-256-128-10) trained by `Trainer::fit_mpi` on the ranks of `mpirun`:
//! one epoch of 10 240 samples in global batches of 256 and 1024, from the whole set on every
//! rank and from a block of it per rank, and the cost of one step's exchange of gradients
//! alone: the ordered reduction's all-to-all and all-gather of gradient segments and, beside
//! it, one `MPI_Allreduce` of a gradient.
//!
//! divan picks its iteration counts per process, and every rank must run the same steps, so
//! this benchmark times a fixed number of runs itself and rank 0 prints the fastest and the
//! median. Build and run (with one thread per rank, pinned):
//!
//! ```text
//! cargo bench -p mlp-benches --features mpi --bench mpi --no-run
//! mpirun --oversubscribe -n 1 --bind-to core target/release/deps/mpi-HASH
//! mpirun --oversubscribe -n 2 --bind-to core target/release/deps/mpi-HASH
//! ```

use mlp::data::Dataset;
use mlp::init::Init;
use mlp::train::distributed::{mpi, Reduction, Shard};
use mlp_benches::{mnist_data, w3_trainer};
use mpi::collective::SystemOperation;
use mpi::datatype::{Partition, PartitionMut};
use mpi::topology::Communicator;
use mpi::traits::CommunicatorCollectives;
use std::time::Instant;

mlp::mlp! {
    /// The W3/W4 network.
    pub struct Mnist { scalar: f32, input: 784, layers: [256 tanh, 128 tanh, 10 identity] }
}

/// The samples of one epoch.
const SAMPLES: usize = 10_240;
/// The timed runs of each case.
const RUNS: usize = 5;

fn main() {
    let universe = mpi::initialize().expect("MPI initialises once");
    let world = universe.world();
    let data = mnist_data(SAMPLES);
    let report = |what: &str, steps: usize, mut times: Vec<f64>| {
        times.sort_by(f64::total_cmp);
        if world.rank() == 0 {
            println!(
                "{} ranks, {what}: per step fastest {:.3} ms, median {:.3} ms",
                world.size(),
                times[0] * 1e3 / steps as f64,
                times[times.len() / 2] * 1e3 / steps as f64
            );
        }
    };
    let whole = Shard::whole(data.clone());
    let (rank, size) = (world.rank() as usize, world.size() as usize);
    let rows = SAMPLES * rank / size..SAMPLES * (rank + 1) / size;
    let block = Dataset::classification(
        data.features()
            .slice(mlp::ndarray::s![rows.clone(), ..])
            .to_owned(),
        data.labels().unwrap()[rows].to_vec(),
        10,
    )
    .unwrap();
    let blocks = Shard::blocks(&world, block);
    for (what, shard) in [("whole set", &whole), ("a block per rank", &blocks)] {
        for batch in [256, 1024] {
            let mut net = Mnist::zeros();
            Init::XAVIER_UNIFORM.init(&mut net, 1);
            let mut trainer = w3_trainer(batch);
            let mut times = Vec::new();
            for run in 0..=RUNS {
                world.barrier();
                let start = Instant::now();
                trainer
                    .fit_mpi(&world, Reduction::Ordered, &mut net, shard, None)
                    .unwrap();
                // The first run warms the buffers up.
                if run > 0 {
                    times.push(start.elapsed().as_secs_f64());
                }
            }
            report(
                &format!("W3 at batch {batch}, {what}"),
                SAMPLES / batch,
                times,
            );
        }
    }

    // The exchange alone, as the ordered reduction does it when each rank owns one node:
    // an all-to-all of gradient segments, then an all-gather of the summed segments; beside
    // it, one all-reduce of the gradient.
    let params = <Mnist as mlp::Parameters>::num_params();
    let buf = vec![0.5f32; params];
    let segment = |d: usize| params * d / size..params * (d + 1) / size;
    let counts: Vec<i32> = (0..size).map(|d| segment(d).len() as i32).collect();
    let displs: Vec<i32> = (0..size).map(|d| segment(d).start as i32).collect();
    let mine = segment(rank).len();
    let from = vec![mine as i32; size];
    let from_displs: Vec<i32> = (0..size).map(|q| (q * mine) as i32).collect();
    let mut received = vec![0.0f32; mine * size];
    let mut all = vec![0.0f32; params];
    let mut sum = vec![0.0f32; params];
    let mut ordered = Vec::new();
    let mut reduces = Vec::new();
    for run in 0..=20 {
        world.barrier();
        let start = Instant::now();
        world.all_to_all_varcount_into(
            &Partition::new(&buf[..], &counts[..], &displs[..]),
            &mut PartitionMut::new(&mut received[..], &from[..], &from_displs[..]),
        );
        world.all_gather_varcount_into(
            &received[..mine],
            &mut PartitionMut::new(&mut all[..], &counts[..], &displs[..]),
        );
        let took = start.elapsed().as_secs_f64();
        world.barrier();
        let start = Instant::now();
        world.all_reduce_into(&buf[..], &mut sum[..], SystemOperation::sum());
        if run > 0 {
            ordered.push(took);
            reduces.push(start.elapsed().as_secs_f64());
        }
    }
    report(
        &format!("ordered exchange of one gradient of {} bytes", params * 4),
        1,
        ordered,
    );
    report(
        &format!("all-reduce of one gradient of {} bytes", params * 4),
        1,
        reduces,
    );
}
