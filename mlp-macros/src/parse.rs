//! The syntax tree of an `mlp!` invocation, and its parser.
//!
//! Parsing accepts every shape a value could plausibly take (negative or fractional widths,
//! unknown keys, any activation name) and keeps the tokens, so that `valid` can report each
//! semantic mistake at its own token, all of them at once.

mod limits;

use crate::kw;
use proc_macro2::{Span, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{
    braced, bracketed, parenthesized, token, Attribute, Ident, Lit, Path, Token, Visibility,
};

/// The whole input: activation definitions, then one network.
///
/// ```text
/// activation name(z) = expression;
/// activation name(z; a = 0.1, b) = expression;
/// #[attrs] pub struct Name { key: value, ... }
/// ```
pub struct Input {
    /// `activation ...;` items, in order.
    pub activations: Vec<ActivationDef>,
    /// The network declaration.
    pub net: NetSyntax,
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut activations = Vec::new();
        let net = loop {
            // Attributes belong to the `activation` or the struct that follows them.
            let attrs = input.call(Attribute::parse_outer)?;
            if input.peek(kw::activation) {
                let mut def: ActivationDef = input.parse()?;
                def.attrs = attrs;
                activations.push(def);
            } else {
                let mut net: NetSyntax = input.parse()?;
                net.attrs.splice(0..0, attrs);
                break net;
            }
        };
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the network declaration"));
        }
        Ok(Input { activations, net })
    }
}

/// `/// docs  #[allow(...)]  activation name(z; a = 0.1, b) = expression;`: a user-defined
/// activation.
pub struct ActivationDef {
    /// Doc comments and lint attributes, passed to the generated type (others are refused
    /// in `custom`).
    pub attrs: Vec<Attribute>,
    /// The activation's name, used in `layers`.
    pub name: Ident,
    /// The variable the expression is written in, conventionally `z`.
    pub var: Ident,
    /// Constant parameters, each with an optional default value.
    pub params: Vec<ParamDef>,
    /// `σ(z)`.
    pub expr: syn::Expr,
}

/// `a = 0.1` or `a`: a constant parameter of an activation.
pub struct ParamDef {
    /// The parameter's name, usable in the expression.
    pub name: Ident,
    /// The default value, if any.
    pub default: Option<Number>,
}

impl Parse for ActivationDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        input.parse::<kw::activation>()?;
        let name = input.call(Ident::parse_any)?;
        let content;
        parenthesized!(content in input);
        let var = content.call(Ident::parse_any)?;
        let mut params = Vec::new();
        if content.parse::<Option<Token![;]>>()?.is_some() {
            let list = content.parse_terminated(ParamDef::parse, Token![,])?;
            params.extend(list);
        }
        if !content.is_empty() {
            return Err(content.error("expected `;` and constant parameters, e.g. `(z; a = 0.1)`"));
        }
        input.parse::<Token![=]>()?;
        // Bounded before syn recurses into it: see `lower::check_limits`.
        limits::check_limits(&name, &input.fork())?;
        let expr = input.parse()?;
        input.parse::<Token![;]>()?;
        Ok(ActivationDef {
            attrs: Vec::new(),
            name,
            var,
            params,
            expr,
        })
    }
}

impl Parse for ParamDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name = input.call(Ident::parse_any)?;
        let default = if input.parse::<Option<Token![=]>>()?.is_some() {
            Some(input.parse()?)
        } else {
            None
        };
        Ok(ParamDef { name, default })
    }
}

/// `#[attrs] pub struct Name { key: value, ... }`, or the one-line arrow form
/// `#[attrs] pub struct Name = 2 -> 8 tanh -> 1 identity;`.
pub struct NetSyntax {
    /// Doc comments and other attributes, passed through to the struct.
    pub attrs: Vec<Attribute>,
    /// The struct's visibility, also given to the cache and gradient structs.
    pub vis: Visibility,
    /// The struct's name.
    pub ident: Ident,
    /// `key: value` pairs in the order written.
    pub fields: Punctuated<Field, Token![,]>,
}

impl Parse for NetSyntax {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let lookahead = input.lookahead1();
        if !lookahead.peek(Token![struct]) {
            lookahead.peek(kw::activation);
            return Err(lookahead.error());
        }
        input.parse::<Token![struct]>()?;
        let ident = input.parse()?;
        let lookahead = input.lookahead1();
        let fields = if lookahead.peek(token::Brace) {
            let content;
            braced!(content in input);
            content.parse_terminated(Field::parse, Token![,])?
        } else if lookahead.peek(Token![=]) {
            arrow_form(input)?
        } else {
            return Err(lookahead.error());
        };
        Ok(NetSyntax {
            attrs,
            vis,
            ident,
            fields,
        })
    }
}

/// The one-line form `= 2 -> 8 tanh -> 1 identity;`, read as the fields
/// `input: 2, layers: [8 tanh, 1 identity]` (scalar `f32`, with biases).
fn arrow_form(input: ParseStream) -> syn::Result<Punctuated<Field, Token![,]>> {
    let eq = input.parse::<Token![=]>()?;
    let width: Width = input.parse()?;
    let mut layers = Punctuated::new();
    while input.peek(Token![->]) {
        input.parse::<Token![->]>()?;
        layers.push(input.parse::<LayerSyntax>()?);
    }
    if !input.peek(Token![;]) {
        return Err(input.error("expected `-> width activation` or `;`"));
    }
    input.parse::<Token![;]>()?;
    let bracket = token::Bracket(eq.span);
    let mut fields = Punctuated::new();
    fields.push(Field {
        attrs: Vec::new(),
        key: Ident::new("input", width.span()),
        value: Value::Input(width),
    });
    fields.push(Field {
        attrs: Vec::new(),
        key: Ident::new("layers", eq.span),
        value: Value::Layers(Layers { bracket, layers }),
    });
    Ok(fields)
}

/// `key: value`
pub struct Field {
    /// Attributes written before the key, refused in `valid` (keys take no docs).
    pub attrs: Vec<Attribute>,
    /// The key as written (`crate` included, as an identifier).
    pub key: Ident,
    /// The value, parsed according to the key.
    pub value: Value,
}

/// The value of one `key: value` pair.
pub enum Value {
    /// `scalar: f32`: any identifier, checked later.
    Scalar(Ident),
    /// `input: 2`: a width.
    Input(Width),
    /// `layers: [8 tanh, 1 identity]`.
    Layers(Layers),
    /// `bias: true`.
    Bias(syn::LitBool),
    /// `crate: ::path::to::mlp`.
    Crate(Path),
    /// `operators: [gradient, laplacian]`.
    Operators(crate::operators::OperatorsSyntax),
    /// The value of an unknown key, skipped up to the next comma.
    Unknown,
}

impl Parse for Field {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        if !input.peek(Ident::peek_any) {
            return Err(input.error(format_args!(
                "expected a key, one of: {}",
                crate::kw::KEYS.join(", ")
            )));
        }
        let key = Ident::parse_any(input)?;
        input.parse::<Token![:]>()?;
        let value = match key.unraw().to_string().as_str() {
            "scalar" if input.peek(syn::LitStr) => {
                let lit: syn::LitStr = input.parse()?;
                return Err(syn::Error::new(
                    lit.span(),
                    format_args!(
                        "expected `f32` or `f64` as a type name, without quotes, found the string {}",
                        lit.to_token_stream()
                    ),
                ));
            }
            "scalar" => Value::Scalar(input.call(Ident::parse_any)?),
            "input" => Value::Input(input.parse()?),
            "layers" => Value::Layers(input.parse()?),
            "bias" => Value::Bias(input.parse()?),
            "crate" => Value::Crate(input.call(Path::parse_mod_style)?),
            "operators" => Value::Operators(input.parse()?),
            _ => {
                skip_to_comma(input)?;
                Value::Unknown
            }
        };
        Ok(Field { attrs, key, value })
    }
}

/// Consumes token trees up to (not including) the next top-level comma.
fn skip_to_comma(input: ParseStream) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(Token![,]) {
        input.parse::<TokenTree>()?;
    }
    Ok(())
}

/// `[8 tanh, 8 leaky_relu(0.1), 1 identity]`
pub struct Layers {
    /// The brackets, for the error on an empty list.
    pub bracket: token::Bracket,
    /// The layers in order, `1..=L`.
    pub layers: Punctuated<LayerSyntax, Token![,]>,
}

impl Parse for Layers {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let content;
        let bracket = bracketed!(content in input);
        let layers = content.parse_terminated(LayerSyntax::parse, Token![,])?;
        Ok(Layers { bracket, layers })
    }
}

/// `8 tanh` or `8 leaky_relu(0.1)`: a width and an activation.
pub struct LayerSyntax {
    /// The number of output units.
    pub width: Width,
    /// The activation applied to them.
    pub activation: ActivationSyntax,
}

impl Parse for LayerSyntax {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let width = input.parse()?;
        if input.is_empty()
            || input.peek(Token![,])
            || input.peek(Token![->])
            || input.peek(Token![;])
        {
            return Err(input.error("expected an activation after the width, e.g. `8 tanh`"));
        }
        let activation = input.parse()?;
        Ok(LayerSyntax { width, activation })
    }
}

/// A width as written: `8`, or a mistake such as `-8`, `2.5` or `"8"`, kept for the error.
pub struct Width {
    /// A leading minus sign.
    pub minus: Option<Token![-]>,
    /// The literal.
    pub lit: Lit,
}

impl Width {
    /// The span of the whole width, minus sign included.
    pub fn span(&self) -> Span {
        match &self.minus {
            Some(minus) => minus.span.join(self.lit.span()).unwrap_or(minus.span),
            None => self.lit.span(),
        }
    }
}

impl Parse for Width {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let minus = input.parse()?;
        if !input.peek(syn::Lit) {
            return Err(input.error("expected a width, an integer literal such as `8`"));
        }
        let width = Width {
            minus,
            lit: input.parse()?,
        };
        // `2 + 2`, `4 * N`: an operator after the literal (but not the arrow form's `->`).
        if !input.peek(Token![->]) && input.cursor().punct().is_some() {
            if let Ok(op) = input.fork().parse::<syn::BinOp>() {
                return Err(syn::Error::new_spanned(
                    op,
                    "expected a width, an integer literal such as `8`: constant expressions are \
                     not supported in widths",
                ));
            }
        }
        Ok(width)
    }
}

/// `tanh` or `leaky_relu(0.1)`.
pub struct ActivationSyntax {
    /// The activation's name.
    pub name: Ident,
    /// Parenthesised parameters, if any.
    pub params: Option<Params>,
}

/// `(0.1)`: the parameters of an activation at its use in `layers`.
pub struct Params {
    /// The parentheses.
    pub paren: token::Paren,
    /// The parameters, each a literal with an optional minus sign.
    pub values: Punctuated<Number, Token![,]>,
}

/// A numeric literal with an optional leading minus sign.
pub struct Number {
    /// A leading minus sign.
    pub minus: Option<Token![-]>,
    /// The literal.
    pub lit: Lit,
}

impl Parse for ActivationSyntax {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name = input.call(Ident::parse_any)?;
        let params = if input.peek(token::Paren) {
            let content;
            let paren = parenthesized!(content in input);
            let values = content.parse_terminated(Number::parse, Token![,])?;
            Some(Params { paren, values })
        } else {
            None
        };
        Ok(ActivationSyntax { name, params })
    }
}

impl Parse for Number {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let minus = input.parse()?;
        if !input.peek(syn::Lit) {
            return Err(input.error("expected a number"));
        }
        Ok(Number {
            minus,
            lit: input.parse()?,
        })
    }
}
