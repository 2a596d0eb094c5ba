//! Shape-typed kernels of the batched path, one call per product or pass, as generated code
//! calls them. `B` is the number of samples; every [`Batch`] is stored feature-major.

use super::gemm::{gemm, Mat};
use super::{pass, Batch, BatchError};
use crate::error::ShapeError;
use crate::{Activation, Scalar};
use alloc::vec::Vec;
use ndarray::ArrayView2;

/// Loads a batch's inputs: `x` is `B × N` (rows = samples, any strides), or the rows `rows`
/// of it. Fills `h` (feature-major, for the forward product) and `rows_out` (sample-major, for
/// the first layer's weight gradient).
///
/// Fails if `x` does not have `N` columns or a row index is out of range.
pub fn load<T: Scalar, const N: usize>(
    x: ArrayView2<'_, T>,
    rows: Option<&[usize]>,
    h: &mut Batch<T, N>,
    rows_out: &mut Vec<[T; N]>,
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
    rows_out.resize(b, [T::ZERO; N]);
    for (s, out) in rows_out.iter_mut().enumerate() {
        let row = x.row(rows.map_or(s, |r| r[s]));
        match row.as_slice() {
            Some(src) => out.copy_from_slice(src),
            None => out.iter_mut().zip(row).for_each(|(o, &v)| *o = v),
        }
    }
    h.resize(b);
    transpose_rows(rows_out, h);
    Ok(())
}

/// Writes sample-major rows into a feature-major batch of the same size.
fn transpose_rows<T: Scalar, const N: usize>(rows: &[[T; N]], h: &mut Batch<T, N>) {
    let b = rows.len();
    let data = h.as_mut_slice();
    // Blocks of 16 samples: 16 source rows stay in cache while each unit's 16 values are
    // written contiguously.
    for (blk, chunk) in rows.chunks(16).enumerate() {
        let s0 = blk * 16;
        for i in 0..N {
            let dst = &mut data[i * b + s0..i * b + s0 + chunk.len()];
            for (d, r) in dst.iter_mut().zip(chunk) {
                *d = r[i];
            }
        }
    }
}

/// Copies a feature-major batch into sample-major rows (for a weight gradient's product).
pub fn to_rows<T: Scalar, const N: usize>(h: &Batch<T, N>, rows: &mut Vec<[T; N]>) {
    let b = h.samples();
    rows.resize(b, [T::ZERO; N]);
    let data = h.as_slice();
    for (blk, chunk) in rows.chunks_mut(16).enumerate() {
        let s0 = blk * 16;
        for i in 0..N {
            let src = &data[i * b + s0..i * b + s0 + chunk.len()];
            for (r, &v) in chunk.iter_mut().zip(src) {
                r[i] = v;
            }
        }
    }
}

/// `Z = W X` for a batch: W: OUT×IN, X: IN×B, Z: OUT×B (one product).
fn product<T: Scalar, const IN: usize, const OUT: usize>(
    w: &[[T; IN]; OUT],
    x: &Batch<T, IN>,
    z: &mut [T],
) {
    let b = x.samples();
    assert_eq!(z.len(), OUT * b, "a batch's output has OUT·B values");
    // SAFETY: W is OUT×IN row-major (rs = IN), X is IN×B row-major, Z is OUT×B row-major;
    // all three are exactly that size, and Z is a distinct buffer.
    unsafe {
        gemm(
            OUT,
            b,
            IN,
            Mat {
                ptr: w.as_flattened().as_ptr(),
                rs: IN,
                cs: 1,
            },
            x.as_slice().as_ptr(),
            b,
            z.as_mut_ptr(),
            b,
            false,
        );
    }
}

/// One layer of a batch, keeping what backward needs: `Z = W X + b 1ᵀ`, `H = σ(Z)`
/// (W: OUT×IN, X: IN×B); the bias and the activation are one pass over `Z`.
pub fn dense_cached<T: Scalar, A: Activation<T>, const IN: usize, const OUT: usize>(
    w: &[[T; IN]; OUT],
    b: Option<&[T; OUT]>,
    x: &Batch<T, IN>,
    act: &A,
    z: &mut Batch<T, OUT>,
    h: &mut Batch<T, OUT>,
) {
    let samples = x.samples();
    z.resize(samples);
    h.resize(samples);
    product(w, x, z.as_mut_slice());
    pass::bias_act(
        act,
        b.map(|b| &b[..]),
        z.as_mut_slice(),
        h.as_mut_slice(),
        samples,
    );
}

/// One layer of a batch for inference: `H = σ(W X + b 1ᵀ)`, without keeping `Z`.
pub fn dense<T: Scalar, A: Activation<T>, const IN: usize, const OUT: usize>(
    w: &[[T; IN]; OUT],
    b: Option<&[T; OUT]>,
    x: &Batch<T, IN>,
    act: &A,
    h: &mut Batch<T, OUT>,
) {
    let samples = x.samples();
    h.resize(samples);
    product(w, x, h.as_mut_slice());
    pass::bias_act_in_place(act, b.map(|b| &b[..]), h.as_mut_slice(), samples);
}

/// The output layer's `δ_L = σ'(Z_L) ⊙ ∂L/∂Y`, from `dl_dy` (`B × N`, rows = samples).
///
/// Fails if `dl_dy` is not `B × N` for the batch of the last forward call.
pub fn delta_output<T: Scalar, A: Activation<T>, const N: usize>(
    act: &A,
    z: &Batch<T, N>,
    h: &Batch<T, N>,
    dl_dy: ArrayView2<'_, T>,
    d: &mut Batch<T, N>,
) -> Result<(), BatchError> {
    let b = h.samples();
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

/// `∂L/∂W += δ Xᵀ` over a batch (δ: OUT×B, X given as B sample-major rows): one product,
/// accumulating (`β = 1`).
pub fn weight_grad<T: Scalar, const IN: usize, const OUT: usize>(
    d: &Batch<T, OUT>,
    x_rows: &[[T; IN]],
    g: &mut [[T; IN]; OUT],
) {
    let b = d.samples();
    assert_eq!(
        x_rows.len(),
        b,
        "the weight gradient's operands hold the same batch"
    );
    // SAFETY: δ is OUT×B row-major, X is B×IN row-major, G is OUT×IN row-major, and G is a
    // distinct buffer.
    unsafe {
        gemm(
            OUT,
            IN,
            b,
            Mat {
                ptr: d.as_slice().as_ptr(),
                rs: b,
                cs: 1,
            },
            x_rows.as_flattened().as_ptr(),
            IN,
            g.as_flattened_mut().as_mut_ptr(),
            IN,
            true,
        );
    }
}

/// `∂L/∂b += δ 1`: each unit's sum over the batch.
pub fn bias_grad<T: Scalar, const N: usize>(d: &Batch<T, N>, g: &mut [T; N]) {
    pass::row_sums_acc(d.as_slice(), g, d.samples());
}

/// The previous layer's `δ_{l−1} = σ'(Z_{l−1}) ⊙ (W_lᵀ δ_l)`: one product, then one pass.
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
    // SAFETY: Wᵀ is IN×OUT with strides (1, IN) into W's OUT×IN values, δ is OUT×B
    // row-major, and δ_{l−1} is IN×B row-major in a distinct buffer.
    unsafe {
        gemm(
            IN,
            b,
            OUT,
            Mat {
                ptr: w.as_flattened().as_ptr(),
                rs: 1,
                cs: IN,
            },
            d.as_slice().as_ptr(),
            b,
            d_prev.as_mut_slice().as_mut_ptr(),
            b,
            false,
        );
    }
    pass::delta(
        act,
        z_prev.as_slice(),
        h_prev.as_slice(),
        d_prev.as_mut_slice(),
    );
}
