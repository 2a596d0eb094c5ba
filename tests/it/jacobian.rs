//! `jacobian`, `jacobian_into` and `jvp` for every activation, with and without bias, both
//! orders of the chain: against central differences, against an independent f64 product of
//! the layer Jacobians, and against `backward` (`vᵀ J = ∂L/∂x` for `∂L/∂y = v`).

use crate::support::{
    assert_close, random_vector, randomize, Reference, TestRng, F32_TOLERANCE, F64_TOLERANCE,
    FD_TOLERANCE,
};
use mlp::{mlp, Jacobian, Matrix, Network, Scalar, Vector};

/// The five-point central difference `f'(0) ≈ (f(−2h) − 8 f(−h) + 8 f(h) − f(2h)) / 12h`
/// of a vector function, whose truncation error is `O(h⁴)`, with `h = 1e-4`.
fn central_difference(f: impl Fn(f64) -> Vec<f64>) -> Vec<f64> {
    let h = 1e-4;
    let (m2, m1, p1, p2) = (f(-2.0 * h), f(-h), f(h), f(2.0 * h));
    (0..m2.len())
        .map(|i| (m2[i] - 8.0 * m1[i] + 8.0 * p1[i] - p2[i]) / (12.0 * h))
        .collect()
}

/// `J = J_L ⋯ J_1` with `J_l = diag(σ_l'(z_l)) W_l`, multiplied out naively in f64 from the
/// input side, with σ' from the textbook formula in `z`.
fn reference_jacobian(reference: &Reference, x: &[f64]) -> Vec<Vec<f64>> {
    let (zs, _) = reference.forward(x);
    let mut j: Vec<Vec<f64>> = (0..x.len())
        .map(|r| (0..x.len()).map(|c| f64::from(u8::from(r == c))).collect())
        .collect();
    for (layer, z) in reference.layers.iter().zip(&zs) {
        j = layer
            .w
            .iter()
            .zip(z)
            .map(|(row, &zi)| {
                let s = crate::support::sigma_prime(&layer.activation, zi);
                (0..x.len())
                    .map(|c| s * row.iter().zip(&j).map(|(w, jr)| w * jr[c]).sum::<f64>())
                    .collect()
            })
            .collect();
    }
    j
}

/// The columns of `J` by central differences of `forward`, as rows of `Jᵀ`, transposed back.
fn fd_jacobian<N: Network<Scalar = f64>>(net: &N, x: &N::Input) -> Vec<Vec<f64>> {
    let columns: Vec<Vec<f64>> = (0..N::INPUT)
        .map(|c| {
            central_difference(|step| {
                let mut xs = *x;
                xs.as_mut_slice()[c] += step;
                net.forward(&xs).as_slice().to_vec()
            })
        })
        .collect();
    (0..N::OUTPUT)
        .map(|r| columns.iter().map(|col| col[r]).collect())
        .collect()
}

/// Checks one f64 network at a few random points, against the reference too.
fn check<N: Jacobian<Scalar = f64>>(seed: u64) {
    check_with(seed, |net: &N, x: &N::Input, got: &[f64]| {
        let want = reference_jacobian(&Reference::of(net), x.as_slice());
        let want: Vec<f64> = want.into_iter().flatten().collect();
        assert_close("J vs Π J_l", got, &want, F64_TOLERANCE, 1e-12);
    });
}

/// Checks one f64 network at a few random points: `J` against central differences, `vᵀJ`
/// against `backward`, `J u` against `jvp` and `jvp` against central differences, and
/// `jacobian_into` against `jacobian`; `extra` adds checks of `J` at `x`.
fn check_with<N: Jacobian<Scalar = f64>>(seed: u64, extra: impl Fn(&N, &N::Input, &[f64])) {
    let mut rng = TestRng::new(seed);
    for _ in 0..3 {
        let mut net = N::zeros();
        randomize(&mut net, &mut rng, 0.8);
        let x: N::Input = random_vector(&mut rng, 1.5);
        let jac = net.jacobian(&x);
        let got = jac.entries();
        assert_eq!(got.len(), N::OUTPUT * N::INPUT);
        extra(&net, &x, got);

        // Against central differences of forward.
        let fd: Vec<f64> = fd_jacobian(&net, &x).into_iter().flatten().collect();
        assert_close("J vs finite differences", got, &fd, FD_TOLERANCE, 1e-4);

        // vᵀ J against backward with ∂L/∂y = v.
        let v: N::Output = random_vector(&mut rng, 1.0);
        let mut cache = N::Cache::default();
        let _ = net.forward_cached(&x, &mut cache);
        let dl_dx = net.backward(&cache, &v, &mut N::Grads::default());
        let vt_j: Vec<f64> = (0..N::INPUT)
            .map(|c| {
                (0..N::OUTPUT)
                    .map(|r| v.as_slice()[r] * got[r * N::INPUT + c])
                    .sum()
            })
            .collect();
        assert_close("vᵀJ vs backward", &vt_j, dl_dx.as_slice(), 1e-12, 1e-12);

        // J u against jvp.
        let u: N::Input = random_vector(&mut rng, 1.0);
        let j_u: Vec<f64> = (0..N::OUTPUT)
            .map(|r| {
                (0..N::INPUT)
                    .map(|c| got[r * N::INPUT + c] * u.as_slice()[c])
                    .sum()
            })
            .collect();
        let jvp = net.jvp(&x, &u);
        assert_close("jvp vs J u", jvp.as_slice(), &j_u, 1e-12, 1e-12);
        let fd_jvp = central_difference(|step| {
            let mut xs = x;
            for (xi, ui) in xs.as_mut_slice().iter_mut().zip(u.as_slice()) {
                *xi += step * ui;
            }
            net.forward(&xs).as_slice().to_vec()
        });
        assert_close(
            "jvp vs finite differences",
            jvp.as_slice(),
            &fd_jvp,
            FD_TOLERANCE,
            1e-4,
        );

        // jacobian_into overwrites every entry of whatever it is given.
        let mut into = N::Matrix::zeros();
        into.entries_mut().fill(f64::NAN);
        net.jacobian_into(&x, &mut into);
        assert_eq!(into, jac, "jacobian_into differs from jacobian");
    }
}

macro_rules! activation_tests {
    ($($test:ident: $act:ident $(($param:literal))?;)*) => {$(
        mod $test {
            use super::*;

            // 3 inputs, 2 outputs: the chain runs from the output side.
            mlp! {
                struct Narrowing { scalar: f64, input: 3, layers: [5 $act $(($param))?, 4 $act $(($param))?, 2 identity] }
            }
            // 2 inputs, 4 outputs: the chain runs from the input side.
            mlp! {
                struct Widening { scalar: f64, input: 2, layers: [3 $act $(($param))?, 5 $act $(($param))?, 4 $act $(($param))?], bias: false }
            }

            #[test]
            fn with_bias_from_the_output_side() {
                check::<Narrowing>(11);
            }

            #[test]
            fn without_bias_from_the_input_side() {
                check::<Widening>(12);
            }
        }
    )*};
}

each_activation!(activation_tests);

mlp! {
    /// Six layers, every activation, in f64.
    struct Mixed {
        scalar: f64,
        input: 4,
        layers: [6 tanh, 5 sigmoid, 7 relu, 5 leaky_relu(0.2), 6 softplus, 3 gelu],
    }
}

mlp! {
    struct Single { scalar: f64, input: 3, layers: [2 sigmoid] }
}

mlp! {
    struct SingleNoBias { scalar: f64, input: 2, layers: [4 softplus], bias: false }
}

#[test]
fn six_mixed_layers() {
    check::<Mixed>(13);
}

#[test]
fn one_layer() {
    check::<Single>(14);
    check::<SingleNoBias>(15);
}

mlp! {
    activation softsign(z) = z / (1.0 + z.abs());
    activation swish(z) = z * sigmoid(z);
    activation leaky(z; a = 0.1) = max(z, a * z);

    /// Activations defined in the call; the chain runs from the output side.
    struct Custom { scalar: f64, input: 4, layers: [5 softsign, 4 swish, 2 leaky(0.2)] }
}

mlp! {
    activation cube(z) = z.powi(3) / 3.0 + z;

    /// The chain runs from the input side.
    struct CustomWide { scalar: f64, input: 2, layers: [4 cube, 5 cube], bias: false }
}

#[test]
fn activations_defined_in_the_call() {
    check_with::<Custom>(20, |_, _, _| {});
    check_with::<CustomWide>(21, |_, _, _| {});
}

mlp! {
    struct Small32 { input: 3, layers: [6 tanh, 5 gelu, 2 sigmoid] }
}

#[test]
fn f32_agrees_with_the_f64_reference() {
    let mut rng = TestRng::new(16);
    let mut net = Small32::zeros();
    randomize(&mut net, &mut rng, 0.8);
    let x: [f32; 3] = random_vector(&mut rng, 1.5);
    let x64 = x.map(f32::to_f64);
    let want: Vec<f64> = reference_jacobian(&Reference::of(&net), &x64)
        .into_iter()
        .flatten()
        .collect();
    let got: Vec<f64> = net
        .jacobian(&x)
        .entries()
        .iter()
        .map(|v| v.to_f64())
        .collect();
    assert_close("f32 J vs f64 Π J_l", &got, &want, F32_TOLERANCE, 1e-6);
}

mlp! {
    /// 64 inputs, 1 output: `N_0 × N_1` intermediates would be 64 KiB, those from the output
    /// side 512 bytes.
    struct Wide { scalar: f64, input: 64, layers: [128 tanh, 128 tanh, 1 identity] }
}

#[test]
fn the_gradient_of_a_scalar_output_is_its_jacobian() {
    let mut rng = TestRng::new(17);
    let mut net = Wide::zeros();
    randomize(&mut net, &mut rng, 0.1);
    let x: [f64; 64] = random_vector(&mut rng, 1.0);
    let jac = net.jacobian(&x);
    let mut cache = WideCache::default();
    let _ = net.forward_cached(&x, &mut cache);
    let dx = net.backward(&cache, &[1.0], &mut WideGrads::default());
    assert_close("J vs ∂y/∂x", &jac[0], &dx, 1e-12, 1e-12);
}

#[test]
fn the_trait_and_the_inherent_methods_agree() {
    fn through_the_trait<N: Jacobian>(
        net: &N,
        x: &N::Input,
        v: &N::Input,
    ) -> (N::Matrix, N::Output) {
        (net.jacobian(x), net.jvp(x, v))
    }
    let mut rng = TestRng::new(18);
    let mut net = Mixed::zeros();
    randomize(&mut net, &mut rng, 0.8);
    let (x, v): ([f64; 4], [f64; 4]) = (random_vector(&mut rng, 1.0), random_vector(&mut rng, 1.0));
    let (jac, jvp) = through_the_trait(&net, &x, &v);
    assert_eq!(jac, Mixed::jacobian(&net, &x));
    assert_eq!(jvp, Mixed::jvp(&net, &x, &v));
    assert_eq!(<[[f64; 4]; 3] as Matrix<f64>>::ROWS, 3);
    assert_eq!(<[[f64; 4]; 3] as Matrix<f64>>::COLS, 4);
}

mlp! {
    /// 96-96-96-96: every intermediate of the chain is a 96×96 matrix, 72 KiB.
    struct Square { scalar: f64, input: 96, layers: [96 tanh, 96 tanh, 96 identity] }
}

#[test]
fn large_jacobians_stay_off_the_stack() {
    // A 64 KiB stack holds none of the 72 KiB matrices: the intermediates must be boxed, and
    // `jacobian_into` writes into the caller's box.
    let worker = std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(|| {
            let mut rng = TestRng::new(19);
            let mut net = Square::zeros();
            randomize(&mut net, &mut rng, 0.2);
            let x: Box<[f64; 96]> = Box::new(random_vector(&mut rng, 1.0));
            let mut jac: Box<[[f64; 96]; 96]> =
                vec![[0.0; 96]; 96].into_boxed_slice().try_into().unwrap();
            net.jacobian_into(&x, &mut jac);
            let mut cache = Box::<SquareCache>::default();
            let _ = net.forward_cached(&x, &mut cache);
            let mut e0 = Box::new([0.0; 96]);
            e0[0] = 1.0;
            let row0 = net.backward(&cache, &e0, &mut SquareGrads::default());
            (jac[0], row0)
        })
        .unwrap();
    let (row0, backward) = worker.join().expect("the worker overflowed its stack");
    assert_close("J[0] vs ∂y_0/∂x", &row0, &backward, 1e-12, 1e-12);
}
