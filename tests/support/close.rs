//! The one closeness check of every test binary, included with `#[path]`: a relative error
//! with an absolute floor, so that values near zero are compared absolutely.

/// The relative error `|a − b| / max(|a|, |b|, floor)`.
pub fn rel_err(a: f64, b: f64, floor: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(floor)
}

/// Asserts that `got` and `want` agree entry by entry to `tol` in relative error, with the
/// absolute floor `floor`; `what` names the quantity in the message.
#[track_caller]
pub fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64, floor: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let e = rel_err(*g, *w, floor);
        assert!(
            e <= tol,
            "{what}[{i}]: got {g:e}, want {w:e}, relative error {e:e} > {tol:e}"
        );
    }
}
