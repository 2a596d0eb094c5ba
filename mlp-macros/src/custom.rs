//! Checks `activation name(z; a = 0.1) = expression;` items and derives each one.

pub mod lower;

use crate::errors::Errors;
use crate::literal::{float_param, same};
use crate::model::{Builtin, Custom, Derived, Scalar};
use crate::parse::ActivationDef;
use crate::symbolic::{Graph, Node};
use lower::{lower, Scope};
use std::rc::Rc;
use syn::ext::IdentExt;
use syn::{Attribute, Ident};

/// The types `mlp!` declares for a network `Net` besides `Net` itself, by suffix, and what
/// each is (for the error when an activation's type would take the name).
pub const COMPANIONS: &[(&str, &str)] = &[
    ("Cache", "the cache"),
    ("Grads", "the gradients"),
    ("BatchCache", "the batch cache"),
    ("Frozen", "the frozen copy"),
];

/// Checks every definition: unique names that do not shadow a built-in, distinct parameter
/// names with float defaults, and an expression in the supported language. Each valid one is
/// differentiated; the generated type is named `{Net}{Name}` (`NetSwish` for `swish`), and
/// no two generated types may share a name.
pub fn check_definitions(
    errors: &mut Errors,
    defs: &[ActivationDef],
    net: &Ident,
    scalar: Scalar,
) -> Definitions {
    let mut customs: Vec<Rc<Custom>> = Vec::new();
    let mut failed = Vec::new();
    let mut placeholders = Vec::new();
    // Every generated type name so far, with what it names.
    let mut taken: Vec<(String, String)> = vec![(
        net.unraw().to_string(),
        format!("the network `{}`", net.unraw()),
    )];
    for (suffix, what) in COMPANIONS {
        taken.push((
            format!("{}{suffix}", net.unraw()),
            format!("{what} of `{}`", net.unraw()),
        ));
    }
    let names: Vec<Ident> = defs.iter().map(|d| d.name.clone()).collect();
    for (i, def) in defs.iter().enumerate() {
        let name = def.name.unraw().to_string();
        if Builtin::from_name(&name).is_some() {
            errors.error(
                def.name.span(),
                format_args!("activation `{name}` is built in; choose another name"),
            );
            failed.push(name);
            continue;
        }
        if defs[..i].iter().any(|d| same(&d.name, &def.name)) {
            errors.error(
                def.name.span(),
                format_args!("activation `{name}` is defined twice"),
            );
            continue;
        }
        check_attrs(errors, &def.attrs, &name);
        let type_name = type_name(errors, def, net, &mut taken);
        let scope = Scope {
            activation: &def.name,
            var: &def.var,
            params: &[],
            scalar,
            activations: &names,
        };
        match (check_definition(errors, def, &scope), type_name) {
            (Some((params, derived)), Some(type_name)) => customs.push(Rc::new(Custom {
                name: def.name.clone(),
                type_name,
                params,
                derived,
                docs: docs_and_lints(&def.attrs),
            })),
            (params, type_name) => {
                failed.push(name);
                if let Some(type_name) = type_name {
                    placeholders.push(Rc::new(Custom {
                        name: def.name.clone(),
                        type_name,
                        params: params.map(|(p, _)| p).unwrap_or_default(),
                        derived: Builtin::Identity.derived(),
                        docs: docs_and_lints(&def.attrs),
                    }));
                }
            }
        }
    }
    Definitions {
        customs,
        failed,
        placeholders,
    }
}

/// The checked `activation` items.
pub struct Definitions {
    /// The valid ones, differentiated.
    pub customs: Vec<Rc<Custom>>,
    /// The names of those with errors (already reported), so that their uses in `layers`
    /// cause no follow-on error.
    pub failed: Vec<String>,
    /// Stand-ins for the failed ones whose type name is valid (the identity), declared by the
    /// fallback expansion so that code naming their types sees no follow-on error.
    pub placeholders: Vec<Rc<Custom>>,
}

/// Only doc comments and lint levels (`allow`, `expect`, `warn`, `deny`) go on an
/// activation; they are passed to its generated type.
fn check_attrs(errors: &mut Errors, attrs: &[Attribute], name: &str) {
    for attr in attrs {
        if !is_doc_or_lint(attr) {
            errors.error_spanned(
                attr,
                format_args!(
                    "unsupported attribute on activation `{name}`: expected doc comments or \
                     `#[allow(...)]`, `#[expect(...)]`, `#[warn(...)]`, `#[deny(...)]`"
                ),
            );
        }
    }
}

/// Whether `attr` is a doc comment or a lint level.
fn is_doc_or_lint(attr: &Attribute) -> bool {
    ["doc", "allow", "expect", "warn", "deny"]
        .iter()
        .any(|name| attr.path().is_ident(name))
}

/// The doc comments and lint levels among `attrs`.
fn docs_and_lints(attrs: &[Attribute]) -> Vec<Attribute> {
    attrs
        .iter()
        .filter(|a| is_doc_or_lint(a))
        .cloned()
        .collect()
}

/// `{Net}{Name}` for the activation `name` of the network `net`, if that is an identifier.
/// `syn` refuses what `format_ident!` would panic on (and keywords).
pub fn type_ident(net: &Ident, name: &Ident) -> Option<Ident> {
    let text = format!("{}{}", net.unraw(), camel(&name.unraw().to_string()));
    let mut ident = syn::parse_str::<Ident>(&text).ok()?;
    ident.set_span(net.span());
    Some(ident)
}

/// `{Net}{Name}`, validated as an identifier before it is made one, and distinct from every
/// other type the call generates (recorded in `taken`).
fn type_name(
    errors: &mut Errors,
    def: &ActivationDef,
    net: &Ident,
    taken: &mut Vec<(String, String)>,
) -> Option<Ident> {
    let name = def.name.unraw().to_string();
    let camel = camel(&name);
    let text = format!("{}{camel}", net.unraw());
    if let Some((_, what)) = taken.iter().find(|(t, _)| *t == text) {
        let message = if camel.is_empty() {
            format!(
                "activation `{name}` has no letters or digits to name its type (`{text}` is the \
                 network); choose a name such as `my_activation`"
            )
        } else {
            format!(
                "activation `{name}` would generate the type `{text}`, which is already {what}; \
                 rename the activation"
            )
        };
        errors.error(def.name.span(), message);
        return None;
    }
    let Some(ident) = type_ident(net, &def.name) else {
        errors.error(
            def.name.span(),
            format_args!(
                "activation `{name}` would generate the type `{text}`, which is not a valid \
                 identifier; rename the activation"
            ),
        );
        return None;
    };
    taken.push((text, format!("the type of activation `{name}`")));
    Some(ident)
}

/// A definition's parameters: each name with its default, if any.
type Params = Vec<(Ident, Option<f64>)>;

/// A definition's parameters and its derivation, if they are valid (every problem is
/// recorded in `errors`). The parameters come back even when the expression fails.
fn check_definition(
    errors: &mut Errors,
    def: &ActivationDef,
    scope: &Scope,
) -> Option<(Params, Derived)> {
    let mut ok = true;
    let mut params = Vec::new();
    for (i, param) in def.params.iter().enumerate() {
        if same(&param.name, &def.var) || def.params[..i].iter().any(|p| same(&p.name, &param.name))
        {
            errors.error(
                param.name.span(),
                format_args!(
                    "duplicate name `{}` in activation `{}`",
                    param.name.unraw(),
                    def.name.unraw()
                ),
            );
            ok = false;
            continue;
        }
        let default = match &param.default {
            Some(number) => {
                let what = format!("the default of `{}`", param.name.unraw());
                let value = float_param(errors, number, scope.scalar, &what);
                ok &= value.is_some();
                value
            }
            None => None,
        };
        params.push((param.name.clone(), default));
    }
    let names: Vec<Ident> = def.params.iter().map(|p| p.name.clone()).collect();
    let scope = Scope {
        params: &names,
        ..*scope
    };
    let mut graph = Graph::default();
    let f = lower(errors, &mut graph, &scope, &def.expr);
    let (true, Some(f)) = (ok, f) else {
        return None;
    };
    let param_names = names.iter().map(|n| n.unraw().to_string()).collect();
    let derived = Derived::new(graph, f, param_names);
    check_derived(errors, def, &derived, scope.scalar).then_some((params, derived))
}

/// The derivative is within [`Graph::MAX_NODES`] and every constant in it is a finite value
/// of the scalar type (the expression's own constants were checked as they were lowered).
fn check_derived(
    errors: &mut Errors,
    def: &ActivationDef,
    derived: &Derived,
    scalar: Scalar,
) -> bool {
    let graph = &derived.graph;
    let name = def.name.unraw();
    if graph.overflowed() {
        errors.error_spanned(
            &def.expr,
            format_args!(
                "activation `{name}` is too large to differentiate: the expression and its \
                 derivative are limited to {} nodes together",
                Graph::MAX_NODES
            ),
        );
        return false;
    }
    for id in graph.topological(derived.df) {
        if let Node::Const(bits) = graph.node(id) {
            let value = f64::from_bits(bits);
            if let Err(problem) = scalar.check(value) {
                errors.error_spanned(
                    &def.expr,
                    format_args!(
                        "the derivative of activation `{name}` has the constant {value:?}, \
                         which {problem}"
                    ),
                );
                return false;
            }
        }
    }
    true
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
