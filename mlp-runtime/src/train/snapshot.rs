//! Copies of a network's weights: before each step (restored if the step diverges) and at the
//! best epoch (for early stopping).

use crate::Parameters;

/// Copies every parameter into `buf`, flat in parameter order (no allocation once `buf` has
/// the capacity).
pub(super) fn copy_params<P: Parameters>(p: &P, buf: &mut Vec<P::Scalar>) {
    buf.clear();
    p.visit(|_, v| buf.extend_from_slice(v));
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
        if found.is_none() && !crate::wide::all_finite(v) {
            found = Some(info.name);
        }
    });
    found
}
