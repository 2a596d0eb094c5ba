//! Checks `activation name(z; a = 0.1) = expression;` items and derives each one.

use crate::ctxt::Ctxt;
use crate::lower::{lower, Scope};
use crate::model::{Builtin, Custom, Derived};
use crate::parse::{ActivationDef, Number};
use crate::symbolic::Graph;
use quote::format_ident;
use std::rc::Rc;
use syn::{Ident, Lit};

/// Checks every definition: unique names that do not shadow a built-in, distinct parameter
/// names with float defaults, and an expression in the supported language. Each valid one is
/// differentiated; the generated type is named `{Net}{Name}` (`NetSwish` for `swish`).
pub fn check_definitions(cx: &mut Ctxt, defs: &[ActivationDef], net: &Ident) -> Definitions {
    let mut customs: Vec<Rc<Custom>> = Vec::new();
    let mut failed = Vec::new();
    for def in defs {
        let name = def.name.to_string();
        if Builtin::from_name(&name).is_some() {
            cx.error(
                def.name.span(),
                format_args!("activation `{name}` is built in; choose another name"),
            );
            continue;
        }
        if customs.iter().any(|c| c.name == def.name) {
            cx.error(
                def.name.span(),
                format_args!("activation `{name}` is defined twice"),
            );
            continue;
        }
        match check_definition(cx, def, net) {
            Some(custom) => customs.push(Rc::new(custom)),
            None => failed.push(name),
        }
    }
    Definitions { customs, failed }
}

/// The checked `activation` items.
pub struct Definitions {
    /// The valid ones, differentiated.
    pub customs: Vec<Rc<Custom>>,
    /// The names of those with errors (already reported), so that their uses in `layers`
    /// cause no follow-on error.
    pub failed: Vec<String>,
}

/// Checks and derives one definition.
fn check_definition(cx: &mut Ctxt, def: &ActivationDef, net: &Ident) -> Option<Custom> {
    let mut ok = true;
    let mut params = Vec::new();
    for (i, param) in def.params.iter().enumerate() {
        if param.name == def.var || def.params[..i].iter().any(|p| p.name == param.name) {
            cx.error(
                param.name.span(),
                format_args!(
                    "duplicate name `{}` in activation `{}`",
                    param.name, def.name
                ),
            );
            ok = false;
            continue;
        }
        let default = match &param.default {
            Some(number) => match float_value(number) {
                Some(value) => Some(value),
                None => {
                    not_a_float(cx, number, &format!("the default of `{}`", param.name));
                    ok = false;
                    None
                }
            },
            None => None,
        };
        params.push((param.name.clone(), default));
    }
    let names: Vec<Ident> = def.params.iter().map(|p| p.name.clone()).collect();
    let scope = Scope {
        activation: &def.name,
        var: &def.var,
        params: &names,
    };
    let mut graph = Graph::default();
    let f = lower(cx, &mut graph, &scope, &def.expr);
    let (true, Some(f)) = (ok, f) else {
        return None;
    };
    let derived = Derived::new(graph, f, names.iter().map(ToString::to_string).collect());
    Some(Custom {
        name: def.name.clone(),
        type_name: format_ident!("{}{}", net, camel(&def.name.to_string())),
        params,
        derived,
    })
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

/// Reports a literal that should have been a float.
pub fn not_a_float(cx: &mut Ctxt, number: &Number, what: &str) {
    let (minus, lit) = (&number.minus, &number.lit);
    let hint = match lit {
        Lit::Int(i) => format!(
            ", found the integer `{}`; write `{}.0`",
            i.base10_digits(),
            i.base10_digits()
        ),
        _ => String::new(),
    };
    cx.error_spanned(
        quote::quote!(#minus #lit),
        format_args!("expected a float literal for {what}{hint}"),
    );
}

/// `leaky_relu` → `LeakyRelu`.
fn camel(name: &str) -> String {
    name.split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}
