//! AVX-512 micro-kernels for [`super::gemm`], on [`super::blocking`]: a 12 × 32 block of `C` (`f32`) or 12 × 16
//! (`f64`) in 24 `zmm` accumulators; each step over `k` loads two vectors of a row of `B`,
//! broadcasts 12 scalars of a column of `A`, and issues 24 fused multiply-adds. Columns past
//! `n` are masked, so no tail needs a second code path.

use super::blocking::{blocked, pack_columns, Block, Mat, Pack, Product, KC};
use core::arch::x86_64::*;

/// The rows of `C` one kernel call keeps in registers.
const MR: usize = 12;

macro_rules! kernel {
    ($name:ident, $gemm:ident, $t:ty, $lanes:expr, $vec:ty, $mask:ty,
     $zero:ident, $set1:ident, $load:ident, $loadu:ident, $fmadd:ident, $add:ident, $storeu:ident,
     $pack_t:ident) => {
        /// One block (`mr = R`, `nr ≤ NV·lanes`) of `C (+)= A B` over `kc` steps; with `COPY`,
        /// it also stores each row of the panel it reads into `blk.copy` (rows of `NV·lanes`),
        /// packing the panel for the blocks after it.
        ///
        /// # Safety
        /// The CPU supports AVX-512F; the block's `R` rows of A have `kc` elements by A's
        /// strides, its panel has `kc` rows of `NV·lanes` values at stride `rsb`, and its
        /// `R × nr` elements of C are in bounds and not otherwise borrowed; with `COPY`, the
        /// panel is full (`nr = NV·lanes`) and `blk.copy` has room for `kc · NV·lanes` values
        /// that no one else reads or writes meanwhile.
        #[target_feature(enable = "avx512f")]
        unsafe fn $name<const R: usize, const NV: usize, const COPY: bool>(blk: Block<$t>) {
            let Block {
                kc,
                a,
                b,
                rsb,
                c,
                rsc,
                nr,
                accumulate,
                copy,
                ..
            } = blk;
            // Where the next row of the panel is copied to (with `COPY`).
            let mut cp = copy;
            const L: usize = $lanes;
            let full: $mask = !0;
            let bits = 8 * core::mem::size_of::<$mask>();
            let masks: [$mask; NV] = core::array::from_fn(|v| {
                let lo = v * L;
                if nr >= lo + L {
                    full
                } else if nr <= lo {
                    0
                } else {
                    full >> (bits - (nr - lo))
                }
            });
            let mut acc = [[$zero(); NV]; R];
            // One pointer per row of A, fixed; the loop advances one offset, so a broadcast
            // needs no address arithmetic of its own. `black_box` keeps the pointers apart:
            // otherwise the compiler steps one pointer through the rows, an integer add per
            // broadcast on the ports the multiply-adds use.
            let rows: [*const $t; R] = core::hint::black_box(core::array::from_fn(|r| {
                // SAFETY: rows `r < R` of A's block are in bounds (the caller's promise).
                unsafe { a.ptr.add(r * a.rs) }
            }));
            let mut off = 0;
            let mut bp = b;
            // Unmasked loads where the block is full (a masked load can cost an extra µop on
            // the ports the multiply-adds use); masked ones for the last columns.
            if nr == NV * L {
                // Two steps per iteration: half the loop overhead.
                for _ in 0..kc / 2 {
                    for _ in 0..2 {
                        let bv: [$vec; NV] = core::array::from_fn(|v| {
                            // SAFETY: the panel's current row holds `NV·L` values (a full
                            // block).
                            unsafe { $load(bp.add(v * L)) }
                        });
                        if COPY {
                            for (v, &x) in bv.iter().enumerate() {
                                // SAFETY: the pack's current row has room for `NV·L` values.
                                unsafe { $storeu(cp.add(v * L), !0, x) };
                            }
                            // SAFETY: at most one past the pack's last row.
                            cp = unsafe { cp.add(NV * L) };
                        }
                        for (row, &p) in acc.iter_mut().zip(&rows) {
                            // SAFETY: step `off / a.cs < kc` of row `r < R` of A's block.
                            let av = $set1(unsafe { *p.add(off) });
                            for (x, &bvv) in row.iter_mut().zip(&bv) {
                                *x = $fmadd(av, bvv, *x);
                            }
                        }
                        off += a.cs;
                        // SAFETY: at most one past the panel's last row.
                        bp = unsafe { bp.add(rsb) };
                    }
                }
                if kc % 2 == 1 {
                    let bv: [$vec; NV] = core::array::from_fn(|v| {
                        // SAFETY: as above, for the last row.
                        unsafe { $load(bp.add(v * L)) }
                    });
                    if COPY {
                        for (v, &x) in bv.iter().enumerate() {
                            // SAFETY: the pack's last row has room for `NV·L` values.
                            unsafe { $storeu(cp.add(v * L), !0, x) };
                        }
                    }
                    for (row, &p) in acc.iter_mut().zip(&rows) {
                        // SAFETY: step `off / a.cs < kc` of row `r < R` of A's block.
                        let av = $set1(unsafe { *p.add(off) });
                        for (x, &bvv) in row.iter_mut().zip(&bv) {
                            *x = $fmadd(av, bvv, *x);
                        }
                    }
                }
            } else {
                for _ in 0..kc {
                    let bv: [$vec; NV] = core::array::from_fn(|v| {
                        // SAFETY: the panel's current row holds `NV·L` values; the masks
                        // load only its first `nr`.
                        unsafe { $loadu(masks[v], bp.add(v * L)) }
                    });
                    for (row, &p) in acc.iter_mut().zip(&rows) {
                        // SAFETY: step `off / a.cs < kc` of row `r < R` of A's block.
                        let av = $set1(unsafe { *p.add(off) });
                        for (x, &bvv) in row.iter_mut().zip(&bv) {
                            *x = $fmadd(av, bvv, *x);
                        }
                    }
                    off += a.cs;
                    // SAFETY: at most one past the panel's last row.
                    bp = unsafe { bp.add(rsb) };
                }
            }
            for (r, row) in acc.iter().enumerate() {
                // SAFETY: row `r < R` of C's block is in bounds.
                let cp = unsafe { c.add(r * rsc) };
                for (v, &x) in row.iter().enumerate() {
                    // SAFETY: the masks reach only the block's first `nr` columns of the row,
                    // which are in bounds and written by this call alone.
                    unsafe {
                        let x = if accumulate {
                            $add(x, $loadu(masks[v], cp.add(v * L)))
                        } else {
                            x
                        };
                        $storeu(cp.add(v * L), masks[v], x);
                    }
                }
            }
        }

        /// `C (+)= A B` with the AVX-512 kernel; see [`super::gemm::gemm`].
        ///
        /// # Safety
        /// As [`super::gemm::gemm`], and the CPU must support AVX-512F.
        #[target_feature(enable = "avx512f")]
        pub(crate) unsafe fn $gemm(
            p: Product<$t>,
            epilogue: impl FnMut(usize, usize, usize, usize),
        ) {
            let (n, b) = (p.n, p.b);
            let mut pack = Pack::<$t, { KC * 4 * $lanes }>::new();
            let pack = pack.ptr();
            // A transposed B (unit row stride) is packed with gathers, a vector of the
            // panel's row at a time.
            let gathers = b.rs == 1
                && b.cs
                    .checked_mul($lanes)
                    .is_some_and(|v| v <= i32::MAX as usize);
            // A panel of B `NR` wide into a pack of `KC · NR` values.
            let pack_panel = |src, b: Mat<$t>, kc, nr, p, nrs| {
                // SAFETY: `blocked` passes a panel of B in bounds and a pack of `KC · NR`
                // values; the CPU runs AVX-512F (the caller's promise); `gathers` checked that
                // `lanes·cs` fits an `i32`.
                unsafe {
                    if gathers {
                        $pack_t(src, b.cs, kc, nr, p, nrs);
                    } else if nrs == 4 * $lanes {
                        pack_columns::<$t, { 4 * $lanes }>(src, b, kc, nr, p);
                    } else {
                        pack_columns::<$t, { 2 * $lanes }>(src, b, kc, nr, p);
                    }
                }
            };
            if n >= 3 * $lanes {
                // Wide products: 6 rows × 4 vectors, 6 broadcasts per 24 multiply-adds.
                let kernel = |blk: Block<$t>| {
                    // SAFETY: `blocked` passes blocks of at most 6 rows whose elements of A,
                    // the panel and C are in bounds (see `Block`), and sets `copy` only on the
                    // first block (6 rows) of a full panel, to the pack; the CPU runs AVX-512F.
                    unsafe {
                        match blk.mr {
                            6 if !blk.copy.is_null() => $name::<6, 4, true>(blk),
                            6 => $name::<6, 4, false>(blk),
                            5 => $name::<5, 4, false>(blk),
                            4 => $name::<4, 4, false>(blk),
                            3 => $name::<3, 4, false>(blk),
                            2 => $name::<2, 4, false>(blk),
                            _ => $name::<1, 4, false>(blk),
                        }
                    }
                };
                let pack_wide = |src, b, kc, nr, p| pack_panel(src, b, kc, nr, p, 4 * $lanes);
                // SAFETY: the product keeps its promise (the caller's) and the pack holds
                // `KC · 4·lanes` values.
                unsafe {
                    blocked::<$t, 6, { 4 * $lanes }>(p, pack, pack_wide, kernel, epilogue, true)
                };
                return;
            }
            let kernel = |blk: Block<$t>| {
                // SAFETY: as above, with blocks of at most `MR` rows.
                unsafe {
                    match blk.mr {
                        12 if !blk.copy.is_null() => $name::<12, 2, true>(blk),
                        12 => $name::<12, 2, false>(blk),
                        11 => $name::<11, 2, false>(blk),
                        10 => $name::<10, 2, false>(blk),
                        9 => $name::<9, 2, false>(blk),
                        8 => $name::<8, 2, false>(blk),
                        7 => $name::<7, 2, false>(blk),
                        6 => $name::<6, 2, false>(blk),
                        5 => $name::<5, 2, false>(blk),
                        4 => $name::<4, 2, false>(blk),
                        3 => $name::<3, 2, false>(blk),
                        2 => $name::<2, 2, false>(blk),
                        _ => $name::<1, 2, false>(blk),
                    }
                }
            };
            let pack_narrow = |src, b, kc, nr, p| pack_panel(src, b, kc, nr, p, 2 * $lanes);
            // SAFETY: as above.
            unsafe {
                blocked::<$t, MR, { 2 * $lanes }>(p, pack, pack_narrow, kernel, epilogue, true)
            };
        }
    };
}

/// `_mm512_maskz_loadu_ps` with the arguments in the order the macro uses.
///
/// # Safety
/// The CPU supports AVX-512F, and the lanes `m` selects of `p` are in bounds.
#[inline(always)]
unsafe fn load_ps(m: __mmask16, p: *const f32) -> __m512 {
    // SAFETY: the caller's promise.
    unsafe { _mm512_maskz_loadu_ps(m, p) }
}
/// `_mm512_maskz_loadu_pd`, as [`load_ps`].
///
/// # Safety
/// As [`load_ps`].
#[inline(always)]
unsafe fn load_pd(m: __mmask8, p: *const f64) -> __m512d {
    // SAFETY: the caller's promise.
    unsafe { _mm512_maskz_loadu_pd(m, p) }
}
/// `_mm512_mask_storeu_ps` with the arguments in the order the macro uses.
///
/// # Safety
/// The CPU supports AVX-512F, and the lanes `m` selects of `p` are in bounds and writable.
#[inline(always)]
unsafe fn store_ps(p: *mut f32, m: __mmask16, v: __m512) {
    // SAFETY: the caller's promise.
    unsafe { _mm512_mask_storeu_ps(p, m, v) }
}
/// `_mm512_mask_storeu_pd`, as [`store_ps`].
///
/// # Safety
/// As [`store_ps`].
#[inline(always)]
unsafe fn store_pd(p: *mut f64, m: __mmask8, v: __m512d) {
    // SAFETY: the caller's promise.
    unsafe { _mm512_mask_storeu_pd(p, m, v) }
}

kernel!(
    kernel_f32,
    gemm_f32,
    f32,
    16,
    __m512,
    __mmask16,
    _mm512_setzero_ps,
    _mm512_set1_ps,
    _mm512_loadu_ps,
    load_ps,
    _mm512_fmadd_ps,
    _mm512_add_ps,
    store_ps,
    pack_t_ps
);
kernel!(
    kernel_f64,
    gemm_f64,
    f64,
    8,
    __m512d,
    __mmask8,
    _mm512_setzero_pd,
    _mm512_set1_pd,
    _mm512_loadu_pd,
    load_pd,
    _mm512_fmadd_pd,
    _mm512_add_pd,
    store_pd,
    pack_t_pd
);

/// Packs a `kc × nr` panel of a transposed `B` (element `(k, j)` at `src + k + j·cs`) into rows
/// of stride `nrs`: each full 16 × 16 block is loaded along `k` (16 contiguous values of one
/// column), transposed in registers and stored along `j`; the ragged edges take one gather per
/// 16 columns and `k`.
///
/// # Safety
/// `src` addresses the panel; `pack` holds `kc · nrs` values, `nr ≤ nrs`; `16·cs` fits an
/// `i32`; the CPU supports AVX-512F.
#[target_feature(enable = "avx512f")]
unsafe fn pack_t_ps(src: *const f32, cs: usize, kc: usize, nr: usize, pack: *mut f32, nrs: usize) {
    let (k16, j16) = (kc - kc % 16, nr - nr % 16);
    for j in (0..j16).step_by(16) {
        for k in (0..k16).step_by(16) {
            // SAFETY: column `j + i < nr` of the panel has 16 values from `k` (k + 16 ≤ kc),
            // contiguous (unit row stride).
            let rows: [__m512; 16] =
                core::array::from_fn(|i| unsafe { _mm512_loadu_ps(src.add((j + i) * cs + k)) });
            let cols = transpose_16(rows);
            for (m, &col) in cols.iter().enumerate() {
                // SAFETY: row `k + m < kc` of the pack has room for 16 values from `j + 16 ≤ nr
                // ≤ nrs`.
                unsafe { _mm512_storeu_ps(pack.add((k + m) * nrs + j), col) };
            }
        }
    }
    // SAFETY: the two parts are inside the panel; the caller's promise.
    unsafe {
        gather_ps(src, cs, (k16, kc), (0, j16), pack, nrs);
        gather_ps(src, cs, (0, kc), (j16, nr), pack, nrs);
    }
}

/// Transposes a 16 × 16 block held as 16 rows: element `m` of result `i` is element `i` of
/// row `m`. Four rounds of 16 shuffles: 32-bit and 64-bit interleaves within each 128-bit
/// lane, then two rounds that move whole lanes.
#[inline]
#[target_feature(enable = "avx512f")]
fn transpose_16(r: [__m512; 16]) -> [__m512; 16] {
    let t: [__m512; 16] = core::array::from_fn(|i| {
        let (a, b) = (r[i & !1], r[i | 1]);
        if i % 2 == 0 {
            _mm512_unpacklo_ps(a, b)
        } else {
            _mm512_unpackhi_ps(a, b)
        }
    });
    // u[4i + c], lane L: rows 4i..4i + 4 of column 4L + c.
    let u: [__m512d; 16] = core::array::from_fn(|n| {
        let (i, c) = (n / 4, n % 4);
        let (a, b) = (
            _mm512_castps_pd(t[4 * i + c / 2]),
            _mm512_castps_pd(t[4 * i + 2 + c / 2]),
        );
        if c % 2 == 0 {
            _mm512_unpacklo_pd(a, b)
        } else {
            _mm512_unpackhi_pd(a, b)
        }
    });
    let u: [__m512; 16] = core::array::from_fn(|n| _mm512_castpd_ps(u[n]));
    let mut out = [_mm512_setzero_ps(); 16];
    for c in 0..4 {
        // Lanes 0 and 2 (then 1 and 3) of the four row groups, then one lane of each.
        let v0 = _mm512_shuffle_f32x4::<0x88>(u[c], u[4 + c]);
        let v1 = _mm512_shuffle_f32x4::<0xdd>(u[c], u[4 + c]);
        let w0 = _mm512_shuffle_f32x4::<0x88>(u[8 + c], u[12 + c]);
        let w1 = _mm512_shuffle_f32x4::<0xdd>(u[8 + c], u[12 + c]);
        out[c] = _mm512_shuffle_f32x4::<0x88>(v0, w0);
        out[8 + c] = _mm512_shuffle_f32x4::<0xdd>(v0, w0);
        out[4 + c] = _mm512_shuffle_f32x4::<0x88>(v1, w1);
        out[12 + c] = _mm512_shuffle_f32x4::<0xdd>(v1, w1);
    }
    out
}

/// Packs the part `ks.0..ks.1` × `js.0..js.1` of a transposed panel (as [`pack_t_ps`]) with
/// one gather per 16 columns and `k`.
///
/// # Safety
/// As [`pack_t_ps`].
#[target_feature(enable = "avx512f")]
unsafe fn gather_ps(
    src: *const f32,
    cs: usize,
    ks: (usize, usize),
    js: (usize, usize),
    pack: *mut f32,
    nrs: usize,
) {
    let step = _mm512_set1_epi32(cs as i32);
    let index = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        step,
    );
    let mut j = js.0;
    while j < js.1 {
        let mask: __mmask16 = if js.1 - j >= 16 {
            !0
        } else {
            (1u16 << (js.1 - j)) - 1
        };
        // SAFETY: column `j < js.1 ≤ nr` of the panel.
        let col = unsafe { src.add(j * cs) };
        for kk in ks.0..ks.1 {
            // SAFETY: the masked lanes read columns `j..min(j + 16, js.1)` at step `kk < kc`
            // (indices `lane·cs` fit an `i32`, the caller's promise) and write them to row
            // `kk` of the pack, which has `nrs ≥ nr` values.
            unsafe {
                let v =
                    _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), mask, index, col.add(kk));
                _mm512_mask_storeu_ps(pack.add(kk * nrs + j), mask, v);
            }
        }
        j += 16;
    }
}

/// As [`pack_t_ps`], for `f64`, 8 columns at a time.
///
/// # Safety
/// As [`pack_t_ps`], with `8·cs` fitting an `i32`.
#[target_feature(enable = "avx512f")]
unsafe fn pack_t_pd(src: *const f64, cs: usize, kc: usize, nr: usize, pack: *mut f64, nrs: usize) {
    let step = _mm256_set1_epi32(cs as i32);
    let index = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), step);
    let mut j = 0;
    while j < nr {
        let mask: __mmask8 = if nr - j >= 8 {
            !0
        } else {
            (1u8 << (nr - j)) - 1
        };
        // SAFETY: column `j < nr` of the panel.
        let col = unsafe { src.add(j * cs) };
        for kk in 0..kc {
            // SAFETY: as in `gather_ps`, 8 columns at a time.
            unsafe {
                let v =
                    _mm512_mask_i32gather_pd::<8>(_mm512_setzero_pd(), mask, index, col.add(kk));
                _mm512_mask_storeu_pd(pack.add(kk * nrs + j), mask, v);
            }
        }
        j += 8;
    }
}
