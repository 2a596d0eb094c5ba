//! Turns the syntax tree into the checked [`model::Net`], reporting every mistake at once.

use crate::custom::{self, Definitions};
use crate::errors::Errors;
use crate::kw::KEYS;
use crate::literal::{float_param, same};
use crate::model::{Activation, Builtin, Custom, Kind, Layer, Net, Scalar, Width};
use crate::parse::{self, ActivationSyntax, Input, Value};
use crate::suggest::closest;
use quote::ToTokens;
use std::rc::Rc;
use syn::ext::IdentExt;
use syn::Lit;

/// The largest width a layer may have.
pub const MAX_WIDTH: usize = 1 << 16;

/// The most scalar parameters a network may have.
pub const MAX_PARAMS: usize = 1 << 30;

/// An invocation with errors: the errors, and the model as far as it could be checked.
pub struct Invalid {
    /// Every error, combined.
    pub error: syn::Error,
    /// The network with each invalid activation replaced by the identity (and failed custom
    /// activations declared as the identity), when every width is valid: the fallback expands
    /// it so that the rest of the crate sees every generated item, exactly typed.
    pub partial: Option<Box<Net>>,
}

/// Checks a parsed invocation and builds the model.
pub fn validate(input: Input) -> Result<Net, Invalid> {
    let mut errors = Errors::default();
    let syntax = input.net;
    // The scalar first: every constant of the activations must fit it.
    let scalar = syntax
        .fields
        .iter()
        .find_map(|f| match &f.value {
            Value::Scalar(ident) => Scalar::from_name(&ident.unraw().to_string()),
            _ => None,
        })
        .unwrap_or(Scalar::F32);
    let defined = custom::check_definitions(&mut errors, &input.activations, &syntax.ident, scalar);

    let mut seen: Vec<String> = Vec::new();
    let mut width_in = None;
    let mut layers = None;
    let mut bias = None;
    let mut krate = None;
    let mut operators = None;

    for field in &syntax.fields {
        for attr in &field.attrs {
            let what = if attr.path().is_ident("doc") {
                "doc comments are not allowed on keys; document the network above `struct`"
            } else {
                "attributes are not allowed on keys"
            };
            errors.error_spanned(attr, what);
        }
        let key = field.key.unraw().to_string();
        if seen.contains(&key) {
            errors.error(field.key.span(), format_args!("duplicate key `{key}`"));
            continue;
        }
        seen.push(key.clone());
        match &field.value {
            Value::Scalar(ident) => check_scalar(&mut errors, ident),
            Value::Input(width) => width_in = Some(check_width(&mut errors, width, Role::Input)),
            Value::Layers(list) => layers = check_layers(&mut errors, list, &defined, scalar),
            Value::Bias(lit) => bias = Some(lit.value),
            Value::Crate(path) => krate = Some(path.clone()),
            Value::Operators(list) => operators = Some(list),
            Value::Unknown => unknown_key(&mut errors, &field.key),
        }
    }

    let missing_span = syntax.ident.span();
    if !seen.iter().any(|k| k == "input") {
        errors.error(
            missing_span,
            "missing key `input`, the input width, e.g. `input: 2`",
        );
    }
    if !seen.iter().any(|k| k == "layers") {
        errors.error(
            missing_span,
            "missing key `layers`, the layers in order, e.g. `layers: [8 tanh, 1 identity]`",
        );
    }

    let operators = operators.map_or_else(Vec::new, |list| {
        crate::operators::check(&mut errors, list, layers.as_deref())
    });
    let net = match (width_in, layers) {
        (Some(input), Some(layers)) => Some(Net {
            attrs: syntax.attrs,
            vis: syntax.vis,
            ident: syntax.ident,
            scalar,
            input,
            layers,
            bias: bias.unwrap_or(true),
            krate,
            customs: defined.customs,
            operators,
        }),
        _ => None,
    };
    let fits = net.as_ref().is_some_and(|net| check_size(&mut errors, net));
    match (errors.finish(), net) {
        (Ok(()), Some(net)) => Ok(net),
        (Err(error), net) => Err(Invalid {
            error,
            partial: net.filter(|_| fits).map(|mut net| {
                net.customs.extend(defined.placeholders);
                Box::new(net)
            }),
        }),
        // Every path that leaves `net` empty has recorded an error.
        (Ok(()), None) => Err(Invalid {
            error: syn::Error::new(missing_span, "invalid network declaration"),
            partial: None,
        }),
    }
}

/// `scalar: f32 | f64`.
fn check_scalar(errors: &mut Errors, ident: &syn::Ident) {
    let name = ident.unraw().to_string();
    if Scalar::from_name(&name).is_none() {
        errors.error(
            ident.span(),
            format_args!("unsupported scalar `{name}`, expected `f32` or `f64`"),
        );
    }
}

/// What a width is the width of, for messages.
#[derive(Clone, Copy)]
enum Role {
    /// The input, `N_0`.
    Input,
    /// Layer `l`, 1-based.
    Layer(usize),
}

impl Role {
    /// `expected {adjective} {noun}`, e.g. "expected an integer width for layer 2".
    fn expected(self, adjective: &str) -> String {
        match self {
            Role::Input => format!("expected {} input width", article(adjective)),
            Role::Layer(l) => format!("expected {} width for layer {l}", article(adjective)),
        }
    }
}

/// `"a integer"` → `"an integer"`.
fn article(adjective: &str) -> String {
    let an = adjective.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {adjective}", if an { "an" } else { "a" })
}

/// A width must be an integer literal between 1 and [`MAX_WIDTH`].
///
/// An invalid width records its error and becomes a width of 1, so that the partial model
/// still declares every item, `forward` and `backward` included (see [`crate::fallback`]).
fn check_width(errors: &mut Errors, width: &parse::Width, role: Role) -> Width {
    let span = width.span();
    checked_width(errors, width, role).unwrap_or(Width { value: 1, span })
}

/// The value of a valid width; `None`, with the error recorded, otherwise.
fn checked_width(errors: &mut Errors, width: &parse::Width, role: Role) -> Option<Width> {
    let span = width.span();
    let (minus, lit) = (&width.minus, &width.lit);
    let tokens = quote::quote!(#minus #lit);
    let range = match role {
        Role::Input => format!("expected an input width between 1 and {MAX_WIDTH}"),
        Role::Layer(l) => format!("expected a width between 1 and {MAX_WIDTH} for layer {l}"),
    };
    let Lit::Int(int) = &width.lit else {
        let found = match &width.lit {
            Lit::Float(f) => format!("`{}{}`", if width.minus.is_some() { "-" } else { "" }, f),
            Lit::Str(_) => "a string literal".to_owned(),
            Lit::Bool(b) => format!("`{}`", b.value),
            other => format!("`{}`", other.to_token_stream()),
        };
        errors.error_spanned(
            tokens,
            format_args!("{}, found {found}", role.expected("integer")),
        );
        return None;
    };
    if !matches!(int.suffix(), "" | "usize") {
        errors.error(
            span,
            format_args!("{}, found `{int}`", role.expected("unsuffixed integer")),
        );
        return None;
    }
    let digits = int.base10_digits();
    if width.minus.is_some() {
        errors.error_spanned(tokens, format_args!("{range}, found -{digits}"));
        return None;
    }
    match digits.parse::<usize>() {
        Ok(value) if (1..=MAX_WIDTH).contains(&value) => Some(Width { value, span }),
        _ => {
            errors.error(span, format_args!("{range}, found {digits}"));
            None
        }
    }
}

/// `layers: [...]` must list at least one layer.
/// A layer whose activation is invalid gets the identity instead, and one whose width is
/// invalid a width of 1, with the error recorded, so that the partial model keeps every item.
fn check_layers(
    errors: &mut Errors,
    list: &parse::Layers,
    defined: &Definitions,
    scalar: Scalar,
) -> Option<Vec<Layer>> {
    if list.layers.is_empty() {
        errors.error(
            list.bracket.span.join(),
            "expected at least one layer in `layers`, e.g. `[8 tanh, 1 identity]`",
        );
        return None;
    }
    let layers = list.layers.iter().enumerate().map(|(i, layer)| {
        let width = check_width(errors, &layer.width, Role::Layer(i + 1));
        let activation = check_activation(errors, &layer.activation, defined, scalar);
        Layer {
            width,
            activation: activation.unwrap_or(Activation {
                kind: Kind::Builtin(Builtin::Identity),
                args: vec![],
            }),
            activation_span: layer.activation.name.span(),
        }
    });
    Some(layers.collect())
}

/// A known activation, built in or defined above the struct, with the parameters it takes.
fn check_activation(
    errors: &mut Errors,
    syntax: &ActivationSyntax,
    defined: &Definitions,
    scalar: Scalar,
) -> Option<Activation> {
    let name = syntax.name.unraw().to_string();
    let customs = &defined.customs;
    if defined.failed.contains(&name) {
        return None;
    }
    if let Some(builtin) = Builtin::from_name(&name) {
        let args = match builtin {
            Builtin::LeakyRelu => vec![check_leaky_relu(errors, syntax, scalar)?],
            _ => {
                if let Some(params) = &syntax.params {
                    errors.error(
                        params.paren.span.join(),
                        format_args!("activation `{name}` takes no parameters"),
                    );
                    return None;
                }
                vec![]
            }
        };
        return Some(Activation {
            kind: Kind::Builtin(builtin),
            args,
        });
    }
    if let Some(custom) = customs.iter().find(|c| same(&c.name, &syntax.name)) {
        let args = check_custom_args(errors, syntax, custom, scalar)?;
        return Some(Activation {
            kind: Kind::Custom(Rc::clone(custom)),
            args,
        });
    }
    let mut names: Vec<String> = Builtin::names().map(str::to_owned).collect();
    names.extend(customs.iter().map(|c| c.name.unraw().to_string()));
    let candidates: Vec<&str> = names.iter().map(String::as_str).collect();
    let message = match closest(&name, &candidates) {
        Some(best) => format!("unknown activation `{name}`, did you mean `{best}`?"),
        None => format!(
            "unknown activation `{name}`, expected one of: {}",
            names.join(", ")
        ),
    };
    errors.error(syntax.name.span(), message);
    None
}

/// The values of a custom activation's parameters at one use: given ones in order, then
/// the defaults.
fn check_custom_args(
    errors: &mut Errors,
    syntax: &ActivationSyntax,
    custom: &Custom,
    scalar: Scalar,
) -> Option<Vec<f64>> {
    let given: Vec<&parse::Number> = syntax.params.iter().flat_map(|p| p.values.iter()).collect();
    if given.len() > custom.params.len() {
        let span = syntax
            .params
            .as_ref()
            .map_or(syntax.name.span(), |p| p.paren.span.join());
        errors.error(
            span,
            format_args!(
                "activation `{}` takes {} parameter{}, found {}",
                custom.name,
                custom.params.len(),
                if custom.params.len() == 1 { "" } else { "s" },
                given.len()
            ),
        );
        return None;
    }
    let mut args = Vec::new();
    let mut ok = true;
    for (i, (param, default)) in custom.params.iter().enumerate() {
        match (given.get(i), default) {
            (Some(number), _) => {
                let what = format!(
                    "`{}` of activation `{}`",
                    param.unraw(),
                    custom.name.unraw()
                );
                match float_param(errors, number, scalar, &what) {
                    Some(value) => args.push(value),
                    None => ok = false,
                }
            }
            (None, Some(value)) => args.push(*value),
            (None, None) => {
                errors.error(
                    syntax.name.span(),
                    format_args!(
                        "activation `{}` needs a value for `{param}`, e.g. `{}(0.1)`",
                        custom.name, custom.name
                    ),
                );
                ok = false;
            }
        }
    }
    ok.then_some(args)
}

/// The slope of `leaky_relu` or `leaky_relu(α)`, with `0 < α < 1` and `α` not rounding to 0
/// in the scalar type.
fn check_leaky_relu(errors: &mut Errors, syntax: &ActivationSyntax, scalar: Scalar) -> Option<f64> {
    let Some(params) = &syntax.params else {
        return Some(Builtin::DEFAULT_LEAKY_SLOPE);
    };
    let expected = "expected one slope α with 0 < α < 1, e.g. `leaky_relu(0.01)`";
    if params.values.len() != 1 {
        errors.error(
            params.paren.span.join(),
            format_args!("{expected}, found {} parameters", params.values.len()),
        );
        return None;
    }
    let number = &params.values[0];
    let sign = if number.minus.is_some() { -1.0 } else { 1.0 };
    let value = match &number.lit {
        Lit::Float(f) => f.base10_parse::<f64>().ok(),
        Lit::Int(i) => i.base10_parse::<f64>().ok(),
        _ => None,
    };
    let (minus, lit) = (&number.minus, &number.lit);
    let tokens = quote::quote!(#minus #lit);
    match value.map(|v| sign * v) {
        Some(alpha) if alpha > 0.0 && alpha < 1.0 => match scalar.check(alpha) {
            Ok(()) => Some(alpha),
            Err(problem) => {
                errors.error_spanned(
                    tokens,
                    format_args!("{expected}, found {alpha:?}, which {problem}"),
                );
                None
            }
        },
        Some(alpha) => {
            errors.error_spanned(tokens, format_args!("{expected}, found {alpha:?}"));
            None
        }
        None => {
            errors.error_spanned(
                tokens,
                format_args!("{expected}, found `{}`", number.lit.to_token_stream()),
            );
            None
        }
    }
}

/// An unknown key: suggest the closest known one.
fn unknown_key(errors: &mut Errors, key: &syn::Ident) {
    let name = key.unraw().to_string();
    let message = match closest(&name, KEYS) {
        Some(best) => format!("unknown key `{name}`, did you mean `{best}`?"),
        None => format!("unknown key `{name}`, expected one of: {}", KEYS.join(", ")),
    };
    errors.error(key.span(), message);
}

/// Rejects networks too large to be reasonable at compile time; `false` if rejected.
fn check_size(errors: &mut Errors, net: &Net) -> bool {
    let params = net.widths().windows(2).try_fold(0usize, |acc, p| {
        p[0].checked_mul(p[1])?.checked_add(p[1])?.checked_add(acc)
    });
    match params {
        Some(n) if n <= MAX_PARAMS => true,
        _ => {
            errors.error(
                net.ident.span(),
                format_args!(
                    "network `{}` has more than {MAX_PARAMS} parameters; reduce the widths",
                    net.ident.unraw()
                ),
            );
            false
        }
    }
}
