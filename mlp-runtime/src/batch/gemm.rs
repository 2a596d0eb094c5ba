//! The matrix product of the batched path, `C (+)= A B`, written for our shapes and without a
//! heap buffer, so that it never allocates: the front that picks a kernel.
//!
//! On x86-64 with AVX-512 (detected at run time) the micro-kernel is 6 × 64 or 12 × 32
//! (`f32`; half as wide in `f64`) with fused multiply-adds; elsewhere a portable 4 × 16 kernel
//! that the compiler vectorises. With the `blas` feature, a system CBLAS takes the products
//! instead. The blocking they share is in [`super::blocking`]; products with a side of one or
//! two take the loops of [`super::thin`], and long sums into a small output whose operands
//! both run along the sum (weight gradients over a large batch), with AVX-512, a dot-product
//! kernel ([`super::dots`]).

#[cfg(test)]
use super::blocking::Mat;
#[cfg(feature = "parallel")]
use super::blocking::Shared;
use super::blocking::{gemm_portable, Product};
#[cfg(any(target_arch = "x86_64", feature = "blas"))]
use crate::scalar::sealed::Kind;
use crate::Scalar;

/// Computes the product `p`: `C = A B`, or `C += A B` when `p.accumulate`.
///
/// # Safety
/// `p` keeps [`Product`]'s promise: every element addressed by the shapes and strides is in
/// bounds, and `c` overlaps neither `a` nor `b`.
pub(crate) unsafe fn gemm<T: Scalar>(p: Product<T>) {
    // SAFETY: the caller's promise, and the epilogue touches nothing.
    unsafe { gemm_then(p, |_, _, _, _| {}) };
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
pub(crate) unsafe fn gemm_then<T: Scalar>(
    p: Product<T>,
    epilogue: impl Fn(usize, usize, usize, usize) + Sync,
) {
    #[cfg(feature = "parallel")]
    {
        use super::parallel::{plan, split, Cut, COLUMNS, ROWS};
        let (parts, cut) = plan(p.m, p.n, p.k);
        if parts > 1 && !cutting_changes_path(&p, parts, cut) {
            let c = Shared::new(p.c);
            let (len, quantum) = match cut {
                Cut::Rows => (p.m, ROWS),
                Cut::Columns => (p.n, COLUMNS),
            };
            split(parts, 0, len, quantum, &|start, len| {
                // SAFETY: rows (or columns) `start..start + len` of A (or B) and C are in
                // bounds (the caller's promise for all `m` and `n`), and the pieces of C are
                // disjoint.
                unsafe {
                    let (piece, rows, columns) = match cut {
                        Cut::Rows => (
                            Product {
                                m: len,
                                a: p.a.skip_rows(start),
                                c: c.get().add(start * p.rsc),
                                ..p
                            },
                            start,
                            0,
                        ),
                        Cut::Columns => (
                            Product {
                                n: len,
                                b: p.b.skip_columns(start),
                                c: c.get().add(start),
                                ..p
                            },
                            0,
                            start,
                        ),
                    };
                    gemm_rows(piece, |i0, mr, j0, nr| {
                        epilogue(rows + i0, mr, columns + j0, nr)
                    });
                }
            });
            return;
        }
    }
    // SAFETY: the caller's promise.
    unsafe { gemm_rows(p, epilogue) };
}

/// [`gemm_then`] on one thread.
///
/// # Safety
/// As [`gemm_then`].
unsafe fn gemm_rows<T: Scalar>(
    p: Product<T>,
    mut epilogue: impl FnMut(usize, usize, usize, usize),
) {
    let Product { m, n, k, .. } = p;
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !p.accumulate {
            for i in 0..m {
                // SAFETY: row `i < m` of C has `n` elements at stride `rsc` (the caller's
                // promise), and C is borrowed by no one else.
                unsafe { core::slice::from_raw_parts_mut(p.c.add(i * p.rsc), n).fill(T::ZERO) };
            }
        }
        epilogue(0, m, 0, n);
        return;
    }
    #[cfg(feature = "blas")]
    // SAFETY: the caller's promise.
    if unsafe { super::blas::gemm(p) } {
        epilogue(0, m, 0, n);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if avx512_detected() && dots_suit(&p) {
        // SAFETY: the caller's promise, with A's rows and B's columns contiguous along k; the
        // CPU runs AVX-512F; `T::KIND` says which type `T` is.
        unsafe {
            match T::KIND {
                Kind::F32 => super::dots::dots_f32(&p.cast()),
                Kind::F64 => super::dots::dots_f64(&p.cast()),
            }
        }
        epilogue(0, m, 0, n);
        return;
    }
    // SAFETY: the caller's promise.
    if unsafe { super::thin::gemm(&p) } {
        epilogue(0, m, 0, n);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if avx512_detected() {
        // SAFETY: the caller's promise; the CPU runs AVX-512F; `T::KIND` says which type `T`
        // is, so each cast sees the same values as the type they are.
        unsafe {
            match T::KIND {
                Kind::F32 => super::avx512::gemm_f32(p.cast(), epilogue),
                Kind::F64 => super::avx512::gemm_f64(p.cast(), epilogue),
            }
        }
        return;
    }
    // SAFETY: the caller's promise.
    unsafe { gemm_portable(p, epilogue) };
}

/// Whether `p` takes the AVX-512 dot-product kernel: both operands contiguous along the sum,
/// a long sum and a small output (a weight gradient `Z̄ Hᵀ` of narrow layers over a large
/// batch), where transposing B into the packed kernel's panels costs more than adding each
/// output's lanes at the end. It takes 4 × 4 blocks of the output, so it wants 4 rows or
/// more (a single row goes to the thin loops) and 2 columns or more.
#[cfg(target_arch = "x86_64")]
fn dots_suit<T>(p: &Product<T>) -> bool {
    let small = (4..=64).contains(&p.m) && (2..=64).contains(&p.n);
    p.a.cs == 1 && p.b.rs == 1 && p.k >= 512 && small
}

/// Whether cutting `p` along `cut` into `parts` pieces would make a piece take another path
/// than the whole (the dot-product kernel, which adds in another order, wants at most 64 rows
/// and columns): such a product stays whole, so that it gives the same bits on any number of
/// threads.
#[cfg(feature = "parallel")]
fn cutting_changes_path<T: Scalar>(
    p: &Product<T>,
    parts: usize,
    cut: super::parallel::Cut,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use super::parallel::{pieces, Cut, COLUMNS, ROWS};
        let whole = dots_suit(p);
        let mut changes = false;
        match cut {
            Cut::Rows => pieces(parts, p.m, ROWS, &mut |m| {
                changes |= dots_suit(&Product { m, ..*p }) != whole;
            }),
            Cut::Columns => pieces(parts, p.n, COLUMNS, &mut |n| {
                changes |= dots_suit(&Product { n, ..*p }) != whole;
            }),
        }
        changes
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (p, parts, cut);
        false
    }
}

/// Whether this CPU runs AVX-512F, detected once.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn avx512_detected() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "parallel")]
    use crate::batch::blocking::Shared;

    /// The product of `a` and `b` into `c` (rows of stride `n`).
    fn product<T>(
        (m, n, k): (usize, usize, usize),
        a: Mat<T>,
        b: Mat<T>,
        c: *mut T,
        accumulate: bool,
    ) -> Product<T> {
        Product {
            m,
            n,
            k,
            a,
            b,
            c,
            rsc: n,
            accumulate,
        }
    }

    /// `C (+)= A B` by the definition, in f64, with B's element `(p, j)` at `p·rsb + j·csb`.
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
            // Thin products: one or two rows of A or columns of B, or a depth of one or two.
            (1, 33, 1),
            (2, 70, 50),
            (30, 2, 70),
            (1, 32, 40),
            (20, 70, 2),
            // Long sums into a small output: the dot-product kernel, with ragged blocks and
            // a partial last vector.
            (5, 6, 600),
            (13, 9, 1030),
            (9, 2, 700),
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
                    gemm_portable(
                        product((m, n, k), am, bm, got.as_mut_ptr(), acc),
                        |_, _, _, _| {},
                    )
                };
                check(&got, "portable");
                let mut got = c0.clone();
                // SAFETY: as above.
                unsafe { gemm(product((m, n, k), am, bm, got.as_mut_ptr(), acc)) };
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
                unsafe { gemm(product((m, n, k), am, bm, got32.as_mut_ptr(), acc)) };
                for (g, w) in got32.iter().zip(&want) {
                    let tol = 1e-5 * (1.0 + w.abs()) * (k as f64).sqrt();
                    assert!((f64::from(*g) - w).abs() <= tol, "f32 {m}×{n}×{k}");
                }
            }
        }
    }

    /// With the `parallel` feature: a product large enough to be split gives the same bits
    /// in pools of 1, 2 and 3 threads (and from outside a pool), with B transposed or
    /// row-major (packed by the kernel's first row block), cut into rows (301 × 70) or
    /// columns (20 × 1000), or kept whole where a piece would take the dot-product kernel
    /// (128 × 64 over 1200), and its epilogue sees every block of `C` once, with rows and
    /// columns counted from the top left of `C`.
    #[cfg(feature = "parallel")]
    #[test]
    fn split_products_match_one_thread_bit_for_bit() {
        use super::super::parallel::{plan, Cut};
        for (m, n, k, cut) in [
            (301, 70, 1200, Cut::Rows),
            (20, 1000, 700, Cut::Columns),
            (128, 64, 1200, Cut::Rows),
        ] {
            split_product_matches_one_thread(m, n, k, cut);
        }
        let in_pool = |t: usize, (m, n, k)| pool(t).install(|| plan(m, n, k));
        assert_eq!(in_pool(2, (301, 70, 1200)), (2, Cut::Rows));
        assert_eq!(in_pool(3, (301, 70, 1200)), (3, Cut::Rows));
        assert_eq!(in_pool(1, (301, 70, 1200)).0, 1);
        assert_eq!(in_pool(3, (20, 1000, 700)), (3, Cut::Columns));
        // Only the pieces that would change path keep a product whole: W3's first layer
        // (256 × 64 over 784, both operands along the sum) is cut into 132 and 124 rows, both
        // on the blocked kernel, while 128 × 64 would be cut into 72 and 56, the second on
        // the dot-product kernel.
        let along_k = |(m, n, k): (usize, usize, usize)| {
            let a = Mat::<f32> {
                ptr: core::ptr::null(),
                rs: k,
                cs: 1,
            };
            let b = Mat::<f32> {
                ptr: core::ptr::null(),
                rs: 1,
                cs: k,
            };
            product((m, n, k), a, b, core::ptr::null_mut(), false)
        };
        assert!(!cutting_changes_path(
            &along_k((256, 64, 784)),
            2,
            Cut::Rows
        ));
        assert!(cutting_changes_path(
            &along_k((128, 64, 1200)),
            2,
            Cut::Rows
        ));
    }

    #[cfg(feature = "parallel")]
    fn pool(t: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .unwrap()
    }

    /// One shape of [`split_products_match_one_thread_bit_for_bit`].
    #[cfg(feature = "parallel")]
    fn split_product_matches_one_thread(
        m: usize,
        n: usize,
        k: usize,
        cut: super::super::parallel::Cut,
    ) {
        use std::sync::Mutex;
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 7) % 13) as f32 / 13.0 - 0.5)
            .collect();
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i * 5) % 11) as f32 / 11.0 - 0.5)
            .collect();
        for transposed in [true, false] {
            // B's element `(p, j)`: `b[p + j·k]` transposed, else `b[p·n + j]`.
            let (rsb, csb) = if transposed { (1, k) } else { (n, 1) };
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
                            rs: rsb,
                            cs: csb,
                        },
                    );
                    // SAFETY: A is m×k, B k×n (either layout) and C m×n, all in bounds.
                    unsafe {
                        gemm_then(
                            product((m, n, k), am, bm, out.get(), false),
                            |i0, mr, j0, nr| {
                                let mut seen = seen.lock().unwrap();
                                for i in i0..i0 + mr {
                                    for j in j0..j0 + nr {
                                        seen[i * n + j] += 1;
                                    }
                                }
                            },
                        );
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
                pool(2).install(|| super::super::parallel::plan(m, n, k)),
                (2, cut),
                "{m}×{n}×{k}"
            );
            let one = run(Some(1));
            for threads in [Some(2), Some(3), None] {
                assert!(
                    one == run(threads),
                    "{m}×{n}×{k}: {threads:?} threads differ from one (B transposed: {transposed})"
                );
            }
            let c00: f64 = (0..k)
                .map(|p| f64::from(a[p]) * f64::from(b[p * rsb]))
                .sum();
            assert!((f64::from(one[0]) - c00).abs() < 1e-4);
        }
    }
}
