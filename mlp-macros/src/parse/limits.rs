//! Bounds on an activation's expression, checked on its tokens before syn parses it.

use proc_macro2::TokenTree;
use syn::parse::ParseStream;
use syn::Ident;

/// The most tokens an activation's expression may have (a group and each token inside it
/// count once each).
pub const MAX_TOKENS: usize = 512;

/// The deepest an activation's expression may nest: parentheses, brackets, call arguments
/// and runs of prefix operators (`- - z`) each add a level.
pub const MAX_DEPTH: usize = 32;

/// Checks an activation's expression, the tokens from `input` up to the top-level `;`,
/// against [`MAX_TOKENS`] and [`MAX_DEPTH`] before it is parsed, so that neither syn's
/// recursive parser nor anything after it can exhaust the stack or take long. Iterative.
pub fn check_limits(activation: &Ident, input: ParseStream) -> syn::Result<()> {
    let mut top = Vec::new();
    while !input.is_empty() && !input.peek(syn::Token![;]) {
        top.push(input.parse::<TokenTree>()?);
        if top.len() > MAX_TOKENS {
            break;
        }
    }
    let too_long = |at: &TokenTree| {
        syn::Error::new(
            at.span(),
            format_args!(
                "the expression of activation `{activation}` is too long: expressions are \
                 limited to {MAX_TOKENS} tokens"
            ),
        )
    };
    let mut count = 0;
    // The token lists still to scan, each with the depth of the groups around it.
    let mut pending: Vec<(Vec<TokenTree>, usize)> = vec![(top, 0)];
    while let Some((tokens, depth)) = pending.pop() {
        let mut prefix_run = 0;
        for token in tokens {
            count += 1;
            if count > MAX_TOKENS {
                return Err(too_long(&token));
            }
            let level = match &token {
                TokenTree::Punct(p) if matches!(p.as_char(), '-' | '!' | '*' | '&') => {
                    prefix_run += 1;
                    depth + prefix_run
                }
                // An invisible group (from a `$e:expr` fragment) nests as parentheses do.
                TokenTree::Group(_) => {
                    prefix_run = 0;
                    depth + 1
                }
                _ => {
                    prefix_run = 0;
                    depth
                }
            };
            if level > MAX_DEPTH {
                return Err(syn::Error::new(
                    token.span(),
                    format_args!(
                        "the expression of activation `{activation}` nests too deeply: \
                         expressions are limited to {MAX_DEPTH} levels of parentheses, calls \
                         and prefix operators"
                    ),
                ));
            }
            if let TokenTree::Group(g) = token {
                pending.push((g.stream().into_iter().collect(), depth + 1));
            }
        }
    }
    Ok(())
}
