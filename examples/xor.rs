//! XOR, trained with a plain SGD loop written out by hand: forward_cached, backward, update.
//!
//! Run with `cargo run --release --example xor`.

use mlp::init::Init;
use mlp::{mlp, Parameters};

mlp! {
    /// A 2-8-8-1 network that learns XOR.
    pub struct Xor {
        scalar: f32,
        input: 2,
        layers: [8 tanh, 8 tanh, 1 identity],
        bias: true,
    }
}

/// The truth table: inputs and targets.
const DATA: [([f32; 2], [f32; 1]); 4] = [
    ([0.0, 0.0], [0.0]),
    ([0.0, 1.0], [1.0]),
    ([1.0, 0.0], [1.0]),
    ([1.0, 1.0], [0.0]),
];

fn main() {
    let mut net = Xor::zeros();
    Init::XAVIER_UNIFORM.init(&mut net, 7);
    let mut cache = XorCache::default();
    let mut grads = XorGrads::default();
    let (learning_rate, batch) = (0.1, DATA.len() as f32);

    let mut loss = f32::INFINITY;
    let mut epoch = 0;
    while loss >= 1e-3 && epoch < 20_000 {
        // L = (1/B) Σ ½ (y − t)², so ∂L/∂y = (y − t) / B for each sample.
        grads.fill(0.0);
        loss = 0.0;
        for (x, t) in &DATA {
            let y = net.forward_cached(x, &mut cache);
            let error = y[0] - t[0];
            loss += 0.5 * error * error / batch;
            net.backward(&cache, &[error / batch], &mut grads);
        }
        net.visit_with_grads(&grads, |_, w, g| {
            w.iter_mut()
                .zip(g)
                .for_each(|(w, g)| *w -= learning_rate * g)
        });
        if epoch % 500 == 0 {
            println!("epoch {epoch:5}  loss {loss:.6}");
        }
        epoch += 1;
    }
    println!("epoch {epoch:5}  loss {loss:.6}\n");

    println!(" x1  x2 | target | output");
    println!("--------+--------+--------");
    for (x, t) in &DATA {
        println!(
            " {:2}  {:2} | {:6} | {:6.3}",
            x[0],
            x[1],
            t[0],
            net.forward(x)[0]
        );
    }
    if loss >= 1e-3 {
        eprintln!("\nXOR did not reach a loss below 1e-3");
        std::process::exit(1);
    }
}
