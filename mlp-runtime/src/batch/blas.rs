//! With the `blas` feature, the batched path's products go to a system CBLAS (`cblas_sgemm`,
//! `cblas_dgemm`: OpenBLAS, MKL, BLIS, Accelerate, ...). The feature only declares the two
//! functions; the library is linked by the final crate, e.g. with `RUSTFLAGS="-l openblas"`
//! or a dependency such as `blas-src`.

use super::blocking::Product;
use crate::scalar::sealed::Kind;
use crate::Scalar;

const ROW_MAJOR: i32 = 101;
const NO_TRANS: i32 = 111;
const TRANS: i32 = 112;

extern "C" {
    fn cblas_sgemm(
        order: i32,
        ta: i32,
        tb: i32,
        m: i32,
        n: i32,
        k: i32,
        alpha: f32,
        a: *const f32,
        lda: i32,
        b: *const f32,
        ldb: i32,
        beta: f32,
        c: *mut f32,
        ldc: i32,
    );
    fn cblas_dgemm(
        order: i32,
        ta: i32,
        tb: i32,
        m: i32,
        n: i32,
        k: i32,
        alpha: f64,
        a: *const f64,
        lda: i32,
        b: *const f64,
        ldb: i32,
        beta: f64,
        c: *mut f64,
        ldc: i32,
    );
}

/// `C (+)= A B` through CBLAS, if `A` and `B` are each row- or column-major and every size fits an `i32`;
/// returns `false` (doing nothing) otherwise, so that the caller uses its own kernel.
///
/// # Safety
/// As [`super::gemm::gemm`].
pub(crate) unsafe fn gemm<T: Scalar>(p: Product<T>) -> bool {
    let Product {
        m,
        n,
        k,
        a,
        b,
        c,
        rsc,
        accumulate,
    } = p;
    let (ta, lda) = if a.cs == 1 && a.rs >= k.max(1) {
        (NO_TRANS, a.rs)
    } else if a.rs == 1 && a.cs >= m.max(1) {
        (TRANS, a.cs)
    } else {
        return false;
    };
    let (tb, ldb) = if b.cs == 1 && b.rs >= n.max(1) {
        (NO_TRANS, b.rs)
    } else if b.rs == 1 && b.cs >= k.max(1) {
        (TRANS, b.cs)
    } else {
        return false;
    };
    let fits = |v: usize| i32::try_from(v).ok();
    let (Some(m), Some(n), Some(k), Some(lda), Some(ldb), Some(ldc)) = (
        fits(m),
        fits(n),
        fits(k),
        fits(lda),
        fits(ldb),
        fits(rsc.max(n.max(1))),
    ) else {
        return false;
    };
    let beta = if accumulate { 1.0 } else { 0.0 };
    match T::KIND {
        // SAFETY: the operands are in bounds with the layouts and leading dimensions checked
        // above (the caller's promise), C overlaps neither, and `T::KIND` says `T` is `f32`.
        Kind::F32 => unsafe {
            cblas_sgemm(
                ROW_MAJOR,
                ta,
                tb,
                m,
                n,
                k,
                1.0,
                a.ptr.cast(),
                lda,
                b.ptr.cast(),
                ldb,
                beta as f32,
                c.cast(),
                ldc,
            );
        },
        // SAFETY: as above, and `T` is `f64`.
        Kind::F64 => unsafe {
            cblas_dgemm(
                ROW_MAJOR,
                ta,
                tb,
                m,
                n,
                k,
                1.0,
                a.ptr.cast(),
                lda,
                b.ptr.cast(),
                ldb,
                beta,
                c.cast(),
                ldc,
            );
        },
    }
    true
}
