//! Element-wise loops compiled for the widest vectors the CPU has: [`wide`] runs a closure
//! compiled for AVX-512 when the CPU supports it (detected at run time), else as the build
//! targets. Only `+`, `−`, `×`, `÷` and `sqrt` are used in these loops, each rounded once, so
//! the results are the same bit for bit either way.

/// Runs `f`, compiled for AVX-512 where the CPU has it (a loop inside `f` then vectorises 16
/// `f32` lanes wide), else for the build's target. Give it a closure marked
/// `#[inline(always)]` (`wide(#[inline(always)] || …)`): the compiler may otherwise leave the
/// closure out of line, compiled for the baseline, as it did for closures reached from two
/// places.
#[inline(always)]
pub fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if std::arch::is_x86_feature_detected!("avx512f") {
        /// `f()`, with `f` inlined into a function compiled for AVX-512.
        ///
        /// # Safety
        /// The CPU supports AVX-512F.
        #[target_feature(enable = "avx512f")]
        unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: the CPU supports AVX-512F (checked above).
        return unsafe { avx512(f) };
    }
    f()
}

/// 16 interleaved running sums of `f(x)` over `v` (sum `j` takes the values at `j`, `j + 16`,
/// …), so that a loop over them vectorises while the order of every addition stays fixed.
#[inline(always)]
pub(crate) fn lane_sums<T: crate::Scalar>(v: &[T], f: impl Fn(T) -> T) -> [T; 16] {
    let mut sums = [T::ZERO; 16];
    let mut chunks = v.chunks_exact(16);
    for c in &mut chunks {
        for (s, &x) in sums.iter_mut().zip(c) {
            *s += f(x);
        }
    }
    for (s, &x) in sums.iter_mut().zip(chunks.remainder()) {
        *s += f(x);
    }
    sums
}

/// Whether every value of `v` is finite, in one pass that vectorises (no early exit): `x · 0`
/// is `±0` for a finite `x` and NaN for `±∞` or NaN, so the [`lane_sums`] of them all stay 0
/// exactly when every value is finite. In pieces on the pool, as [`halves`].
pub(crate) fn all_finite<T: crate::Scalar>(v: &[T]) -> bool {
    // The closure given to `wide` forced inline: left out of line (it is reached from two
    // places), it was compiled for the baseline and ran 4 lanes wide.
    let finite = |v: &[T]| {
        wide(
            #[inline(always)]
            || lane_sums(v, |x| x * T::ZERO).iter().all(|&s| s == T::ZERO),
        )
    };
    halves(v, &finite, both)
}

/// Slices that an element-wise pass walks together and that can be cut at the same index: a
/// slice, or a tuple of slices of one length. Only the pool cuts them (the `parallel`
/// feature).
#[cfg_attr(not(feature = "parallel"), allow(dead_code))]
pub(crate) trait Split: Sized {
    /// The number of elements.
    fn len(&self) -> usize;
    /// The elements before `mid` and from `mid` on.
    fn split_at(self, mid: usize) -> (Self, Self);
}

impl<T> Split for &[T] {
    fn len(&self) -> usize {
        <[T]>::len(self)
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        <[T]>::split_at(self, mid)
    }
}

impl<T> Split for &mut [T] {
    fn len(&self) -> usize {
        <[T]>::len(self)
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        self.split_at_mut(mid)
    }
}

macro_rules! split_tuple {
    ($($s:ident $v:ident $i:tt),*) => {
        impl<$($s: Split),*> Split for ($($s,)*) {
            fn len(&self) -> usize {
                self.0.len()
            }
            fn split_at(self, mid: usize) -> (Self, Self) {
                $(let $v = self.$i.split_at(mid);)*
                (($($v.0,)*), ($($v.1,)*))
            }
        }
    };
}
split_tuple!(A a 0, B b 1);
split_tuple!(A a 0, B b 1, C c 2);
split_tuple!(A a 0, B b 1, C c 2, D d 3);

/// The fewest elements of a piece when a pass is cut for the pool's threads (64 KiB of
/// `f32`): a few microseconds of a copy or an optimizer's update, against the microsecond or
/// two of a `rayon::join` on one of the pool's threads, more when it has to wake one.
#[cfg(feature = "parallel")]
const MIN_SPLIT: usize = 16_384;

/// Runs the element-wise pass `f` over `items`, in pieces on the pool's threads (the
/// `parallel` feature, called from one of the pool's threads, and at least [`MIN_SPLIT`]
/// elements a piece), and folds the pieces' results with `fold`; else on the whole in one
/// call. Every element goes through the same code either way, so the results are the same bit
/// for bit whatever the number of threads; `fold` must not depend on where the cuts are
/// (`&&`).
pub(crate) fn halves<I, R>(items: I, f: &(impl Fn(I) -> R + Sync), fold: fn(R, R) -> R) -> R
where
    I: Split + Send,
    R: Send,
{
    #[cfg(feature = "parallel")]
    if rayon::current_thread_index().is_some() {
        let pieces = rayon::current_num_threads().min(items.len() / MIN_SPLIT);
        return in_pieces(items, pieces.max(1), f, fold);
    }
    let _ = fold;
    f(items)
}

/// [`halves`] in `pieces` pieces, cut in two (sizes in proportion) and each side in turn.
#[cfg(feature = "parallel")]
fn in_pieces<I, R>(items: I, pieces: usize, f: &(impl Fn(I) -> R + Sync), fold: fn(R, R) -> R) -> R
where
    I: Split + Send,
    R: Send,
{
    if pieces <= 1 {
        return f(items);
    }
    let left = pieces / 2;
    let mid = items.len() * left / pieces;
    let (a, b) = items.split_at(mid);
    let (ra, rb) = crate::awake::join(
        || in_pieces(a, left, f, fold),
        || in_pieces(b, pieces - left, f, fold),
    );
    fold(ra, rb)
}

/// The `fold` of [`halves`] for a pass that returns nothing.
// Only the optimizers and the trainer (with `std`) run such passes.
#[cfg_attr(not(feature = "std"), allow(dead_code))]
pub(crate) fn none(_: (), _: ()) {}

/// The `fold` of [`halves`] for a test that every piece passes.
pub(crate) fn both(a: bool, b: bool) -> bool {
    a && b
}

#[cfg(test)]
mod tests {
    use super::all_finite;

    #[test]
    fn all_finite_finds_every_non_finite_value_anywhere() {
        for len in [0, 1, 15, 16, 17, 40] {
            let mut v: Vec<f32> = (0..len).map(|i| i as f32 * 1e37 - 2e38).collect();
            v.iter_mut().for_each(|x| *x = x.clamp(-f32::MAX, f32::MAX));
            assert!(all_finite(&v), "{len} finite values");
            for i in 0..len {
                for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                    let keep = v[i];
                    v[i] = bad;
                    assert!(!all_finite(&v), "{bad} at {i} of {len}");
                    v[i] = keep;
                }
            }
        }
        assert!(all_finite(&[f64::MAX, f64::MIN_POSITIVE / 4.0, -0.0]));
        assert!(!all_finite(&[1.0, f64::NAN]));
    }

    /// With `parallel`: a pass cut in halves on pools of 2 and 3 threads writes the same bits
    /// as one call, and a fold over the halves sees a value in either of them.
    #[cfg(feature = "parallel")]
    #[test]
    fn halves_on_the_pool_change_no_bit() {
        use super::{halves, none};
        let n = 100_003;
        let g: Vec<f32> = (0..n)
            .map(|i| ((i * 37) % 101) as f32 / 101.0 - 0.5)
            .collect();
        let start: Vec<f32> = (0..n).map(|i| ((i * 11) % 97) as f32 / 97.0).collect();
        let update = |(p, g): (&mut [f32], &[f32])| {
            for (p, &g) in p.iter_mut().zip(g) {
                *p = *p * 0.9 - 0.01 * g;
            }
        };
        let mut want = start.clone();
        update((&mut want, &g));
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut got = start.clone();
            pool.install(|| halves((got.as_mut_slice(), g.as_slice()), &update, none));
            assert!(got == want, "{threads} threads");
            for at in [0, n / 2 - 1, n / 2, n - 1] {
                let mut bad = start.clone();
                bad[at] = f32::NAN;
                let finite = pool.install(|| halves(bad.as_slice(), &all_finite, |a, b| a && b));
                assert!(!finite, "NaN at {at} of {n}, {threads} threads");
            }
            assert!(pool.install(|| halves(start.as_slice(), &all_finite, |a, b| a && b)));
        }
    }
}
