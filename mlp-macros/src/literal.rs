//! Tokens as the user wrote them: float literals with their sign, and identifiers compared
//! as names (`r#fn` and `fn` alike).

use crate::errors::Errors;
use crate::model::Scalar;
use crate::parse::Number;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{Ident, Lit};

/// Whether two identifiers name the same thing, `r#fn` and `fn` alike.
pub fn same(a: &Ident, b: &Ident) -> bool {
    a.unraw() == b.unraw()
}

/// Whether a float literal's digits (before any exponent) are not all zero: `1e-400` is,
/// and parses to 0.
pub fn nonzero_digits(digits: &str) -> bool {
    digits
        .split(['e', 'E'])
        .next()
        .is_some_and(|mantissa| mantissa.chars().any(|c| matches!(c, '1'..='9')))
}

/// The value of a float literal with an optional minus sign; `None` for anything else.
pub fn float_value(number: &Number) -> Option<f64> {
    let Lit::Float(f) = &number.lit else {
        return None;
    };
    let value = f.base10_parse::<f64>().ok().filter(|v| v.is_finite())?;
    Some(if number.minus.is_some() {
        -value
    } else {
        value
    })
}

/// The value of `number` as a parameter of a network in `scalar`: a float literal whose
/// value is finite and does not overflow or underflow the scalar; otherwise an error at the
/// literal, saying what it is for (`what`).
pub fn float_param(
    errors: &mut Errors,
    number: &Number,
    scalar: Scalar,
    what: &str,
) -> Option<f64> {
    let Some(value) = float_value(number) else {
        not_a_float(errors, number, what);
        return None;
    };
    let (minus, lit) = (&number.minus, &number.lit);
    let underflow =
        value == 0.0 && matches!(lit, Lit::Float(f) if nonzero_digits(f.base10_digits()));
    let problem = if underflow {
        Err(format!("underflows {} to 0", scalar.name()))
    } else {
        scalar.check(value)
    };
    match problem {
        Ok(()) => Some(value),
        Err(problem) => {
            let sign = if minus.is_some() { "-" } else { "" };
            errors.error_spanned(
                quote::quote!(#minus #lit),
                format_args!(
                    "{what} is {sign}{lit}, which {problem}",
                    lit = lit.to_token_stream()
                ),
            );
            None
        }
    }
}

/// Reports a literal that should have been a float.
pub fn not_a_float(errors: &mut Errors, number: &Number, what: &str) {
    let (minus, lit) = (&number.minus, &number.lit);
    let hint = match lit {
        Lit::Int(i) => format!(
            ", found the integer `{}`; write `{}.0`",
            i.base10_digits(),
            i.base10_digits()
        ),
        Lit::Float(f) => format!(", found `{f}`, which is not finite"),
        _ => String::new(),
    };
    errors.error_spanned(
        quote::quote!(#minus #lit),
        format_args!("expected a float literal for {what}{hint}"),
    );
}
