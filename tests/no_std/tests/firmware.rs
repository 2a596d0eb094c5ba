//! The firmware path end to end: networks exported as source compute what the trained
//! networks compute, bit for bit; the committed sources are what the exporter writes today;
//! and the `no_std` crate links without a global allocator.
//!
//! The exported modules in `src/exported/` are regenerated from the PyTorch fixtures by
//! `MLP_EXPORT=overwrite cargo test -p mlp-no-std-test`.

#[path = "../../it/support.rs"]
mod support;

use mlp::export::{to_source, write_source, ExportError, SourceOptions};
use mlp::{mlp, Network, Parameters, Scalar};
use mlp_no_std_test::exported::{custom_f32, mixed_f32, no_bias_f64, tanh_sigmoid_f64};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{random_vector, randomize, TestRng};

mlp! {
    /// `tests/fixtures/pytorch/mixed_f32.safetensors`.
    struct Mixed32 {
        input: 4,
        layers: [6 relu, 5 gelu, 5 identity, 4 softplus, 3 leaky_relu(0.1)],
    }
}
mlp! {
    /// `tests/fixtures/pytorch/no_bias_f64.safetensors`.
    struct NoBias64 { scalar: f64, input: 2, layers: [3 tanh, 2 sigmoid], bias: false }
}
mlp! {
    /// `tests/fixtures/pytorch/tanh_sigmoid_f64.safetensors`.
    struct TanhSigmoid64 { scalar: f64, input: 3, layers: [5 tanh, 4 sigmoid, 2 identity] }
}

mlp! {
    activation softsign(z) = z / (1.0 + z.abs());
    activation leaky(z; a = 0.1) = max(z, a * z);

    /// `Sensor` of the library, with seeded weights.
    struct Sensor { input: 3, layers: [6 softsign, 4 leaky(0.2), 2 identity] }
}

/// The crate's directory.
fn here() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A network with the weights of the PyTorch fixture `stem`.
fn trained<N: Network>(stem: &str) -> N {
    let mut net = N::zeros();
    let path = here().join(format!("../fixtures/pytorch/{stem}.safetensors"));
    mlp::io::load(&mut net, &path).unwrap_or_else(|e| panic!("{e}"));
    net
}

/// The options the modules exported from PyTorch fixtures are written with.
fn fixture_options(stem: &str) -> SourceOptions {
    SourceOptions::new().doc(&format!(
        "The PyTorch fixture `tests/fixtures/pytorch/{stem}.safetensors`."
    ))
}

/// Checks that `src/exported/{stem}.rs` is what the exporter writes for `net` now, or
/// rewrites it when `MLP_EXPORT=overwrite`.
fn check_committed<N: Network>(net: &N, stem: &str, options: &SourceOptions) {
    let path = here().join(format!("src/exported/{stem}.rs"));
    let fresh = to_source(net, options).unwrap();
    if std::env::var("MLP_EXPORT").as_deref() == Ok("overwrite") {
        write_source(net, &path, options).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(
        committed == fresh,
        "{} is stale: rerun with MLP_EXPORT=overwrite and commit it",
        path.display()
    );
}

/// The bits of every parameter, in `PARAM_INFO` order.
fn bits<T: Scalar>(tensors: &[&[T]]) -> Vec<u64> {
    tensors
        .iter()
        .flat_map(|t| t.iter().map(|v| v.to_f64().to_bits()))
        .collect()
}

/// The bits of every parameter of `net`.
fn net_bits<N: Parameters>(net: &N) -> Vec<u64> {
    let mut v = Vec::new();
    net.visit(|_, p| v.extend(p.iter().map(|x| x.to_f64().to_bits())));
    v
}

/// Compares `forward` of the network and of its export, bit for bit, on many inputs.
fn same_outputs<N: Network>(net: &N, exported: impl Fn(&N::Input) -> N::Output, seed: u64) {
    use mlp::Vector;
    let mut rng = TestRng::new(seed);
    for _ in 0..2000 {
        let x: N::Input = random_vector(&mut rng, 4.0);
        let (ours, theirs) = (net.forward(&x), exported(&x));
        let bits = |y: &N::Output| -> Vec<u64> {
            y.as_slice().iter().map(|v| v.to_f64().to_bits()).collect()
        };
        assert_eq!(
            bits(&ours),
            bits(&theirs),
            "at {x:?}: {ours:?} vs {theirs:?}"
        );
    }
}

#[test]
fn exported_mixed_f32_is_bit_identical() {
    use mixed_f32::*;
    let net: Mixed32 = trained("mixed_f32");
    check_committed(&net, "mixed_f32", &fixture_options("mixed_f32"));
    let consts = [
        W1.as_flattened(),
        &B1,
        W2.as_flattened(),
        &B2,
        W3.as_flattened(),
        &B3,
        W4.as_flattened(),
        &B4,
        W5.as_flattened(),
        &B5,
    ];
    assert_eq!(bits(&consts), net_bits(&net));
    assert_eq!((INPUT, OUTPUT), (Mixed32::INPUT, Mixed32::OUTPUT));
    same_outputs(&net, forward, 1);
}

#[test]
fn exported_no_bias_f64_is_bit_identical() {
    use no_bias_f64::*;
    let net: NoBias64 = trained("no_bias_f64");
    check_committed(&net, "no_bias_f64", &fixture_options("no_bias_f64"));
    assert_eq!(
        bits(&[W1.as_flattened(), W2.as_flattened()]),
        net_bits(&net)
    );
    same_outputs(&net, forward, 2);
}

#[test]
fn exported_tanh_sigmoid_f64_is_bit_identical() {
    use tanh_sigmoid_f64::*;
    let net: TanhSigmoid64 = trained("tanh_sigmoid_f64");
    check_committed(
        &net,
        "tanh_sigmoid_f64",
        &fixture_options("tanh_sigmoid_f64"),
    );
    let consts = [
        W1.as_flattened(),
        &B1,
        W2.as_flattened(),
        &B2,
        W3.as_flattened(),
        &B3,
    ];
    assert_eq!(bits(&consts), net_bits(&net));
    same_outputs(&net, forward, 3);
}

#[test]
fn exported_custom_activations_are_bit_identical() {
    let mut net = Sensor::zeros();
    randomize(&mut net, &mut TestRng::new(4), 1.0);
    let options = SourceOptions::new()
        .doc(
            "`Sensor`, with weights drawn by `TestRng::new(4)`; its activations are the library's.",
        )
        .activation("softsign", "crate::SensorSoftsign")
        .activation("leaky(0.2)", "crate::SensorLeaky { a: 0.2 }");
    check_committed(&net, "custom_f32", &options);
    let consts = [
        custom_f32::W1.as_flattened(),
        &custom_f32::B1,
        custom_f32::W2.as_flattened(),
        &custom_f32::B2,
        custom_f32::W3.as_flattened(),
        &custom_f32::B3,
    ];
    assert_eq!(bits(&consts), net_bits(&net));
    same_outputs(&net, custom_f32::forward, 5);

    // Without the mapping, the exporter cannot name them.
    let err = to_source(&net, &SourceOptions::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer 1 has activation `softsign`, which is not built in; \
         map it to a Rust expression with `SourceOptions::activation`"
    );
}

#[test]
fn export_errors_name_the_problem() {
    let mut net: NoBias64 = trained("no_bias_f64");
    let err = to_source(&net, &SourceOptions::new().runtime("mlp::")).unwrap_err();
    assert!(matches!(err, ExportError::RuntimePath { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "runtime path `mlp::` is not a Rust path such as `mlp` or `::my_crate::mlp`"
    );

    net.w2[1][0] = f64::NAN;
    let err = to_source(&net, &SourceOptions::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "w2[1][0] is NaN, but every exported weight must be finite"
    );
    net.w2[1][0] = 0.0;
    net.w1[2][1] = f64::NEG_INFINITY;
    let err = to_source(&net, &SourceOptions::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "w1[2][1] is -inf, but every exported weight must be finite"
    );
}

#[test]
fn activations_can_be_mapped_and_the_runtime_renamed() {
    let net: NoBias64 = trained("no_bias_f64");
    let options = SourceOptions::new()
        .runtime("::mlp_runtime")
        .activation("tanh", "crate::MyTanh");
    let source = to_source(&net, &options).unwrap();
    assert!(
        source.contains("let h1 = ::mlp_runtime::kernels::dense_unbiased(&W1, x, &crate::MyTanh);")
    );
    assert!(source.contains(
        "    ::mlp_runtime::kernels::dense_unbiased(&W2, &h1, &::mlp_runtime::activation::Sigmoid)\n}"
    ));
}

#[test]
fn write_source_is_atomic() {
    let dir = std::env::temp_dir().join(format!("mlp-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("net.rs");
    let net: NoBias64 = trained("no_bias_f64");
    write_source(&net, &path, &SourceOptions::new()).unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written, to_source(&net, &SourceOptions::new()).unwrap());

    // A failed export leaves the previous file as it was, and nothing else behind.
    let mut broken = net.clone();
    broken.w1[0][0] = f64::NAN;
    assert!(write_source(&broken, &path, &SourceOptions::new()).is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written);
    let missing = dir.join("no/such/dir/net.rs");
    let err = write_source(&net, &missing, &SourceOptions::new()).unwrap_err();
    assert!(
        matches!(&err, ExportError::Write { path, .. } if path == &missing),
        "{err:?}"
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Builds this crate alone as a `staticlib` with `-C panic=abort`, optionally with extra
/// features, in a target directory of its own; returns whether it built, and its stderr.
fn build_staticlib(features: &[&str]) -> (bool, String) {
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-std-staticlib");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(here())
        .args([
            "rustc",
            "--quiet",
            "--offline",
            "--lib",
            "--crate-type",
            "staticlib",
        ])
        .arg("--manifest-path")
        .arg(here().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target);
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    cmd.args(["--", "-C", "panic=abort", "--cfg", "mlp_staticlib"]);
    // The outer build's flags are for the host's test harness, not for this check.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd.output().expect("cargo runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn links_without_a_global_allocator() {
    let (ok, stderr) = build_staticlib(&[]);
    assert!(
        ok,
        "the no_std crate does not build as a staticlib:\n{stderr}"
    );
    let lib =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-std-staticlib/debug/libmlp_no_std_test.a");
    assert!(lib.is_file(), "{} was not built", lib.display());

    // The control: the same build with `alloc` linked fails for want of an allocator, so
    // the check above would catch `alloc` sneaking in.
    let (ok, stderr) = build_staticlib(&["alloc"]);
    assert!(
        !ok,
        "a staticlib that links alloc built without a global allocator"
    );
    assert!(
        stderr.contains("no global memory allocator found"),
        "the alloc build failed for another reason:\n{stderr}"
    );
}
