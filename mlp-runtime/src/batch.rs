//! The batched path: a mini-batch of samples through a network with one matrix product per
//! layer and pass, for training and for throughput.
//!
//! A batch comes in as an [`ndarray`] array with one row per sample and is checked once at the
//! boundary ([`BatchError`] says which tensor, what was expected and what was found). Inside,
//! the inputs stay sample-major rows (`Vec<[T; N_0]>`, gathered straight from the data set)
//! and every layer's values are [`Batch`]es, feature-major; the widths are const generics, so
//! every product is shape-checked at compile time as in the per-sample path. The kernels take
//! either layout ([`Samples`]); a product transposes an operand while packing it, never as a
//! separate pass.
//!
//! Per layer, forward is one product `Z = W H` that adds the bias and applies the activation
//! to each block of `Z` as it finishes it (while the block is in cache); backward is one
//! product `∂L/∂W += δ Hᵀ` (accumulating, `β = 1`, or overwriting with `β = 0` in
//! `gradient_batch`, so that no pass zeroes the gradients), one row sum for `∂L/∂b`, and one
//! product `Wᵀ δ` that multiplies each finished block by `σ'`. The first layer's input
//! gradient is never computed. The buffers live in the network's batch
//! cache (`{Name}BatchCache`), so after the first batch of the largest size, nothing
//! allocates.
//!
//! The products run on [`matmul`]'s kernel: AVX-512 when the CPU has it (detected at run
//! time), portable Rust otherwise, or a system CBLAS with the `blas` feature. A product with a
//! side of one or two (a layer of one or two units, or of two inputs) takes vectorised loops
//! instead of a padded kernel block, and a weight gradient of narrow layers over a long batch
//! a dot-product kernel that needs no transposed copy.

#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(feature = "blas")]
mod blas;
mod blocking;
#[cfg(target_arch = "x86_64")]
mod dots;
mod gemm;
mod kernels;
#[cfg(feature = "parallel")]
mod parallel;
mod pass;
mod thin;

/// What generated code calls: this module and the batch kernels, which only generated code
/// calls (it pairs their operands from one forward call). Not public API.
#[doc(hidden)]
pub mod generated {
    pub use super::kernels::{
        bias_grad, delta_output, dense, dense_cached, input_delta, load, scale, weight_grad,
    };
    pub use super::*;
}

use crate::error::ShapeError;
use crate::{Network, Parameters, Scalar};
use alloc::vec::Vec;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, ShapeBuilder};

/// A batch of samples of width `N`, stored feature-major: row `i` holds unit `i` of every
/// sample, so a layer's product has contiguous rows and its element-wise passes vectorise
/// across samples.
#[derive(Clone, Debug, Default)]
pub struct Batch<T, const N: usize> {
    /// The buffer, with room to start the values on a cache line.
    data: Vec<T>,
    /// Where the values start in `data`.
    start: usize,
    samples: usize,
}

/// The bytes the values are aligned to when the buffer allows it: a cache line, so that the
/// rows of a batch of a multiple of 16 `f32` samples start lines and no vector straddles two.
const ALIGN: usize = 64;

impl<T: Scalar, const N: usize> Batch<T, N> {
    /// The number of samples `B`.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Makes room for `samples` samples, allocating only when the batch is larger than any
    /// before it. The values are unspecified until written.
    pub fn resize(&mut self, samples: usize) {
        let pad = ALIGN / core::mem::size_of::<T>();
        self.data.resize(N * samples + pad, T::ZERO);
        let start = self.data.as_ptr().align_offset(ALIGN);
        self.start = if start <= pad { start } else { 0 };
        self.samples = samples;
    }

    /// The values, `N × B`, row-major.
    pub fn as_slice(&self) -> &[T] {
        &self.data[self.start..self.start + N * self.samples]
    }

    /// The values, `N × B`, row-major.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data[self.start..self.start + N * self.samples]
    }

    /// The batch as a `B × N` array, one row per sample (a transposed view, no copy).
    pub fn view(&self) -> ArrayView2<'_, T> {
        let b = self.samples;
        let shape = if b == 0 {
            (0, N).strides((0, 0))
        } else {
            (b, N).strides((1, b))
        };
        match ArrayView2::from_shape(shape, self.as_slice()) {
            Ok(v) => v,
            // The shape and strides address exactly N·B values, all present.
            Err(e) => unreachable!("a batch view fits its buffer: {e}"),
        }
    }

    /// Sample `s` as an array (a gather across the rows).
    pub fn sample(&self, s: usize) -> Option<[T; N]> {
        let values = self.as_slice();
        (s < self.samples).then(|| core::array::from_fn(|i| values[i * self.samples + s]))
    }
}

/// Two batches are equal when they hold the same samples, wherever their values start.
impl<T: PartialEq, const N: usize> PartialEq for Batch<T, N> {
    fn eq(&self, other: &Self) -> bool {
        self.samples == other.samples
            && self.data[self.start..self.start + N * self.samples]
                == other.data[other.start..other.start + N * other.samples]
    }
}

/// A batch of samples of width `N` in either layout: a feature-major [`Batch`], or
/// sample-major rows (`[[T; N]]`, `Vec<[T; N]>`, as a batch's inputs arrive). The kernels take
/// either, so that no layer's input is transposed before its product.
pub trait Samples<T, const N: usize>: sealed::Sealed {
    /// The number of samples `B`.
    fn samples(&self) -> usize;

    /// The values as an `N × B` matrix: `(pointer, stride between units, stride between
    /// samples)`, valid for `N · B` reads.
    #[doc(hidden)]
    fn strided(&self) -> (*const T, usize, usize);
}

mod sealed {
    pub trait Sealed {}
    impl<T, const N: usize> Sealed for super::Batch<T, N> {}
    impl<T, const N: usize> Sealed for [[T; N]] {}
    impl<T, const N: usize> Sealed for alloc::vec::Vec<[T; N]> {}
    impl<T, const N: usize> Sealed for super::Rows<'_, T, N> {}
}

impl<T: Scalar, const N: usize> Samples<T, N> for Batch<T, N> {
    fn samples(&self) -> usize {
        self.samples
    }
    fn strided(&self) -> (*const T, usize, usize) {
        (self.as_slice().as_ptr(), self.samples, 1)
    }
}

impl<T: Scalar, const N: usize> Samples<T, N> for [[T; N]] {
    fn samples(&self) -> usize {
        self.len()
    }
    fn strided(&self) -> (*const T, usize, usize) {
        (self.as_flattened().as_ptr(), 1, N)
    }
}

impl<T: Scalar, const N: usize> Samples<T, N> for Vec<[T; N]> {
    fn samples(&self) -> usize {
        self.len()
    }
    fn strided(&self) -> (*const T, usize, usize) {
        (self.as_flattened().as_ptr(), 1, N)
    }
}

/// A batch of inputs read where they lie: the rows of a caller's `B × N` array (any
/// non-negative strides), or a copy of them when its strides are negative. Made by
/// [`inputs`]; it borrows the array (or the copy) for as long as it lives.
#[derive(Clone, Copy, Debug)]
pub struct Rows<'a, T, const N: usize> {
    ptr: *const T,
    /// The strides between units and between samples of the `N × B` operand.
    strides: (usize, usize),
    samples: usize,
    _values: core::marker::PhantomData<&'a [T]>,
}

// SAFETY: `Rows` is a shared borrow of `T`s, as `&'a [T]` is.
unsafe impl<T: Sync, const N: usize> Send for Rows<'_, T, N> {}
// SAFETY: as above.
unsafe impl<T: Sync, const N: usize> Sync for Rows<'_, T, N> {}

impl<T: Scalar, const N: usize> Samples<T, N> for Rows<'_, T, N> {
    fn samples(&self) -> usize {
        self.samples
    }
    fn strided(&self) -> (*const T, usize, usize) {
        (self.ptr, self.strides.0, self.strides.1)
    }
}

/// The inputs `x` (`B × N`, one sample per row) as the operand of a layer's product, read in
/// place when its strides are non-negative (no copy), else copied into `spare` (which
/// allocates only when `spare` has never held as many samples).
///
/// Fails if `x` does not have `N` columns.
pub fn inputs<'a, T: Scalar, const N: usize>(
    x: ArrayView2<'a, T>,
    spare: &'a mut Vec<[T; N]>,
) -> Result<Rows<'a, T, N>, BatchError> {
    ShapeError::columns("input batch", N, x.ncols())?;
    let samples = x.nrows();
    let s = x.strides();
    if s[0] >= 0 && s[1] >= 0 {
        return Ok(Rows {
            ptr: x.as_ptr(),
            strides: (s[1] as usize, s[0] as usize),
            samples,
            _values: core::marker::PhantomData,
        });
    }
    kernels::load(x, None, spare)?;
    let (ptr, rs, cs) = Samples::<T, N>::strided(&*spare);
    Ok(Rows {
        ptr,
        strides: (rs, cs),
        samples,
        _values: core::marker::PhantomData,
    })
}

/// A batch whose shape does not fit the network, found at the boundary of a batched call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// An array has the wrong number of rows or columns.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// A sample index past the end of the array it selects from.
    #[error("{what}: row index {index} out of range for {rows} rows")]
    RowIndex {
        /// The array, e.g. `"input batch"`.
        what: &'static str,
        /// The index given.
        index: usize,
        /// The rows the array has.
        rows: usize,
    },
    /// A backward pass on a cache that holds no forward values for it: the cache is new, or
    /// its last forward call was an inference-only `predict_batch`.
    #[error(
        "the batch cache holds no forward values for a backward pass: call forward_batch_cached \
         or forward_batch_rows first (predict_batch keeps none)"
    )]
    NoForwardValues,
    /// The result of [`matmul`] with rows that are not contiguous.
    #[error("{what}: expected rows with unit column stride, found stride {stride}")]
    Layout {
        /// The operand, `"c"`.
        what: &'static str,
        /// Its column stride.
        stride: isize,
    },
}

/// Computes `C = A B`, or `C += A B` when `accumulate`, on the kernel of the batched path
/// (AVX-512 when the CPU has it), without allocating. A: m×k and B: k×n with any
/// non-negative strides (fastest with contiguous rows of B); C: m×n with contiguous rows
/// (unit column stride, non-negative row stride).
///
/// ```
/// use mlp::ndarray::array;
/// let a = array![[1.0f32, 2.0], [3.0, 4.0]];
/// let b = array![[1.0f32, 0.0, 2.0], [0.5, 1.0, -1.0]];
/// let mut c = mlp::ndarray::Array2::zeros((2, 3));
/// mlp::batch::matmul(a.view(), b.view(), c.view_mut(), false).unwrap();
/// assert_eq!(c, a.dot(&b));
/// ```
pub fn matmul<T: Scalar>(
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    mut c: ArrayViewMut2<'_, T>,
    accumulate: bool,
) -> Result<(), BatchError> {
    let (m, k) = a.dim();
    let n = b.ncols();
    ShapeError::rows("b", k, b.nrows())?;
    ShapeError::rows("c", m, c.nrows())?;
    ShapeError::columns("c", n, c.ncols())?;
    let unit_rows = |what, s: &[isize], rows: usize, cols: usize| {
        if cols > 1 && s[1] != 1 || rows > 1 && s[0] < 0 {
            Err(BatchError::Layout { what, stride: s[1] })
        } else {
            Ok(())
        }
    };
    unit_rows("c", c.strides(), m, n)?;
    let (sa, sb, rsc) = (a.strides(), b.strides(), c.strides()[0]);
    if sa.iter().chain(sb).any(|&s| s < 0) {
        // Negative strides: work on copies with standard strides (this allocates).
        let (a, b) = (a.as_standard_layout(), b.as_standard_layout());
        return matmul(a.view(), b.view(), c, accumulate);
    }
    // SAFETY: the shapes were checked; every stride is non-negative, C's rows are contiguous,
    // and C is borrowed mutably, so it overlaps neither A nor B.
    unsafe {
        gemm::gemm(blocking::Product {
            m,
            n,
            k,
            a: blocking::Mat {
                ptr: a.as_ptr(),
                rs: sa[0] as usize,
                cs: sa[1] as usize,
            },
            b: blocking::Mat {
                ptr: b.as_ptr(),
                rs: sb[0] as usize,
                cs: sb[1] as usize,
            },
            c: c.as_mut_ptr(),
            rsc: rsc as usize,
            accumulate,
        });
    }
    Ok(())
}

/// The batched passes of a network generated by `mlp!`: rows are samples.
///
/// Implemented by every generated network, which also has each method as an inherent method.
/// Hand-written [`Network`]s need not implement it.
///
/// When to use which:
///
/// | you want | call | allocates |
/// | --- | --- | --- |
/// | outputs, once, simply | [`forward_batch`](BatchNetwork::forward_batch) | every call |
/// | outputs for inference, in a loop | [`predict_batch`](BatchNetwork::predict_batch) | once per cache |
/// | outputs, then gradients | [`forward_batch_cached`](BatchNetwork::forward_batch_cached) | once per cache |
/// | the same, on a shuffled mini-batch of rows | [`forward_batch_rows`](BatchNetwork::forward_batch_rows) | once per cache |
/// | gradients added to others (accumulating over batches) | [`backward_batch`](BatchNetwork::backward_batch) | no |
/// | gradients of this batch, for any optimizer | [`gradient_batch`](BatchNetwork::gradient_batch) | no |
/// | a plain SGD step, fused into backward | [`sgd_step_batch`](BatchNetwork::sgd_step_batch) | no |
///
/// The trainer ([`crate::train::Trainer`]) uses `forward_batch_rows` and `gradient_batch`.
pub trait BatchNetwork: Network {
    /// The forward values and the scratch space of a batch: `{Name}BatchCache`.
    type BatchCache: Clone + core::fmt::Debug + Default + Send + Sync + 'static;

    /// Computes the outputs of a batch, `B × OUTPUT`, from its inputs, `B × INPUT`.
    ///
    /// Allocates its buffers; [`BatchNetwork::forward_batch_cached`] reuses a cache's.
    fn forward_batch(
        &self,
        x: ArrayView2<'_, Self::Scalar>,
    ) -> Result<Array2<Self::Scalar>, BatchError>;

    /// Computes the outputs of a batch for inference, as a `B × OUTPUT` view into `cache`:
    /// reads `x` where it lies (no copy unless its strides are negative) and keeps only each
    /// layer's outputs, so the cache then holds nothing for
    /// [`BatchNetwork::backward_batch`] (which says so with [`BatchError::NoForwardValues`]).
    fn predict_batch<'c>(
        &self,
        x: ArrayView2<'_, Self::Scalar>,
        cache: &'c mut Self::BatchCache,
    ) -> Result<ArrayView2<'c, Self::Scalar>, BatchError>;

    /// Computes the outputs of a batch, keeping what [`BatchNetwork::backward_batch`] needs in
    /// `cache`, and returns them as a `B × OUTPUT` view into the cache.
    fn forward_batch_cached<'c>(
        &self,
        x: ArrayView2<'_, Self::Scalar>,
        cache: &'c mut Self::BatchCache,
    ) -> Result<ArrayView2<'c, Self::Scalar>, BatchError>;

    /// As [`BatchNetwork::forward_batch_cached`], on the rows `rows` of `x`, in that order
    /// (a shuffled mini-batch gathered straight into the cache).
    fn forward_batch_rows<'c>(
        &self,
        x: ArrayView2<'_, Self::Scalar>,
        rows: &[usize],
        cache: &'c mut Self::BatchCache,
    ) -> Result<ArrayView2<'c, Self::Scalar>, BatchError>;

    /// Adds the batch's summed gradients `Σ_s ∂ℓ_s/∂W_l`, `Σ_s ∂ℓ_s/∂b_l` into `grads`, given
    /// `dl_dy` (`B × OUTPUT`, row `s` = `∂ℓ_s/∂y_s`) and the cache of the matching forward
    /// call. The cache's forward values are left as they were.
    fn backward_batch(
        &self,
        cache: &mut Self::BatchCache,
        dl_dy: ArrayView2<'_, Self::Scalar>,
        grads: &mut Self::Grads,
    ) -> Result<(), BatchError>;

    /// One plain SGD step, `θ ← θ − lr · Σ_s ∂ℓ_s/∂θ`, given `dl_dy` and the cache of the
    /// matching forward call, fused into the backward pass so that no gradient is stored
    /// (pass `lr / B` for the mean gradient). Fails, leaving the network as it was, as
    /// [`BatchNetwork::backward_batch`] does.
    fn sgd_step_batch(
        &mut self,
        cache: &mut Self::BatchCache,
        dl_dy: ArrayView2<'_, Self::Scalar>,
        lr: Self::Scalar,
    ) -> Result<(), BatchError>;

    /// As [`BatchNetwork::backward_batch`], but writes the batch's summed gradients into
    /// `grads`, overwriting what they held, so that a step need not zero them first (generated
    /// networks write each product with `β = 0`; this default zeroes, then adds).
    fn gradient_batch(
        &self,
        cache: &mut Self::BatchCache,
        dl_dy: ArrayView2<'_, Self::Scalar>,
        grads: &mut Self::Grads,
    ) -> Result<(), BatchError> {
        grads.fill(Self::Scalar::ZERO);
        self.backward_batch(cache, dl_dy, grads)
    }
}
