//! Hand-written networks implementing `Network` (the shapes of two PyTorch fixtures), scratch
//! directories, and exact comparison.

#![allow(dead_code)]

use mlp_runtime::activation::{ActivationSpec, Identity, Sigmoid, Tanh};
use mlp_runtime::kernels::{axpy, delta, dense_cached, dense_cached_unbiased, gemv_tr, ger};
use mlp_runtime::{LayerSpec, Network, ParamInfo, ParamKind, Parameters, Scalar};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Implements `Parameters` for a struct whose fields are boxed arrays, in the order given.
macro_rules! parameters {
    ($ty:ident { $($field:ident: $layer:literal $kind:ident [$($dim:literal),+]),+ $(,)? }) => {
        impl<T: Scalar> Parameters for $ty<T> {
            type Scalar = T;
            const PARAM_INFO: &'static [ParamInfo] = &[$(ParamInfo {
                name: stringify!($field),
                layer: $layer,
                kind: ParamKind::$kind,
                shape: &[$($dim),+],
            }),+];
            fn visit(&self, mut f: impl FnMut(&ParamInfo, &[T])) {
                let mut infos = Self::PARAM_INFO.iter();
                $(f(infos.next().unwrap(), flat(&*self.$field));)+
            }
            fn visit_mut(&mut self, mut f: impl FnMut(&ParamInfo, &mut [T])) {
                let mut infos = Self::PARAM_INFO.iter();
                $(f(infos.next().unwrap(), flat_mut(&mut *self.$field));)+
            }
        }
    };
}

/// A boxed array seen as a flat slice of scalars, row-major.
pub trait Flat<T> {
    /// The scalars.
    fn flat(&self) -> &[T];
    /// The scalars, mutably.
    fn flat_mut(&mut self) -> &mut [T];
}
impl<T, const N: usize> Flat<T> for [T; N] {
    fn flat(&self) -> &[T] {
        self
    }
    fn flat_mut(&mut self) -> &mut [T] {
        self
    }
}
impl<T, const N: usize, const M: usize> Flat<T> for [[T; N]; M] {
    fn flat(&self) -> &[T] {
        self.as_flattened()
    }
    fn flat_mut(&mut self) -> &mut [T] {
        self.as_flattened_mut()
    }
}
fn flat<T, A: Flat<T> + ?Sized>(a: &A) -> &[T] {
    a.flat()
}
fn flat_mut<T, A: Flat<T> + ?Sized>(a: &mut A) -> &mut [T] {
    a.flat_mut()
}

fn zero<A: Default>() -> Box<A> {
    Box::default()
}

/// `input: 3, layers: [5 tanh, 4 sigmoid, 2 identity]`, as the `tanh_sigmoid` fixture.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Small<T: Scalar> {
    pub w1: Box<[[T; 3]; 5]>,
    pub b1: Box<[T; 5]>,
    pub w2: Box<[[T; 5]; 4]>,
    pub b2: Box<[T; 4]>,
    pub w3: Box<[[T; 4]; 2]>,
    pub b3: Box<[T; 2]>,
}
parameters!(Small { w1: 1 Weight [5, 3], b1: 1 Bias [5], w2: 2 Weight [4, 5], b2: 2 Bias [4], w3: 3 Weight [2, 4], b3: 3 Bias [2] });
parameters!(SmallGrads { w1: 1 Weight [5, 3], b1: 1 Bias [5], w2: 2 Weight [4, 5], b2: 2 Bias [4], w3: 3 Weight [2, 4], b3: 3 Bias [2] });

/// The gradients of [`Small`].
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SmallGrads<T: Scalar> {
    pub w1: Box<[[T; 3]; 5]>,
    pub b1: Box<[T; 5]>,
    pub w2: Box<[[T; 5]; 4]>,
    pub b2: Box<[T; 4]>,
    pub w3: Box<[[T; 4]; 2]>,
    pub b3: Box<[T; 2]>,
}

/// The forward values of [`Small`].
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SmallCache<T: Scalar> {
    h0: [T; 3],
    z1: [T; 5],
    h1: [T; 5],
    z2: [T; 4],
    h2: [T; 4],
    z3: [T; 2],
    h3: [T; 2],
}

impl<T: Scalar> Network for Small<T> {
    type Input = [T; 3];
    type Output = [T; 2];
    type Cache = SmallCache<T>;
    type Grads = SmallGrads<T>;
    const INPUT: usize = 3;
    const OUTPUT: usize = 2;
    const LAYERS: usize = 3;
    const LAYER_SPECS: &'static [LayerSpec] = &[
        LayerSpec {
            fan_in: 3,
            fan_out: 5,
            activation: ActivationSpec {
                name: "tanh",
                params: &[],
            },
            bias: true,
        },
        LayerSpec {
            fan_in: 5,
            fan_out: 4,
            activation: ActivationSpec {
                name: "sigmoid",
                params: &[],
            },
            bias: true,
        },
        LayerSpec {
            fan_in: 4,
            fan_out: 2,
            activation: ActivationSpec {
                name: "identity",
                params: &[],
            },
            bias: true,
        },
    ];

    fn zeros() -> Self {
        Small {
            w1: zero(),
            b1: zero(),
            w2: zero(),
            b2: zero(),
            w3: zero(),
            b3: zero(),
        }
    }

    fn forward(&self, x: &[T; 3]) -> [T; 2] {
        self.forward_cached(x, &mut SmallCache::default())
    }

    fn forward_cached(&self, x: &[T; 3], c: &mut SmallCache<T>) -> [T; 2] {
        c.h0 = *x;
        dense_cached(&self.w1, &self.b1, &c.h0, &Tanh, &mut c.z1, &mut c.h1);
        dense_cached(&self.w2, &self.b2, &c.h1, &Sigmoid, &mut c.z2, &mut c.h2);
        dense_cached(&self.w3, &self.b3, &c.h2, &Identity, &mut c.z3, &mut c.h3);
        c.h3
    }

    fn backward(&self, c: &SmallCache<T>, dl_dy: &[T; 2], g: &mut SmallGrads<T>) -> [T; 3] {
        let d3 = delta(&Identity, &c.z3, &c.h3, dl_dy);
        ger(&mut g.w3, &d3, &c.h2);
        axpy(&mut g.b3, &d3);
        let d2 = delta(&Sigmoid, &c.z2, &c.h2, &gemv_tr(&self.w3, &d3));
        ger(&mut g.w2, &d2, &c.h1);
        axpy(&mut g.b2, &d2);
        let d1 = delta(&Tanh, &c.z1, &c.h1, &gemv_tr(&self.w2, &d2));
        ger(&mut g.w1, &d1, &c.h0);
        axpy(&mut g.b1, &d1);
        gemv_tr(&self.w1, &d1)
    }

    fn visit_with_grads(
        &mut self,
        grads: &SmallGrads<T>,
        f: impl FnMut(&ParamInfo, &mut [T], &[T]),
    ) {
        visit_with_grads(self, grads, f);
    }
}

/// `input: 2, layers: [3 tanh, 2 sigmoid], bias: false`, as the `no_bias` fixture.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NoBias<T: Scalar> {
    pub w1: Box<[[T; 2]; 3]>,
    pub w2: Box<[[T; 3]; 2]>,
}
parameters!(NoBias { w1: 1 Weight [3, 2], w2: 2 Weight [2, 3] });

/// The forward values of [`NoBias`].
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NoBiasCache<T: Scalar> {
    h0: [T; 2],
    z1: [T; 3],
    h1: [T; 3],
    z2: [T; 2],
    h2: [T; 2],
}

impl<T: Scalar> Network for NoBias<T> {
    type Input = [T; 2];
    type Output = [T; 2];
    type Cache = NoBiasCache<T>;
    type Grads = NoBias<T>;
    const INPUT: usize = 2;
    const OUTPUT: usize = 2;
    const LAYERS: usize = 2;
    const LAYER_SPECS: &'static [LayerSpec] = &[
        LayerSpec {
            fan_in: 2,
            fan_out: 3,
            activation: ActivationSpec {
                name: "tanh",
                params: &[],
            },
            bias: false,
        },
        LayerSpec {
            fan_in: 3,
            fan_out: 2,
            activation: ActivationSpec {
                name: "sigmoid",
                params: &[],
            },
            bias: false,
        },
    ];

    fn zeros() -> Self {
        NoBias {
            w1: zero(),
            w2: zero(),
        }
    }

    fn forward(&self, x: &[T; 2]) -> [T; 2] {
        self.forward_cached(x, &mut NoBiasCache::default())
    }

    fn forward_cached(&self, x: &[T; 2], c: &mut NoBiasCache<T>) -> [T; 2] {
        c.h0 = *x;
        dense_cached_unbiased(&self.w1, &c.h0, &Tanh, &mut c.z1, &mut c.h1);
        dense_cached_unbiased(&self.w2, &c.h1, &Sigmoid, &mut c.z2, &mut c.h2);
        c.h2
    }

    fn backward(&self, c: &NoBiasCache<T>, dl_dy: &[T; 2], g: &mut NoBias<T>) -> [T; 2] {
        let d2 = delta(&Sigmoid, &c.z2, &c.h2, dl_dy);
        ger(&mut g.w2, &d2, &c.h1);
        let d1 = delta(&Tanh, &c.z1, &c.h1, &gemv_tr(&self.w2, &d2));
        ger(&mut g.w1, &d1, &c.h0);
        gemv_tr(&self.w1, &d1)
    }

    fn visit_with_grads(&mut self, grads: &NoBias<T>, f: impl FnMut(&ParamInfo, &mut [T], &[T])) {
        visit_with_grads(self, grads, f);
    }
}

/// Walks parameters and gradients together by copying the gradients out first.
fn visit_with_grads<P: Parameters, G: Parameters<Scalar = P::Scalar>>(
    params: &mut P,
    grads: &G,
    mut f: impl FnMut(&ParamInfo, &mut [P::Scalar], &[P::Scalar]),
) {
    let mut gs = Vec::new();
    grads.visit(|_, g| gs.push(g.to_vec()));
    let mut gs = gs.into_iter();
    params.visit_mut(|info, p| f(info, p, &gs.next().unwrap_or_default()));
}

/// Sets every parameter from a deterministic sequence, distinct for every entry.
pub fn fill<N: Parameters>(net: &mut N, seed: u64) {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    net.visit_mut(|_, p| {
        for x in p {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *x = N::Scalar::from_f64((state >> 11) as f64 / (1u64 << 53) as f64 * 4.0 - 2.0);
        }
    });
}

/// A scratch directory, removed with everything in it when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    /// A new, empty directory under the system's temporary directory.
    pub fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("mlp-io-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the temporary directory is writable");
        Scratch(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The names of the entries in the directory, sorted.
    pub fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .expect("the scratch directory exists")
            .map(|e| {
                e.expect("a readable entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The bits of every parameter, to compare networks exactly (`-0.0` against `0.0`, NaN).
pub fn bits<N: Parameters>(net: &N) -> Vec<u64> {
    let mut out = Vec::new();
    net.visit(|_, p| out.extend(p.iter().map(|x| x.to_f64().to_bits())));
    out
}

/// An error and its sources, joined by `": "` as anyhow's `{:#}` prints them. Asserts that no
/// link repeats the text of the next one (a message, or a source, never both).
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut next = err.source();
    while let Some(e) = next {
        let text = e.to_string();
        let last = parts.last().map(String::as_str).unwrap_or_default();
        assert!(
            !last.contains(&text),
            "`{last}` repeats its source `{text}`"
        );
        parts.push(text);
        next = e.source();
    }
    parts.join(": ")
}
