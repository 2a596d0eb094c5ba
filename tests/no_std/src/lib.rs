//! Firmware-style use of `mlp`: a `#![no_std]` crate, without `alloc`, that declares
//! networks with `mlp!`, runs `forward`, trains with `forward_cached` and `backward`, takes
//! Jacobians, and carries networks (custom activations included) exported as source by `mlp::export`.
//!
//! Built alone (`cargo build -p mlp-no-std-test`), it links `mlp` without default features,
//! so the runtime has neither `std` nor `alloc`: weights are stored inline and the math comes
//! from `libm`. `tests/firmware.rs` also builds it as a `staticlib` with `-C panic=abort` and
//! `--cfg mlp_staticlib`, which links no global allocator: the build fails if anything pulls
//! in `alloc`.
#![no_std]
#![warn(missing_docs)]

mlp::mlp! {
    /// A small f32 network, as a sensor might run.
    pub struct Tiny { input: 2, layers: [4 tanh, 3 relu, 1 sigmoid] }
}

mlp::mlp! {
    /// Every other activation, without bias, in f64.
    pub struct Mixed {
        scalar: f64,
        input: 3,
        layers: [5 gelu, 4 softplus, 4 leaky_relu(0.1), 2 identity],
        bias: false,
    }
}

mlp::mlp! {
    activation softsign(z) = z / (1.0 + z.abs());
    activation leaky(z; a = 0.1) = max(z, a * z);

    /// Activations defined in the call, which `exported::custom_f32` names through
    /// `SourceOptions::activation`.
    pub struct Sensor { input: 3, layers: [6 softsign, 4 leaky(0.2), 2 identity] }
}

/// Networks written out by `mlp::export`, from the PyTorch fixtures in
/// `tests/fixtures/pytorch` and from seeded weights; `tests/firmware.rs` regenerates them and
/// checks them unchanged.
pub mod exported {
    #[rustfmt::skip]
    pub mod custom_f32;
    #[rustfmt::skip]
    pub mod mixed_f32;
    #[rustfmt::skip]
    pub mod no_bias_f64;
    #[rustfmt::skip]
    pub mod tanh_sigmoid_f64;
}

/// One SGD step on `L = ½ (y − t)²` for one sample, in place and without allocating.
pub fn train_step(net: &mut Tiny, x: &[f32; 2], t: f32, rate: f32) -> f32 {
    let mut cache = TinyCache::default();
    let y = net.forward_cached(x, &mut cache)[0];
    let mut grads = TinyGrads::default();
    let _ = net.backward(&cache, &[y - t], &mut grads);
    net.visit_with_grads(&grads, |_, p, g| {
        for (p, g) in p.iter_mut().zip(g) {
            *p -= rate * g;
        }
    });
    0.5 * (y - t) * (y - t)
}

/// `y = Tiny(x)` with zero weights, through the C ABI, so that a `staticlib` keeps it.
#[no_mangle]
pub extern "C" fn mlp_tiny_forward(x: &[f32; 2]) -> f32 {
    Tiny::zeros().forward(x)[0]
}

/// One training step from zero weights, through the C ABI.
#[no_mangle]
pub extern "C" fn mlp_tiny_train_step(x: &[f32; 2], t: f32) -> f32 {
    train_step(&mut Tiny::zeros(), x, t, 0.1)
}

/// `∂y/∂x_0` and `J v` of `Mixed` with zero weights, through the C ABI.
#[no_mangle]
pub extern "C" fn mlp_mixed_jacobian(x: &[f64; 3], v: &[f64; 3]) -> f64 {
    let net = Mixed::zeros();
    net.jacobian(x)[0][0] + net.jvp(x, v)[1]
}

/// The exported networks' `forward`, through the C ABI.
#[no_mangle]
pub extern "C" fn mlp_exported_forward(x: &[f32; 4], y: &[f64; 3]) -> f64 {
    let a = exported::mixed_f32::forward(x)[0];
    let b = exported::no_bias_f64::forward(&[y[0], y[1]])[0];
    let c = exported::tanh_sigmoid_f64::forward(y)[1];
    let d = exported::custom_f32::forward(&[x[0], x[1], x[2]])[0];
    f64::from(a + d) + b + c
}

mlp::mlp! {
    /// A physics-informed network: its Laplacian and its reverse pass need no allocator.
    pub struct Pinn { input: 2, layers: [8 tanh, 1 identity], operators: [laplacian] }
}

/// `Δu` at `x`, and one reverse pass of it into zeroed gradients.
#[no_mangle]
pub extern "C" fn mlp_laplacian(x: &[f32; 2]) -> f32 {
    let net = Pinn::zeros();
    let mut cache = PinnJetCache::default();
    let jet = net.jet(x, &mlp::operators::Laplacian, &mut cache);
    let mut seed = mlp::operators::Jet::zeros();
    seed.second[0][0] = 1.0;
    let mut grads = PinnGrads::default();
    net.jet_backward(&mlp::operators::Laplacian, &cache, &seed, &mut grads);
    jet.second[0][0] + grads.b1[0]
}

/// Firmware provides its own panic handler; only the `staticlib` check needs one here.
#[cfg(mlp_staticlib)]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
