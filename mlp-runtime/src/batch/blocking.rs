//! The blocking shared by every kernel of the batched product, and the portable kernel.
//!
//! The left operand `A` (a weight matrix, its transpose, or `δ`) is read in place, one scalar
//! at a time, and broadcast, so it needs no layout. The right operand `B` is copied panel by
//! panel (`KC × NR`) into a buffer on the stack, transposed there if its rows are not
//! contiguous; the panel then sits in L1 while every row block of `A` streams past it. (The
//! AVX-512 kernel packs a full panel of a row-major `B` while its first row block reads it, so
//! that `B` is read once, not copied and then read.) The micro-kernel keeps an `MR × NR` block
//! of `C` in registers over the panel's depth.
//!
//! [`super::gemm`] dispatches to a kernel; the kernels ([`gemm_portable`] here,
//! `super::avx512`) build on [`blocked`]. Dependencies point one way: the front uses the
//! kernels, the kernels use this module.

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

/// One matrix product `C = A B` (or `C += A B` when `accumulate`): A: m×k and B: k×n with
/// any strides (fastest when B's rows are contiguous, `b.cs == 1`), C: m×n with contiguous
/// rows of stride `rsc`.
///
/// Who builds one for [`super::gemm::gemm`] promises that every element addressed by the
/// shapes and strides is in bounds, and that `c` overlaps neither `a` nor `b`.
#[derive(Clone, Copy)]
pub(crate) struct Product<T> {
    /// The rows of `A` and `C`.
    pub m: usize,
    /// The columns of `B` and `C`.
    pub n: usize,
    /// The columns of `A`, the rows of `B`.
    pub k: usize,
    /// The left operand.
    pub a: Mat<T>,
    /// The right operand.
    pub b: Mat<T>,
    /// The output's first element.
    pub c: *mut T,
    /// The output's row stride.
    pub rsc: usize,
    /// Whether to add to `C` rather than overwrite it.
    pub accumulate: bool,
}

impl<T> Product<T> {
    /// The same product, its elements seen as `U` (same size and representation, which the
    /// caller checks).
    #[inline(always)]
    pub(crate) fn cast<U>(self) -> Product<U> {
        Product {
            m: self.m,
            n: self.n,
            k: self.k,
            a: self.a.cast(),
            b: self.b.cast(),
            c: self.c.cast(),
            rsc: self.rsc,
            accumulate: self.accumulate,
        }
    }
}

/// One call of a micro-kernel: an `mr × nr` block of `C (+)= A B` over `kc` steps, with `A`
/// read in place and `B` from a packed panel.
#[derive(Clone, Copy)]
pub(crate) struct Block<T> {
    /// The steps over `k`.
    pub kc: usize,
    /// The block's rows of `A`, from the chunk's first column.
    pub a: Mat<T>,
    /// The panel of `B`: `kc` rows of stride `rsb`, packed, or read in place from `B` by the
    /// block that packs it (see `copy`).
    pub b: *const T,
    /// The panel's row stride.
    pub rsb: usize,
    /// The block's first element of `C`.
    pub c: *mut T,
    /// `C`'s row stride.
    pub rsc: usize,
    /// The block's rows.
    pub mr: usize,
    /// The block's columns.
    pub nr: usize,
    /// Whether to add to `C` rather than overwrite it.
    pub accumulate: bool,
    /// Where the block copies the panel's rows as it reads them (the pack, rows of stride `NR`,
    /// for the blocks after it), or null. Only for a full panel (`nr = NR`).
    pub copy: *mut T,
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
            // SAFETY: row `r` is within the operand (the caller's promise).
            ptr: unsafe { self.ptr.add(r * self.rs) },
            ..self
        }
    }

    /// The same operand from column `c` on.
    ///
    /// # Safety
    /// Column `c` is within the operand (or one past its last column).
    #[cfg(feature = "parallel")]
    #[inline(always)]
    pub(crate) unsafe fn skip_columns(self, c: usize) -> Self {
        Mat {
            // SAFETY: column `c` is within the operand (the caller's promise).
            ptr: unsafe { self.ptr.add(c * self.cs) },
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

/// The loop nest shared by the kernels: chunks of `KC` over `k`; then `NR`-wide column
/// panels of `B`, each copied into `pack` (`KC × NR`, rows of stride `NR`) so that the panel
/// sits in L1 without cache-set conflicts whatever `B`'s strides (a transposed `B` is
/// transposed here, once per panel); then `MR`-tall row blocks, calling `kernel` on each
/// [`Block`] of the packed panel, and `epilogue(i0, mr, j0, nr)` on each block after its last
/// chunk. With `fuse` (a kernel that honours [`Block::copy`]), a full panel of a row-major
/// `B` is not copied first: the first row block reads it in place and packs it as it goes.
///
/// # Safety
/// `p` keeps [`Product`]'s promise, `pack` must be valid for `KC · NR` writes, and
/// `pack_columns` and `kernel` must be sound on the panels and blocks it gives them (with
/// `fuse`, `kernel` must fill the pack from a block whose `copy` is set).
#[inline(always)]
pub(crate) unsafe fn blocked<T: Scalar, const MR: usize, const NR: usize>(
    p: Product<T>,
    pack: *mut T,
    mut pack_columns: impl FnMut(*const T, Mat<T>, usize, usize, *mut T),
    mut kernel: impl FnMut(Block<T>),
    mut epilogue: impl FnMut(usize, usize, usize, usize),
    fuse: bool,
) {
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
            // SAFETY: `(k0, j0)` is an element of B (k0 < k, j0 < n), in bounds by the
            // product's promise.
            let src = unsafe { b.ptr.add(k0 * b.rs + j0 * b.cs) };
            // With `fuse`, the first row block of a full panel of a row-major B reads B in
            // place and copies each row into the pack as it goes (no separate pass over B).
            let fused = fuse && b.cs == 1 && nr == NR && m >= MR;
            if fused {
                // The first block packs the panel.
            } else if b.cs == 1 {
                for kk in 0..kc {
                    // SAFETY: row `k0 + kk` of B has `nr` contiguous elements from column
                    // `j0` (b.cs == 1), `pack` holds `KC · NR` values and `kk < KC`, `nr ≤ NR`;
                    // the pack is a buffer of its own.
                    unsafe {
                        core::ptr::copy_nonoverlapping(src.add(kk * b.rs), pack.add(kk * NR), nr);
                    }
                }
            } else {
                pack_columns(src, b, kc, nr, pack);
            }
            let mut i0 = 0;
            while i0 < m {
                let mr = MR.min(m - i0);
                let first = fused && i0 == 0;
                // SAFETY: `(i0, k0)` is an element of A and `(i0, j0)` one of C (i0 < m,
                // k0 < k, j0 < n), in bounds by the product's promise.
                let (a_ptr, c_blk) =
                    unsafe { (a.ptr.add(i0 * a.rs + k0 * a.cs), c.add(i0 * rsc + j0)) };
                kernel(Block {
                    kc,
                    a: Mat {
                        ptr: a_ptr,
                        rs: a.rs,
                        cs: a.cs,
                    },
                    b: if first { src } else { pack.cast_const() },
                    rsb: if first { b.rs } else { NR },
                    c: c_blk,
                    rsc,
                    mr,
                    nr,
                    accumulate: acc,
                    copy: if first { pack } else { core::ptr::null_mut() },
                });
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
        for kk in 0..kc {
            // SAFETY: `(kk, jj)` is in the panel (kk < kc, jj < nr), read by B's strides, and
            // written at `kk · NR + jj < KC · NR` of the pack (the caller's promise).
            unsafe { *pack.add(kk * NR + jj) = *src.add(jj * b.cs + kk * b.rs) };
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
///
/// # Safety
/// `p` keeps [`Product`]'s promise.
pub(crate) unsafe fn gemm_portable<T: Scalar>(
    p: Product<T>,
    epilogue: impl FnMut(usize, usize, usize, usize),
) {
    const MR: usize = 4;
    const NR: usize = 16;
    let mut pack = Pack::<T, { KC * NR }>::new();
    // SAFETY: `blocked` passes a panel of B in bounds and a pack of `KC · NR` values.
    let pack_t = |src, b, kc, nr, pack| unsafe { pack_columns::<T, NR>(src, b, kc, nr, pack) };
    // SAFETY: `blocked` passes a block whose `mr` rows of A have `kc` elements, whose panel
    // has `kc` rows of `NR ≥ nr` values, and whose `mr × nr` elements of C are in bounds and
    // written by no one else.
    let kernel = |blk| unsafe { kernel_portable::<T, MR, NR>(blk) };
    // SAFETY: the product keeps its promise (the caller's), the pack holds `KC · NR` values,
    // and the closures stay inside the panels and blocks `blocked` gives them.
    unsafe { blocked::<T, MR, NR>(p, pack.ptr(), pack_t, kernel, epilogue, false) };
}

/// The portable micro-kernel on one [`Block`] (`mr ≤ MR`, `nr ≤ NR`).
///
/// # Safety
/// The block's `mr` rows of A have `kc` elements by A's strides, its panel `kc` rows of
/// `NR` values at stride `rsb`, and its `mr × nr` elements of C are in bounds and not
/// otherwise borrowed.
#[inline(always)]
unsafe fn kernel_portable<T: Scalar, const MR: usize, const NR: usize>(blk: Block<T>) {
    let Block {
        kc,
        a,
        b,
        rsb,
        c,
        rsc,
        mr,
        nr,
        accumulate,
        ..
    } = blk;
    let mut acc = [[T::ZERO; NR]; MR];
    if nr == NR && mr == MR {
        for kk in 0..kc {
            // SAFETY: row `kk < kc` of the panel holds `NR` values.
            let brow = unsafe { &*b.add(kk * rsb).cast::<[T; NR]>() };
            for (r, row) in acc.iter_mut().enumerate() {
                // SAFETY: `(r, kk)` is in A's block (r < mr, kk < kc).
                let av = unsafe { *a.ptr.add(r * a.rs + kk * a.cs) };
                for (x, &bv) in row.iter_mut().zip(brow) {
                    *x += av * bv;
                }
            }
        }
    } else {
        for kk in 0..kc {
            for (r, row) in acc.iter_mut().enumerate().take(mr) {
                // SAFETY: `(r, kk)` is in A's block (r < mr, kk < kc).
                let av = unsafe { *a.ptr.add(r * a.rs + kk * a.cs) };
                for (j, x) in row.iter_mut().enumerate().take(nr) {
                    // SAFETY: `(kk, j)` is in the panel (kk < kc, j < nr ≤ NR).
                    *x += av * unsafe { *b.add(kk * rsb + j) };
                }
            }
        }
    }
    for (r, row) in acc.iter().enumerate().take(mr) {
        // SAFETY: row `r < mr` of C's block has `nr` elements in bounds, borrowed by no one
        // else while this block is written.
        let out = unsafe { core::slice::from_raw_parts_mut(c.add(r * rsc), nr) };
        for (o, &x) in out.iter_mut().zip(row) {
            *o = if accumulate { *o + x } else { x };
        }
    }
}
