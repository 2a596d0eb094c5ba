//! Copies of a network's weights: before each step (restored if the step diverges) and at the
//! best epoch (for early stopping).

use crate::wide::{all_finite, halves, none};
use crate::{Parameters, Scalar};

/// Copies every parameter into `buf`, flat in parameter order (no allocation once `buf` has
/// the capacity); large tensors in halves on the pool's threads.
pub(super) fn copy_params<P: Parameters>(p: &P, buf: &mut Vec<P::Scalar>) {
    buf.resize(P::num_params(), P::Scalar::ZERO);
    let copy = |(dst, src): (&mut [P::Scalar], &[P::Scalar])| dst.copy_from_slice(src);
    let mut offset = 0;
    p.visit(|_, v| {
        halves((&mut buf[offset..offset + v.len()], v), &copy, none);
        offset += v.len();
    });
}

/// Copies `buf`, as written by [`copy_params`], back into the parameters.
pub(super) fn restore_params<P: Parameters>(p: &mut P, buf: &[P::Scalar]) {
    let mut offset = 0;
    p.visit_mut(|_, v| {
        v.copy_from_slice(&buf[offset..offset + v.len()]);
        offset += v.len();
    });
}

/// The name of the first tensor holding a NaN or an infinity.
pub(super) fn first_non_finite<P: Parameters>(p: &P) -> Option<&'static str> {
    let mut found = None;
    p.visit(|info, v| {
        if found.is_none() && !all_finite(v) {
            found = Some(info.name);
        }
    });
    found
}
