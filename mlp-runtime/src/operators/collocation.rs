//! Seeded collocation points in a box: uniform in its interior and on its boundary.

use crate::Scalar;
use alloc::vec::Vec;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Draws collocation points in the box `[lo_d, hi_d]^D` from `ChaCha8Rng` seeded with `seed`
/// (stream 3, apart from initialisation, shuffling and splits), so that one seed gives the
/// same points on every machine.
///
/// ```
/// use mlp::operators::Collocation;
/// let mut points = Collocation::new([0.0, 0.0], [1.0, 2.0], 7);
/// let mut inside: Vec<[f64; 2]> = Vec::new();
/// points.interior(100, &mut inside);
/// assert!(inside.iter().all(|p| (0.0..1.0).contains(&p[0]) && (0.0..2.0).contains(&p[1])));
/// let mut edge: Vec<[f64; 2]> = Vec::new();
/// points.boundary(100, &mut edge);
/// assert!(edge.iter().all(|p| p[0] == 0.0 || p[0] == 1.0 || p[1] == 0.0 || p[1] == 2.0));
/// ```
#[derive(Clone, Debug)]
pub struct Collocation<const D: usize> {
    lo: [f64; D],
    hi: [f64; D],
    rng: ChaCha8Rng,
}

impl<const D: usize> Collocation<D> {
    /// A sampler of the box with corners `lo` and `hi`.
    pub fn new(lo: [f64; D], hi: [f64; D], seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(3);
        Collocation { lo, hi, rng }
    }

    /// `u ∈ [0, 1)`: the top 53 bits of the next output, times `2⁻⁵³`.
    fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Replaces `out` with `n` points drawn uniformly in the box (reusing its buffer).
    pub fn interior<T: Scalar>(&mut self, n: usize, out: &mut Vec<[T; D]>) {
        out.clear();
        for _ in 0..n {
            let p = core::array::from_fn(|d| {
                let u = self.unit();
                T::from_f64(self.lo[d] + u * (self.hi[d] - self.lo[d]))
            });
            out.push(p);
        }
    }

    /// Replaces `out` with `n` points drawn uniformly on the boundary: a face with probability
    /// proportional to its area, then a point on it (for `D = 1`, either end).
    pub fn boundary<T: Scalar>(&mut self, n: usize, out: &mut Vec<[T; D]>) {
        out.clear();
        let extent: [f64; D] = core::array::from_fn(|d| self.hi[d] - self.lo[d]);
        // The area of the two faces normal to d: the product of the other extents.
        let area: [f64; D] =
            core::array::from_fn(|d| (0..D).filter(|&e| e != d).map(|e| extent[e]).product());
        let total: f64 = area.iter().sum();
        for _ in 0..n {
            let mut pick = self.unit() * total;
            let mut face = D.saturating_sub(1);
            for (d, &a) in area.iter().enumerate() {
                if pick < a {
                    face = d;
                    break;
                }
                pick -= a;
            }
            let high = self.unit() < 0.5;
            let p = core::array::from_fn(|d| {
                let u = self.unit();
                let v = if d == face {
                    if high {
                        self.hi[d]
                    } else {
                        self.lo[d]
                    }
                } else {
                    self.lo[d] + u * extent[d]
                };
                T::from_f64(v)
            });
            out.push(p);
        }
    }
}
