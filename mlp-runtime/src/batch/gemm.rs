//! The matrix product of the batched path, `C (+)= A B`, written for our shapes and without a
//! heap buffer, so that it never allocates.
//!
//! The left operand `A` (a weight matrix, its transpose, or `δ`) is read in place, one scalar
//! at a time, and broadcast, so it needs no layout. The right operand `B` is copied panel by
//! panel (`KC × NR`) into a buffer on the stack, transposed there if its rows are not
//! contiguous; the panel then sits in L1 while every row block of `A` streams past it. The
//! micro-kernel keeps an `MR × NR` block of `C` in registers over the panel's depth.
//!
//! On x86-64 with AVX-512 (detected at run time) the micro-kernel is 6 × 64 or 12 × 32
//! (`f32`; half as wide in `f64`) with fused multiply-adds; elsewhere a portable 4 × 16 kernel
//! that the compiler vectorises. With the `blas` feature, a system CBLAS takes the products
//! instead.

use crate::Scalar;

/// The depth of one pass of the micro-kernel over `k`.
pub(crate) const KC: usize = 128;

/// A strided matrix operand: element `(i, j)` is at `ptr + i·rs + j·cs`.
#[derive(Clone, Copy)]
pub(crate) struct Mat<T> {
    pub ptr: *const T,
    pub rs: usize,
    pub cs: usize,
}

// SAFETY: a `Mat` is a read-only view of `T`s, as `&[T]` is; who makes one promises the
// elements stay valid and unwritten while it is used (see `gemm`).
unsafe impl<T: Sync> Send for Mat<T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for Mat<T> {}

/// A pointer into a product's output, shared by the blocks (and the threads) that write
/// disjoint parts of it.
#[derive(Clone, Copy)]
pub(crate) struct Shared<T>(*mut T);

// SAFETY: the writers through a `Shared` pointer write disjoint elements (each block of the
// product is written by one call), so sharing it is as sharing `&mut` to disjoint parts.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// Wraps `ptr`.
    pub(crate) fn new(ptr: *mut T) -> Self {
        Shared(ptr)
    }

    /// The pointer (a method, so that a closure captures the whole `Shared`, not the field).
    #[inline(always)]
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}

impl<T> Mat<T> {
    /// The same operand from row `r` on.
    ///
    /// # Safety
    /// Row `r` is within the operand (or one past its last row).
    #[cfg(feature = "parallel")]
    #[inline(always)]
    pub(crate) unsafe fn skip_rows(self, r: usize) -> Self {
        Mat {
            ptr: self.ptr.add(r * self.rs),
            ..self
        }
    }

    /// The same operand, its elements seen as `U` (same size).
    #[inline(always)]
    pub(crate) fn cast<U>(self) -> Mat<U> {
        Mat {
            ptr: self.ptr.cast(),
            rs: self.rs,
            cs: self.cs,
        }
    }
}

/// Computes `C = A B` (or `C += A B` when `accumulate`), A: m×k and B: k×n with any strides
/// (fastest when B's rows are contiguous, `b.cs == 1`), C: m×n with contiguous rows of stride
/// `rsc`.
///
/// # Safety
/// Every element addressed by the shapes and strides must be in bounds, and `c` must not
/// overlap `a` or `b`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm<T: Scalar>(
    m: usize,
    n: usize,
    k: usize,
    a: Mat<T>,
    b: Mat<T>,
    c: *mut T,
    rsc: usize,
    accumulate: bool,
) {
    gemm_then(m, n, k, a, b, c, rsc, accumulate, |_, _, _, _| {});
}

/// As [`gemm`], then `epilogue(i0, mr, j0, nr)` on each finished block of `C` (rows
/// `i0..i0 + mr`, columns `j0..j0 + nr`) while it is still in cache: an element-wise pass
/// fused into the product. The blocks cover `C` once.
///
/// With the `parallel` feature, a large product's rows are split across rayon's threads
/// (each element is computed as on one thread, so the result is the same bit for bit).
///
/// # Safety
/// As [`gemm`]; the epilogue may read and write the block it is given, and nothing else of `C`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_then<T: Scalar>(
    m: usize,
    n: usize,
    k: usize,
    a: Mat<T>,
    b: Mat<T>,
    c: *mut T,
    rsc: usize,
    accumulate: bool,
    epilogue: impl Fn(usize, usize, usize, usize) + Sync,
) {
    #[cfg(feature = "parallel")]
    {
        let parts = super::parallel::parts(m, n, k);
        if parts > 1 {
            let c = Shared::new(c);
            return super::parallel::split(parts, 0, m, &|row0, rows| {
                // SAFETY: rows `row0..row0 + rows` of A and C are in bounds (the caller's
                // promise for all `m`), and the pieces' rows of C are disjoint.
                unsafe {
                    gemm_rows(
                        rows,
                        n,
                        k,
                        a.skip_rows(row0),
                        b,
                        c.get().add(row0 * rsc),
                        rsc,
                        accumulate,
                        |i0, mr, j0, nr| epilogue(row0 + i0, mr, j0, nr),
                    );
                }
            });
        }
    }
    gemm_rows(m, n, k, a, b, c, rsc, accumulate, epilogue);
}

/// [`gemm_then`] on one thread.
///
/// # Safety
/// As [`gemm_then`].
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_rows<T: Scalar>(
    m: usize,
    n: usize,
    k: usize,
    a: Mat<T>,
    b: Mat<T>,
    c: *mut T,
    rsc: usize,
    accumulate: bool,
    mut epilogue: impl FnMut(usize, usize, usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                core::slice::from_raw_parts_mut(c.add(i * rsc), n).fill(T::ZERO);
            }
        }
        epilogue(0, m, 0, n);
        return;
    }
    #[cfg(feature = "blas")]
    if super::blas::gemm(m, n, k, a, b, c, rsc, accumulate) {
        epilogue(0, m, 0, n);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if avx512_detected() {
            if core::mem::size_of::<T>() == 4 {
                return super::avx512::gemm_f32(
                    m,
                    n,
                    k,
                    a.cast(),
                    b.cast(),
                    c.cast(),
                    rsc,
                    accumulate,
                    epilogue,
                );
            } else {
                return super::avx512::gemm_f64(
                    m,
                    n,
                    k,
                    a.cast(),
                    b.cast(),
                    c.cast(),
                    rsc,
                    accumulate,
                    epilogue,
                );
            }
        }
    }
    gemm_portable(m, n, k, a, b, c, rsc, accumulate, epilogue);
}

/// Whether this CPU runs AVX-512F, detected once.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn avx512_detected() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// The loop nest shared by the kernels: chunks of `KC` over `k`; then `NR`-wide column
/// panels of `B`, each copied into `pack` (`KC × NR`, rows of stride `NR`) so that the panel
/// sits in L1 without cache-set conflicts whatever `B`'s strides (a transposed `B` is
/// transposed here, once per panel); then `MR`-tall row blocks,
/// calling `kernel(kc, a, b, rsb, c, rsc, mr, nr, accumulate)` on the packed panel, and
/// `epilogue(i0, mr, j0, nr)` on each block after its last chunk.
///
/// # Safety
/// As [`gemm`], and `pack` must be valid for `KC · NR` writes.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn blocked<T: Scalar, const MR: usize, const NR: usize>(
    m: usize,
    n: usize,
    k: usize,
    a: Mat<T>,
    b: Mat<T>,
    c: *mut T,
    rsc: usize,
    accumulate: bool,
    pack: *mut T,
    mut pack_columns: impl FnMut(*const T, Mat<T>, usize, usize, *mut T),
    mut kernel: impl FnMut(usize, Mat<T>, *const T, usize, *mut T, usize, usize, usize, bool),
    mut epilogue: impl FnMut(usize, usize, usize, usize),
) {
    // Chunks of equal depth (at most `KC`), so that no pass is a short tail: 784 is 7 × 112
    // rather than 6 × 128 + 16.
    let depth = k.div_ceil(k.div_ceil(KC));
    let mut k0 = 0;
    while k0 < k {
        let kc = depth.min(k - k0);
        let acc = accumulate || k0 > 0;
        let last = k0 + kc == k;
        let mut j0 = 0;
        while j0 < n {
            let nr = NR.min(n - j0);
            let src = b.ptr.add(k0 * b.rs + j0 * b.cs);
            if b.cs == 1 {
                for kk in 0..kc {
                    core::ptr::copy_nonoverlapping(src.add(kk * b.rs), pack.add(kk * NR), nr);
                }
            } else {
                pack_columns(src, b, kc, nr, pack);
            }
            let mut i0 = 0;
            while i0 < m {
                let mr = MR.min(m - i0);
                let a_blk = Mat {
                    ptr: a.ptr.add(i0 * a.rs + k0 * a.cs),
                    rs: a.rs,
                    cs: a.cs,
                };
                kernel(kc, a_blk, pack, NR, c.add(i0 * rsc + j0), rsc, mr, nr, acc);
                if last {
                    epilogue(i0, mr, j0, nr);
                }
                i0 += MR;
            }
            j0 += NR;
        }
        k0 += kc;
    }
}

/// Packs a `kc × nr` panel of a `B` whose rows are not contiguous into rows of stride `NR`:
/// reads along k (contiguous when B is a transposed row-major array), writes columns.
///
/// # Safety
/// `src` addresses `kc × nr` values with `b`'s strides; `pack` holds `kc · NR` values.
#[inline(always)]
pub(crate) unsafe fn pack_columns<T: Scalar, const NR: usize>(
    src: *const T,
    b: Mat<T>,
    kc: usize,
    nr: usize,
    pack: *mut T,
) {
    for jj in 0..nr {
        let col = src.add(jj * b.cs);
        for kk in 0..kc {
            *pack.add(kk * NR + jj) = *col.add(kk * b.rs);
        }
    }
}

/// Uninitialised room for one packed panel of `B`, on the stack, aligned to a cache line: each
/// row of the panel then starts a line, and no vector load of it straddles two (the stack's
/// own alignment varies from run to run, and with it, unaligned, the product's speed).
#[repr(C, align(64))]
pub(crate) struct Pack<T, const LEN: usize>(core::mem::MaybeUninit<[T; LEN]>);

impl<T, const LEN: usize> Pack<T, LEN> {
    /// Room for `LEN` values.
    #[inline(always)]
    pub(crate) fn new() -> Self {
        Pack(core::mem::MaybeUninit::uninit())
    }

    /// Where the panel goes.
    #[inline(always)]
    pub(crate) fn ptr(&mut self) -> *mut T {
        self.0.as_mut_ptr().cast()
    }
}

/// The portable kernel: a 4 × 16 block of `C` in an array the compiler keeps in registers.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_portable<T: Scalar>(
    m: usize,
    n: usize,
    k: usize,
    a: Mat<T>,
    b: Mat<T>,
    c: *mut T,
    rsc: usize,
    accumulate: bool,
    epilogue: impl FnMut(usize, usize, usize, usize),
) {
    const MR: usize = 4;
    const NR: usize = 16;
    let mut pack = Pack::<T, { KC * NR }>::new();
    blocked::<T, MR, NR>(
        m,
        n,
        k,
        a,
        b,
        c,
        rsc,
        accumulate,
        pack.ptr(),
        |src, b, kc, nr, pack| pack_columns::<T, NR>(src, b, kc, nr, pack),
        |kc, a, b, rsb, c, rsc, mr, nr, acc| {
            let mut blk = [[T::ZERO; NR]; MR];
            if nr == NR && mr == MR {
                for kk in 0..kc {
                    let brow = &*b.add(kk * rsb).cast::<[T; NR]>();
                    for (r, row) in blk.iter_mut().enumerate() {
                        let av = *a.ptr.add(r * a.rs + kk * a.cs);
                        for (x, &bv) in row.iter_mut().zip(brow) {
                            *x += av * bv;
                        }
                    }
                }
            } else {
                for kk in 0..kc {
                    for (r, row) in blk.iter_mut().enumerate().take(mr) {
                        let av = *a.ptr.add(r * a.rs + kk * a.cs);
                        for (j, x) in row.iter_mut().enumerate().take(nr) {
                            *x += av * *b.add(kk * rsb + j);
                        }
                    }
                }
            }
            for (r, row) in blk.iter().enumerate().take(mr) {
                let out = core::slice::from_raw_parts_mut(c.add(r * rsc), nr);
                for (o, &x) in out.iter_mut().zip(row) {
                    *o = if acc { *o + x } else { x };
                }
            }
        },
        epilogue,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `C (+)= A B` by the definition, in f64, with B's element `(p, j)` at `p·rsb + j·csb`.
    #[allow(clippy::too_many_arguments)]
    fn naive(
        (m, n, k): (usize, usize, usize),
        a: &[f64],
        (rsa, csa): (usize, usize),
        b: &[f64],
        (rsb, csb): (usize, usize),
        c: &mut [f64],
        acc: bool,
    ) {
        for i in 0..m {
            for j in 0..n {
                let s: f64 = (0..k)
                    .map(|p| a[i * rsa + p * csa] * b[p * rsb + j * csb])
                    .sum();
                c[i * n + j] = if acc { c[i * n + j] + s } else { s };
            }
        }
    }

    /// Every kernel (portable and, where the CPU has it, AVX-512), both layouts of `A` and of
    /// `B`, overwrite and accumulate, on shapes that hit every tail of the blocking.
    #[test]
    fn kernels_match_the_definition() {
        let mut seed = 1u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((seed >> 40) as f64 / (1u64 << 24) as f64) - 0.5
        };
        let shapes = [
            (1, 1, 1),
            (5, 17, 3),
            (13, 33, 129),
            (12, 64, 256),
            (7, 100, 300),
            (30, 65, 7),
            (20, 70, 50),
            (3, 16, 16),
        ];
        for (m, n, k) in shapes {
            let a: Vec<f64> = (0..m * k).map(|_| next()).collect();
            let b: Vec<f64> = (0..k * n).map(|_| next()).collect();
            let c0: Vec<f64> = (0..m * n).map(|_| next()).collect();
            let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
            let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
            for (sa, sb, acc) in [
                ((k, 1), (n, 1), false),
                ((1, m), (n, 1), true),
                ((k, 1), (1, k), true),
                ((1, m), (1, k), false),
            ] {
                let mut want = c0.clone();
                naive((m, n, k), &a, sa, &b, sb, &mut want, acc);
                let mat = |p: *const f64, (rs, cs): (usize, usize)| Mat { ptr: p, rs, cs };
                let check = |got: &[f64], what: &str| {
                    for (g, w) in got.iter().zip(&want) {
                        let ok = (g - w).abs() <= 1e-12 * (1.0 + w.abs());
                        assert!(ok, "{what} {m}×{n}×{k}: {g} != {w}");
                    }
                };
                let (am, bm) = (mat(a.as_ptr(), sa), mat(b.as_ptr(), sb));
                let mut got = c0.clone();
                // SAFETY: the operands hold m·k, k·n and m·n values in the given layouts.
                unsafe {
                    gemm_portable(m, n, k, am, bm, got.as_mut_ptr(), n, acc, |_, _, _, _| {})
                };
                check(&got, "portable");
                let mut got = c0.clone();
                // SAFETY: as above.
                unsafe { gemm(m, n, k, am, bm, got.as_mut_ptr(), n, acc) };
                check(&got, "dispatched");
                let mut got32: Vec<f32> = c0.iter().map(|&v| v as f32).collect();
                let (am, bm) = (
                    Mat {
                        ptr: a32.as_ptr(),
                        rs: sa.0,
                        cs: sa.1,
                    },
                    Mat {
                        ptr: b32.as_ptr(),
                        rs: sb.0,
                        cs: sb.1,
                    },
                );
                // SAFETY: as above.
                unsafe { gemm(m, n, k, am, bm, got32.as_mut_ptr(), n, acc) };
                for (g, w) in got32.iter().zip(&want) {
                    let tol = 1e-5 * (1.0 + w.abs()) * (k as f64).sqrt();
                    assert!((f64::from(*g) - w).abs() <= tol, "f32 {m}×{n}×{k}");
                }
            }
        }
    }

    /// With the `parallel` feature: a product large enough to be split gives the same bits
    /// in pools of 1, 2 and 3 threads (and from outside a pool), and its epilogue sees every
    /// block of `C` once, with rows counted from the top of `C`.
    #[cfg(feature = "parallel")]
    #[test]
    fn split_products_match_one_thread_bit_for_bit() {
        use std::sync::Mutex;
        let (m, n, k) = (301, 70, 1200);
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 7) % 13) as f32 / 13.0 - 0.5)
            .collect();
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i * 5) % 11) as f32 / 11.0 - 0.5)
            .collect();
        let pool = |t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
        };
        let run = |threads: Option<usize>| {
            let mut c = vec![0.0f32; m * n];
            let out = Shared::new(c.as_mut_ptr());
            let seen = Mutex::new(vec![0u8; m * n]);
            let go = || {
                let (am, bm) = (
                    Mat {
                        ptr: a.as_ptr(),
                        rs: k,
                        cs: 1,
                    },
                    Mat {
                        ptr: b.as_ptr(),
                        rs: 1,
                        cs: k,
                    },
                );
                // SAFETY: A is m×k, B (transposed) k×n and C m×n, all in bounds.
                unsafe {
                    gemm_then(m, n, k, am, bm, out.get(), n, false, |i0, mr, j0, nr| {
                        let mut seen = seen.lock().unwrap();
                        for i in i0..i0 + mr {
                            for j in j0..j0 + nr {
                                seen[i * n + j] += 1;
                            }
                        }
                    });
                }
            };
            match threads {
                Some(t) => pool(t).install(go),
                None => go(),
            }
            assert!(
                seen.into_inner().unwrap().iter().all(|&s| s == 1),
                "{threads:?}"
            );
            c
        };
        assert_eq!(
            pool(2).install(|| super::super::parallel::parts(m, n, k)),
            2
        );
        assert_eq!(
            pool(3).install(|| super::super::parallel::parts(m, n, k)),
            3
        );
        assert_eq!(
            pool(1).install(|| super::super::parallel::parts(m, n, k)),
            1
        );
        let one = run(Some(1));
        for threads in [Some(2), Some(3), None] {
            assert!(one == run(threads), "{threads:?} threads differ from one");
        }
        let c00: f64 = (0..k).map(|p| f64::from(a[p]) * f64::from(b[p])).sum();
        assert!((f64::from(one[0]) - c00).abs() < 1e-4);
    }
}
