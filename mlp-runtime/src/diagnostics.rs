//! Per-layer variance diagnostics: how the spread of activations and gradients changes from
//! layer to layer, the quantities that the analysis behind [`init`](crate::init) predicts.
//!
//! For a network and a batch of inputs, [`variances`] measures, per layer `l`, the variance
//! of the pre-activations `z_l`, the activations `h_l`, the gradients `∂L/∂h_l` and `∂L/∂z_l`,
//! and the per-sample weight gradients `∂L/∂W_l`. Each is pooled over the samples and the
//! units of the layer. With zero-mean i.i.d. weights, zero biases and inputs in the linear
//! regime of `tanh` (`σ(z) ≈ z`), the analysis predicts
//!
//! ```text
//! Var[h_l] / Var[x]            ≈ Π_{k=1..l}   N_{k−1} Var[W_k]    (forward)
//! Var[∂L/∂h_l] / Var[∂L/∂y]    ≈ Π_{k=l+1..L} N_k     Var[W_k]    (backward)
//! ```
//!
//! so `Var W = 1/N_in` keeps the activations' variance, `Var W = 1/N_out` the gradients',
//! and Xavier's `2/(N_in + N_out)` sits between the two. [`Prediction`] evaluates both
//! products for an [`Init`].
//!
//! # How the values are read
//!
//! A [`Probe`] reads everything from one [`Network::forward_cached`] and one
//! [`Network::backward`] per sample, with the gradients zeroed before each sample:
//!
//! - `z_l` and `h_l` from the cache, through [`LayerValues`].
//! - `δ_l = ∂L/∂z_l` from the gradients: it is `∂L/∂b_l` when the layer has a bias; without
//!   one, `∂L/∂W_l = δ_l h_{l−1}ᵀ` gives `δ_l[i] = (∂L/∂W_l)[i][j] / h_{l−1}[j]` for the `j`
//!   with the largest `|h_{l−1}[j]|`, exact up to the rounding of one product and one division.
//! - `∂L/∂h_{l−1} = W_lᵀ δ_l` in `f64`, from the parameters. `∂L/∂h_L = ∂L/∂y` is given, and
//!   `∂L/∂h_0 = ∂L/∂x` is what `backward` returns.
//!
//! Nothing depends on the activations, so any activation works.

use crate::init::Init;
use crate::{LayerSpec, LayerValues, Network, ParamKind, Parameters, Scalar, Vector};

/// Why a network or a sample cannot be measured.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiagnosticsError {
    /// The batch is empty.
    #[error("variance diagnostics need at least 1 input, found 0")]
    EmptyBatch,
    /// Layer `layer` has no bias and its input `h_{layer−1}` is zero in every unit for a
    /// sample, so `δ_l` cannot be recovered from `∂L/∂W_l = δ_l h_{l−1}ᵀ`.
    #[error("sample {sample}: layer {layer} has no bias and h_{} is zero in all {width} units, so ∂L/∂z_{layer} cannot be recovered from ∂L/∂W_{layer}", layer - 1)]
    ZeroInput {
        /// The sample, 0-based, counted over the probe's calls.
        sample: usize,
        /// The layer, 1-based.
        layer: usize,
        /// The width `N_{l−1}` of the layer's input.
        width: usize,
    },
}

/// The count, mean and variance of a stream of values, merged chunk by chunk with Chan's
/// update, so that no sum of squares cancels.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Moments {
    count: u64,
    mean: f64,
    /// The sum of squared deviations from the mean.
    m2: f64,
}

impl Moments {
    /// The moments of no values.
    pub const fn new() -> Self {
        Moments {
            count: 0,
            mean: 0.0,
            m2: 0.0,
        }
    }

    /// The moments of a slice, by two passes.
    pub fn of(values: &[f64]) -> Self {
        if values.is_empty() {
            return Moments::new();
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let m2 = values.iter().map(|&v| (v - mean) * (v - mean)).sum();
        Moments {
            count: values.len() as u64,
            mean,
            m2,
        }
    }

    /// Adds the values of a slice.
    pub fn extend(&mut self, values: &[f64]) {
        self.merge(&Moments::of(values));
    }

    /// Adds the values that `other` summarises.
    pub fn merge(&mut self, other: &Moments) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *other;
            return;
        }
        let (na, nb) = (self.count as f64, other.count as f64);
        let n = na + nb;
        let d = other.mean - self.mean;
        self.mean += d * nb / n;
        self.m2 += other.m2 + d * d * na * nb / n;
        self.count += other.count;
    }

    /// The number of values.
    pub const fn count(&self) -> u64 {
        self.count
    }

    /// The mean, or 0 for no values.
    pub const fn mean(&self) -> f64 {
        self.mean
    }

    /// The variance `(1/n) Σ (v − mean)²`, or 0 for no values.
    pub fn variance(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.m2 / self.count as f64
        }
    }
}

/// One sample's values, layer by layer, indexed by the layer `l = 0..=L`.
///
/// Index 0 of `z`, `dl_dz` and `dl_dw` is empty: the input has no pre-activation and no weight.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    /// `z_l = W_l h_{l−1} + b_l`.
    pub z: Vec<Vec<f64>>,
    /// `h_l = σ_l(z_l)`, with `h_0 = x`.
    pub h: Vec<Vec<f64>>,
    /// `∂L/∂z_l = δ_l`.
    pub dl_dz: Vec<Vec<f64>>,
    /// `∂L/∂h_l`, with `∂L/∂h_0 = ∂L/∂x` and `∂L/∂h_L = ∂L/∂y`.
    pub dl_dh: Vec<Vec<f64>>,
    /// This sample's `∂L/∂W_l = δ_l h_{l−1}ᵀ`, flattened row-major (`N_l × N_{l−1}`).
    pub dl_dw: Vec<Vec<f64>>,
}

impl Trace {
    /// Zeroed buffers with the widths of `N`.
    fn for_network<N: Network>() -> Self {
        let widths = layer_widths::<N>();
        let per_layer =
            |f: &dyn Fn(usize) -> usize| (0..widths.len()).map(|l| vec![0.0; f(l)]).collect();
        let after_input = |l: usize, n: usize| if l == 0 { 0 } else { n };
        Trace {
            z: per_layer(&|l| after_input(l, widths[l])),
            h: per_layer(&|l| widths[l]),
            dl_dz: per_layer(&|l| after_input(l, widths[l])),
            dl_dh: per_layer(&|l| widths[l]),
            dl_dw: per_layer(&|l| after_input(l, widths[l] * widths[l.saturating_sub(1)])),
        }
    }
}

/// `N_0, N_1, …, N_L`.
fn layer_widths<N: Network>() -> Vec<usize> {
    core::iter::once(N::INPUT)
        .chain(N::LAYER_SPECS.iter().map(|s| s.fan_out))
        .collect()
}

/// Reads one sample's [`Trace`] out of a network's own forward and backward passes.
///
/// ```
/// # use mlp::{diagnostics::Probe, LayerValues, Network};
/// # fn demo<N: Network>(net: &N, x: &N::Input, dl_dy: &N::Output) -> Result<(), mlp::diagnostics::DiagnosticsError>
/// # where N::Cache: LayerValues<Scalar = N::Scalar> {
/// let mut probe = Probe::new(net)?;
/// let trace = probe.run(x, |_y| *dl_dy)?;
/// println!("h_1 = {:?}, ∂L/∂h_1 = {:?}", trace.h[1], trace.dl_dh[1]);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Probe<'a, N: Network>
where
    N::Cache: LayerValues<Scalar = N::Scalar>,
{
    net: &'a N,
    /// `W_l` in `f64`, row-major, index `l` (index 0 empty).
    w: Vec<Vec<f64>>,
    cache: N::Cache,
    grads: N::Grads,
    trace: Trace,
    samples: usize,
}

impl<'a, N: Network> Probe<'a, N>
where
    N::Cache: LayerValues<Scalar = N::Scalar>,
{
    /// A probe of `net`.
    pub fn new(net: &'a N) -> Result<Self, DiagnosticsError> {
        let mut w = vec![Vec::new(); N::LAYERS + 1];
        net.visit(|info, p| {
            if info.kind == ParamKind::Weight {
                w[info.layer] = p.iter().map(|v| v.to_f64()).collect();
            }
        });
        Ok(Probe {
            net,
            w,
            cache: N::Cache::default(),
            grads: N::Grads::default(),
            trace: Trace::for_network::<N>(),
            samples: 0,
        })
    }

    /// The per-sample gradients `∂L/∂W_l`, `∂L/∂b_l` of the last [`Probe::run`].
    pub fn grads(&self) -> &N::Grads {
        &self.grads
    }

    /// Runs one sample, whose output `y` has the loss gradient `dl_dy(&y) = ∂L/∂y`, and
    /// returns its [`Trace`].
    pub fn run(
        &mut self,
        x: &N::Input,
        dl_dy: impl FnOnce(&N::Output) -> N::Output,
    ) -> Result<&Trace, DiagnosticsError> {
        let sample = self.samples;
        self.samples += 1;
        let l_max = N::LAYERS;
        let y = self.net.forward_cached(x, &mut self.cache);
        let dl_dy = dl_dy(&y);
        self.grads.fill(N::Scalar::ZERO);
        let dl_dx = self.net.backward(&self.cache, &dl_dy, &mut self.grads);

        let t = &mut self.trace;
        let mut has_bias = vec![false; l_max + 1];
        self.grads.visit(|info, p| {
            let dst = match info.kind {
                ParamKind::Weight => &mut t.dl_dw[info.layer],
                ParamKind::Bias => {
                    has_bias[info.layer] = true;
                    &mut t.dl_dz[info.layer]
                }
            };
            dst.iter_mut().zip(p).for_each(|(d, v)| *d = v.to_f64());
        });
        for l in 0..=l_max {
            copy_f64(&mut t.h[l], self.cache.h(l).unwrap_or_default());
            if l > 0 {
                copy_f64(&mut t.z[l], self.cache.z(l).unwrap_or_default());
            }
        }
        copy_f64(&mut t.dl_dh[0], dl_dx.as_slice());
        copy_f64(&mut t.dl_dh[l_max], dl_dy.as_slice());

        for (l, &bias) in has_bias.iter().enumerate().skip(1) {
            let n_in = t.h[l - 1].len();
            if !bias {
                // δ_l from ∂L/∂W_l = δ_l h_{l−1}ᵀ, using the column of the largest |h_{l−1}[j]|.
                let (col, &h) = t.h[l - 1]
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
                    .unwrap_or((0, &0.0));
                if h == 0.0 {
                    return Err(DiagnosticsError::ZeroInput {
                        sample,
                        layer: l,
                        width: n_in,
                    });
                }
                let (dl_dz, dl_dw) = (&mut t.dl_dz[l], &t.dl_dw[l]);
                for (d, row) in dl_dz.iter_mut().zip(dl_dw.chunks_exact(n_in)) {
                    *d = row[col] / h;
                }
            }
            // ∂L/∂h_{l−1} = W_lᵀ δ_l, for the hidden layers only.
            if l > 1 {
                let g = &mut t.dl_dh[l - 1];
                g.fill(0.0);
                for (w_row, &d) in self.w[l].chunks_exact(n_in).zip(&t.dl_dz[l]) {
                    g.iter_mut().zip(w_row).for_each(|(g, w)| *g += w * d);
                }
            }
        }
        Ok(&self.trace)
    }
}

/// Writes a slice of scalars into an `f64` buffer of the same length.
fn copy_f64<T: Scalar>(dst: &mut [f64], src: &[T]) {
    dst.iter_mut().zip(src).for_each(|(d, s)| *d = s.to_f64());
}

/// The moments of one layer's values over a batch, pooled over samples and units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerVariances {
    /// The layer `l`, 0 for the input.
    pub layer: usize,
    /// The width `N_l`.
    pub width: usize,
    /// `z_l` (no values for the input).
    pub z: Moments,
    /// `h_l`, with `h_0 = x`.
    pub h: Moments,
    /// `∂L/∂z_l` (no values for the input).
    pub dl_dz: Moments,
    /// `∂L/∂h_l`.
    pub dl_dh: Moments,
    /// The per-sample `∂L/∂W_l` (no values for the input).
    pub dl_dw: Moments,
}

/// What [`variances`] measures: one [`LayerVariances`] per layer, `l = 0..=L`.
#[derive(Clone, Debug, PartialEq)]
pub struct Variances {
    /// The number of samples.
    pub samples: usize,
    /// The layers `0..=L`; entry 0 is the input `x`.
    pub layers: Vec<LayerVariances>,
}

impl Variances {
    /// `Var[h_l] / Var[x]` for `l = 0..=L` (1 at `l = 0`); empty when `layers` is.
    pub fn forward_ratios(&self) -> Vec<f64> {
        let Some(x) = self.layers.first().map(|l| l.h.variance()) else {
            return Vec::new();
        };
        self.layers.iter().map(|l| l.h.variance() / x).collect()
    }

    /// `Var[∂L/∂h_l] / Var[∂L/∂y]` for `l = 0..=L` (1 at `l = L`); empty when `layers` is.
    pub fn backward_ratios(&self) -> Vec<f64> {
        let Some(y) = self.layers.last().map(|l| l.dl_dh.variance()) else {
            return Vec::new();
        };
        self.layers.iter().map(|l| l.dl_dh.variance() / y).collect()
    }
}

/// Measures the per-layer variances of `net` over a batch of `inputs`, where sample `i` with
/// output `y` has the loss gradient `dl_dy(i, &y)`, in one forward and one backward pass per
/// sample. The weight gradients are each sample's own, not the batch mean.
///
/// Fails if `inputs` is empty, or if a layer without bias gets an all-zero input.
///
/// ```
/// # use mlp::{diagnostics::variances, LayerValues, Network, Vector};
/// # fn demo<N: Network<Scalar = f64, Output = [f64; 1]>>(net: &N, inputs: &[N::Input], targets: &[f64]) -> Result<(), mlp::diagnostics::DiagnosticsError>
/// # where N::Cache: LayerValues<Scalar = f64> {
/// // L = ½ (y − t)², so ∂L/∂y = y − t.
/// let v = variances(net, inputs, |i, y| [y[0] - targets[i]])?;
/// for layer in &v.layers {
///     println!("layer {}: Var[h] = {:e}, Var[∂L/∂h] = {:e}", layer.layer, layer.h.variance(), layer.dl_dh.variance());
/// }
/// # Ok(()) }
/// ```
pub fn variances<N: Network>(
    net: &N,
    inputs: &[N::Input],
    mut dl_dy: impl FnMut(usize, &N::Output) -> N::Output,
) -> Result<Variances, DiagnosticsError>
where
    N::Cache: LayerValues<Scalar = N::Scalar>,
{
    if inputs.is_empty() {
        return Err(DiagnosticsError::EmptyBatch);
    }
    let mut probe = Probe::new(net)?;
    let mut layers: Vec<LayerVariances> = layer_widths::<N>()
        .into_iter()
        .enumerate()
        .map(|(layer, width)| LayerVariances {
            layer,
            width,
            z: Moments::new(),
            h: Moments::new(),
            dl_dz: Moments::new(),
            dl_dh: Moments::new(),
            dl_dw: Moments::new(),
        })
        .collect();
    for (i, x) in inputs.iter().enumerate() {
        let trace = probe.run(x, |y| dl_dy(i, y))?;
        for (l, m) in layers.iter_mut().enumerate() {
            m.z.extend(&trace.z[l]);
            m.h.extend(&trace.h[l]);
            m.dl_dz.extend(&trace.dl_dz[l]);
            m.dl_dh.extend(&trace.dl_dh[l]);
            m.dl_dw.extend(&trace.dl_dw[l]);
        }
    }
    Ok(Variances {
        samples: inputs.len(),
        layers,
    })
}

/// What the linear-regime analysis predicts for an initialisation, per layer `l = 0..=L`.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// `Var[h_l] / Var[x] = Π_{k=1..l} N_{k−1} Var[W_k]` (1 at `l = 0`).
    pub forward: Vec<f64>,
    /// `Var[∂L/∂h_l] / Var[∂L/∂y] = Π_{k=l+1..L} N_k Var[W_k]` (1 at `l = L`).
    pub backward: Vec<f64>,
}

impl Prediction {
    /// The products for the layers `specs` with the weight variances of `init`.
    pub fn new(init: &Init, specs: &[LayerSpec]) -> Self {
        let var = |s: &LayerSpec| init.variance(s.fan_in, s.fan_out);
        let mut forward = vec![1.0];
        for s in specs {
            let last = forward[forward.len() - 1];
            forward.push(last * s.fan_in as f64 * var(s));
        }
        let mut backward = vec![1.0];
        for s in specs.iter().rev() {
            let last = backward[backward.len() - 1];
            backward.push(last * s.fan_out as f64 * var(s));
        }
        backward.reverse();
        Prediction { forward, backward }
    }
}
