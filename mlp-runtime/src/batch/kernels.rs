//! Shape-typed kernels of the batched path, one call per product or pass, as generated code
//! calls them. `B` is the number of samples; every [`Batch`] is stored feature-major.

use super::blocking::{Mat, Product, Shared};
use super::gemm::{gemm, gemm_then};
use super::{pass, Batch, BatchError, Samples};
use crate::error::ShapeError;
use crate::{Activation, Scalar};
use alloc::vec::Vec;
use ndarray::ArrayView2;

/// Loads a batch's inputs as sample-major rows: `x` is `B × N` (rows = samples, any
/// strides), or the rows `rows` of it, in that order.
///
/// Fails if `x` does not have `N` columns or a row index is out of range.
pub fn load<T: Scalar, const N: usize>(
    x: ArrayView2<'_, T>,
    rows: Option<&[usize]>,
    out: &mut Vec<[T; N]>,
) -> Result<(), BatchError> {
    ShapeError::columns("input batch", N, x.ncols())?;
    let b = rows.map_or(x.nrows(), <[usize]>::len);
    if let Some(rows) = rows {
        if let Some(&index) = rows.iter().find(|&&r| r >= x.nrows()) {
            return Err(BatchError::RowIndex {
                what: "input batch",
                index,
                rows: x.nrows(),
            });
        }
    }
    out.resize(b, [T::ZERO; N]);
    for (s, dst) in out.iter_mut().enumerate() {
        let row = x.row(rows.map_or(s, |r| r[s]));
        match row.as_slice() {
            Some(src) => dst.copy_from_slice(src),
            None => dst.iter_mut().zip(row).for_each(|(d, &v)| *d = v),
        }
    }
    Ok(())
}

/// A batch as the `N × B` matrix operand of a product.
fn operand<T: Scalar, const N: usize, X: Samples<T, N> + ?Sized>(x: &X) -> Mat<T> {
    let (ptr, rs, cs) = x.strided();
    Mat { ptr, rs, cs }
}

/// The same batch as the `B × N` (transposed) operand.
fn operand_t<T: Scalar, const N: usize, X: Samples<T, N> + ?Sized>(x: &X) -> Mat<T> {
    let (ptr, rs, cs) = x.strided();
    Mat {
        ptr,
        rs: cs,
        cs: rs,
    }
}

/// `Z = W X` for a batch: W: OUT×IN, X: IN×B (either layout), Z: OUT×B feature-major at
/// `z` (`OUT · B` values), then `epilogue` on each finished block of `Z` (see `gemm_then`).
///
/// # Safety
/// `z` is valid for `OUT · B` writes and overlaps neither `w` nor `x`.
unsafe fn product<T: Scalar, X: Samples<T, IN> + ?Sized, const IN: usize, const OUT: usize>(
    w: &[[T; IN]; OUT],
    x: &X,
    z: *mut T,
    epilogue: impl Fn(usize, usize, usize, usize) + Sync,
) {
    let b = x.samples();
    // SAFETY: W is OUT×IN row-major (rs = IN), X addresses IN·B values by its own strides,
    // Z is OUT×B row-major in a distinct buffer (the caller's promise).
    unsafe {
        gemm_then(
            Product {
                m: OUT,
                n: b,
                k: IN,
                a: Mat {
                    ptr: w.as_flattened().as_ptr(),
                    rs: IN,
                    cs: 1,
                },
                b: operand(x),
                c: z,
                rsc: b,
                accumulate: false,
            },
            epilogue,
        );
    }
}

/// One layer of a batch, keeping what backward needs: `Z = W X + b 1ᵀ`, `H = σ(Z)`
/// (W: OUT×IN, X: IN×B in either layout); the bias and the activation are applied to each
/// block of `Z` as the product finishes it, while it is in cache.
pub fn dense_cached<T, A, X, const IN: usize, const OUT: usize>(
    w: &[[T; IN]; OUT],
    b: Option<&[T; OUT]>,
    x: &X,
    act: &A,
    z: &mut Batch<T, OUT>,
    h: &mut Batch<T, OUT>,
) where
    T: Scalar,
    A: Activation<T>,
    X: Samples<T, IN> + ?Sized,
{
    let samples = x.samples();
    z.resize(samples);
    h.resize(samples);
    let bias = b.map(|b| &b[..]);
    let (zp, hp) = (z.as_mut_slice().as_mut_ptr(), h.as_mut_slice().as_mut_ptr());
    let (zs, hs) = (Shared::new(zp), Shared::new(hp));
    // SAFETY: Z and H are distinct OUT×B buffers (resized above); each block the product
    // finishes lies inside them, and the bias has OUT entries.
    unsafe {
        product(w, x, zp, |i0, mr, j0, nr| {
            pass::bias_act_block(act, bias, zs.get(), hs.get(), samples, (i0, mr, j0, nr));
        });
    }
}

/// One layer of a batch for inference: `H = σ(W X + b 1ᵀ)`, without keeping `Z`.
pub fn dense<T, A, X, const IN: usize, const OUT: usize>(
    w: &[[T; IN]; OUT],
    b: Option<&[T; OUT]>,
    x: &X,
    act: &A,
    h: &mut Batch<T, OUT>,
) where
    T: Scalar,
    A: Activation<T>,
    X: Samples<T, IN> + ?Sized,
{
    let samples = x.samples();
    h.resize(samples);
    let bias = b.map(|b| &b[..]);
    let hp = h.as_mut_slice().as_mut_ptr();
    let hs = Shared::new(hp);
    // SAFETY: H is an OUT×B buffer (resized above), distinct from W and X; each block lies
    // inside it, and the bias has OUT entries.
    unsafe {
        product(w, x, hp, |i0, mr, j0, nr| {
            pass::bias_act_in_place_block(act, bias, hs.get(), samples, (i0, mr, j0, nr));
        });
    }
}

/// The output layer's `δ_L = σ'(Z_L) ⊙ ∂L/∂Y`, from `dl_dy` (`B × N`, rows = samples);
/// `inputs` is the number of samples whose inputs the cache holds.
///
/// Fails if the cache holds no forward values for a backward pass (its inputs and outputs
/// are of different batches, as after an inference-only forward call, or it holds no samples
/// and `dl_dy` has some), or if `dl_dy` is not `B × N` for the batch of the last forward
/// call.
pub fn delta_output<T: Scalar, A: Activation<T>, const N: usize>(
    act: &A,
    inputs: usize,
    z: &Batch<T, N>,
    h: &Batch<T, N>,
    dl_dy: ArrayView2<'_, T>,
    d: &mut Batch<T, N>,
) -> Result<(), BatchError> {
    let b = h.samples();
    // A cache of no samples given a gradient of some has surely missed its forward call.
    if inputs != b || z.samples() != b || b == 0 && dl_dy.nrows() > 0 {
        return Err(BatchError::NoForwardValues);
    }
    ShapeError::columns("output gradient", N, dl_dy.ncols())?;
    ShapeError::rows("output gradient", b, dl_dy.nrows())?;
    d.resize(b);
    let data = d.as_mut_slice();
    for (s, row) in dl_dy.rows().into_iter().enumerate() {
        for (i, &g) in row.iter().enumerate() {
            data[i * b + s] = g;
        }
    }
    pass::delta(act, z.as_slice(), h.as_slice(), d.as_mut_slice());
    Ok(())
}

/// `d *= factor`, every value of a batch (e.g. `δ_L` by `−lr` for a fused SGD step).
pub fn scale<T: Scalar, const N: usize>(d: &mut Batch<T, N>, factor: T) {
    crate::wide::wide(|| d.as_mut_slice().iter_mut().for_each(|v| *v *= factor));
}

/// `∂L/∂W += δ Xᵀ` over a batch when `accumulate` (`β = 1`), else `∂L/∂W = δ Xᵀ` (`β = 0`,
/// so that a step need not zero its gradients first): one product (δ: OUT×B, X: IN×B in
/// either layout). Generated code passes operands from one forward call.
pub fn weight_grad<T, X, const IN: usize, const OUT: usize>(
    d: &Batch<T, OUT>,
    x: &X,
    g: &mut [[T; IN]; OUT],
    accumulate: bool,
) where
    T: Scalar,
    X: Samples<T, IN> + ?Sized,
{
    let b = d.samples();
    // Internal invariant: the public forms check it, and generated code passes the values of
    // one forward call. It guards the unsafe product below, so it stays in release builds.
    assert_eq!(
        x.samples(),
        b,
        "the weight gradient's operands hold the same batch"
    );
    // SAFETY: δ is OUT×B row-major, Xᵀ addresses B·IN values by X's strides, G is OUT×IN
    // row-major, and G is a distinct buffer.
    unsafe {
        gemm(Product {
            m: OUT,
            n: IN,
            k: b,
            a: Mat {
                ptr: d.as_slice().as_ptr(),
                rs: b,
                cs: 1,
            },
            b: operand_t(x),
            c: g.as_flattened_mut().as_mut_ptr(),
            rsc: IN,
            accumulate,
        });
    }
}

/// `∂L/∂b += δ 1` when `accumulate`, else `∂L/∂b = δ 1`: each unit's sum over the batch.
pub fn bias_grad<T: Scalar, const N: usize>(d: &Batch<T, N>, g: &mut [T; N], accumulate: bool) {
    pass::row_sums(d.as_slice(), g, d.samples(), accumulate);
}

/// The previous layer's `δ_{l−1} = σ'(Z_{l−1}) ⊙ (W_lᵀ δ_l)`: one product, which multiplies
/// each finished block by `σ'`. Generated code passes operands from one forward call.
pub fn input_delta<T: Scalar, A: Activation<T>, const IN: usize, const OUT: usize>(
    w: &[[T; IN]; OUT],
    d: &Batch<T, OUT>,
    act: &A,
    z_prev: &Batch<T, IN>,
    h_prev: &Batch<T, IN>,
    d_prev: &mut Batch<T, IN>,
) {
    let b = d.samples();
    d_prev.resize(b);
    let identity = pass::delta_is_identity(act);
    // Z and H are only read; `Shared` carries them as it carries δ's output pointer.
    let zs = Shared::new(z_prev.as_slice().as_ptr().cast_mut());
    let hs = Shared::new(h_prev.as_slice().as_ptr().cast_mut());
    let dp = d_prev.as_mut_slice().as_mut_ptr();
    let ds = Shared::new(dp);
    // Internal invariant: `input_delta` checks it, and generated code passes the values of
    // one forward call. It guards the unsafe product below, so it stays in release builds.
    assert!(
        z_prev.samples() == b && h_prev.samples() == b,
        "the previous layer's values hold the same batch"
    );
    // SAFETY: Wᵀ is IN×OUT with strides (1, IN) into W's OUT×IN values, δ is OUT×B
    // row-major, and δ_{l−1} is IN×B row-major in a distinct buffer; Z_{l−1} and H_{l−1} are
    // IN×B (checked above), so each finished block lies inside all three.
    unsafe {
        gemm_then(
            Product {
                m: IN,
                n: b,
                k: OUT,
                a: Mat {
                    ptr: w.as_flattened().as_ptr(),
                    rs: 1,
                    cs: IN,
                },
                b: Mat {
                    ptr: d.as_slice().as_ptr(),
                    rs: b,
                    cs: 1,
                },
                c: dp,
                rsc: b,
                accumulate: false,
            },
            |i0, mr, j0, nr| {
                if !identity {
                    pass::delta_block(act, zs.get(), hs.get(), ds.get(), b, (i0, mr, j0, nr));
                }
            },
        );
    }
}
