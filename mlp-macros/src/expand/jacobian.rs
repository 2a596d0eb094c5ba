//! `jacobian`, `jacobian_into` and `jvp`: `J = ∂y/∂x = J_L ⋯ J_1` with
//! `J_l = diag(σ_l'(z_l)) W_l`, as one straight line of shape-typed kernel calls.
//!
//! The macro knows every width, so it picks, at compile time, the end of the chain to
//! multiply from: from the output side (`∂y/∂h_{l−1} = ∂y/∂h_l J_l`, intermediates
//! `N_L×N_l`), or from the input side (`∂z_l/∂x = W_l diag(σ_{l−1}') ∂z_{l−1}/∂x`,
//! intermediates `N_l×N_0`), whichever takes fewer multiply-adds.

use super::{field, Ctx};
use crate::model::Scalar;
use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned};

/// The end of `J_L ⋯ J_1` the product starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    /// `∂z_l/∂x` for `l = 1, …, L`, then `J = diag(σ_L') ∂z_L/∂x`.
    FromInput,
    /// `∂y/∂h_{l−1}` for `l = L, …, 1`, ending at `J = ∂y/∂h_0`.
    FromOutput,
}

/// The multiply-adds of each order for the widths `N_0..N_L`: `(from input, from output)`.
///
/// From the input: `N_L N_0 + Σ_{l=2..L} N_l N_{l−1} N_0`; from the output:
/// `N_L N_{L−1} + Σ_{l=1..L−1} N_L N_l N_{l−1}`.
fn costs(widths: &[usize]) -> (usize, usize) {
    let layers = widths.len() - 1;
    let (n0, nl) = (widths[0], widths[layers]);
    let from_input = nl * n0
        + (2..=layers)
            .map(|l| widths[l] * widths[l - 1] * n0)
            .sum::<usize>();
    let from_output = nl * widths[layers - 1]
        + (1..layers)
            .map(|l| nl * widths[l] * widths[l - 1])
            .sum::<usize>();
    (from_input, from_output)
}

/// The cheaper order; from the output side on a tie, as `backward` runs.
fn order(widths: &[usize]) -> Order {
    let (from_input, from_output) = costs(widths);
    if from_output <= from_input {
        Order::FromOutput
    } else {
        Order::FromInput
    }
}

/// The inherent `jacobian`, `jacobian_into` and `jvp`, and the runtime's `Jacobian` trait.
pub fn jacobian(cx: &Ctx) -> TokenStream {
    let ident = &cx.net.ident;
    let p = cx.private();
    let (input, output) = (cx.vector(0), cx.vector(cx.layers()));
    let jac = shape(cx, cx.widths[0], cx.widths[cx.layers()]);
    let forward = (1..=cx.layers()).map(|l| layer_with_derivative(cx, l));
    let chain = match order(&cx.widths) {
        Order::FromInput => from_input(cx),
        Order::FromOutput => from_output(cx),
    };
    let (n0, nl) = (
        Literal::usize_unsuffixed(cx.widths[0]),
        Literal::usize_unsuffixed(cx.widths[cx.layers()]),
    );
    let jvp = jvp_steps(cx);
    let last_t = field("__t", cx.layers(), cx.span(cx.layers()));
    let [d_jacobian, d_into, d_jvp] = [docs_jacobian(cx), docs_into(cx), docs_jvp(cx)];
    let allowed = super::allowed_lints();
    quote! {
        #allowed
        impl #ident {
            #[doc = #d_jacobian]
            #[must_use]
            pub fn jacobian(&self, x: &#input) -> #jac {
                let mut __jacobian: #jac = [[0.0; #n0]; #nl];
                self.jacobian_into(x, &mut __jacobian);
                __jacobian
            }

            #[doc = #d_into]
            pub fn jacobian_into(&self, x: &#input, jacobian: &mut #jac) {
                #(#forward)*
                #chain
            }

            #[doc = #d_jvp]
            #[must_use]
            pub fn jvp(&self, x: &#input, v: &#input) -> #output {
                #(#jvp)*
                #last_t
            }
        }

        #[automatically_derived]
        impl #p::Jacobian for #ident {
            type Matrix = #jac;
            fn jacobian(&self, x: &#input) -> #jac {
                #ident::jacobian(self, x)
            }
            fn jacobian_into(&self, x: &#input, jacobian: &mut #jac) {
                #ident::jacobian_into(self, x, jacobian)
            }
            fn jvp(&self, x: &#input, v: &#input) -> #output {
                #ident::jvp(self, x, v)
            }
        }
    }
}

/// `[[T; cols]; rows]`.
fn shape(cx: &Ctx, cols: usize, rows: usize) -> TokenStream {
    let t = &cx.t;
    let (cols, rows) = (
        Literal::usize_unsuffixed(cols),
        Literal::usize_unsuffixed(rows),
    );
    quote!([[#t; #cols]; #rows])
}

/// Layer `l` of the forward pass into locals `__z{l}`, `__h{l}` (reading `x` or
/// `__h{l−1}`), and `__s{l} = σ_l'(z_l)`.
fn layer_with_derivative(cx: &Ctx, l: usize) -> TokenStream {
    let p = cx.private();
    let span = cx.span(l);
    let (z, h, s) = (
        field("__z", l, span),
        field("__h", l, span),
        field("__s", l, span),
    );
    let dense = dense_cached(cx, l, &z, &h);
    let act = cx.activation(l);
    quote_spanned! {span=>
        #dense
        let #s = #p::derivative(&#act, &#z, &#h);
    }
}

/// `let mut __z{l}, __h{l}` and the `dense_cached` call that fills them.
fn dense_cached(cx: &Ctx, l: usize, z: &syn::Ident, h: &syn::Ident) -> TokenStream {
    let p = cx.private();
    let span = cx.span(l);
    let w = field("w", l, span);
    let v = cx.vector(l);
    let n = Literal::usize_unsuffixed(cx.widths[l]);
    let prev = cx.layer_input(l, quote!(x), "__h");
    let act = cx.activation(l);
    let call = if cx.net.bias {
        let b = field("b", l, span);
        quote_spanned!(span=> #p::dense_cached(&self.#w, &self.#b, #prev, &#act, &mut #z, &mut #h);)
    } else {
        quote_spanned!(span=> #p::dense_cached_unbiased(&self.#w, #prev, &#act, &mut #z, &mut #h);)
    };
    quote_spanned! {span=>
        let mut #z: #v = [0.0; #n];
        let mut #h: #v = [0.0; #n];
        #call
    }
}

/// `∂z_1/∂x = W_1`, `∂z_l/∂x = W_l diag(σ_{l−1}') ∂z_{l−1}/∂x`, `J = diag(σ_L') ∂z_L/∂x`.
fn from_input(cx: &Ctx) -> TokenStream {
    let p = cx.private();
    let layers = cx.layers();
    let mut steps = TokenStream::new();
    let w1 = field("w", 1, cx.span(1));
    let mut dz_prev = quote!(&self.#w1);
    for l in 2..=layers {
        let span = cx.span(l);
        let (w, s_prev) = (field("w", l, span), field("__s", l - 1, cx.span(l - 1)));
        let dz = field("__dz", l, span);
        let ty = shape(cx, cx.widths[0], cx.widths[l]);
        steps.extend(quote_spanned! {span=>
            let mut #dz: #p::Boxed<#ty> = #p::zeros_matrix();
            #p::gemm_diag(&mut #dz, &self.#w, &#s_prev, #dz_prev);
        });
        dz_prev = quote!(&#dz);
    }
    let span = cx.span(layers);
    let s_last = field("__s", layers, span);
    steps.extend(quote_spanned!(span=> #p::scale_rows(jacobian, &#s_last, #dz_prev);));
    steps
}

/// `∂y/∂h_{L−1} = diag(σ_L') W_L`, `∂y/∂h_{l−1} = ∂y/∂h_l diag(σ_l') W_l`, `J = ∂y/∂h_0`.
fn from_output(cx: &Ctx) -> TokenStream {
    let p = cx.private();
    let layers = cx.layers();
    let n_out = cx.widths[layers];
    // Where `∂y/∂h_{l−1}` goes: the caller's matrix for `l = 1`, a new boxed one otherwise.
    let target = |l: usize| -> (TokenStream, TokenStream) {
        if l == 1 {
            (TokenStream::new(), quote!(jacobian))
        } else {
            let dh = field("__dh", l - 1, cx.span(l - 1));
            let ty = shape(cx, cx.widths[l - 1], n_out);
            (
                quote!(let mut #dh: #p::Boxed<#ty> = #p::zeros_matrix();),
                quote!(&mut #dh),
            )
        }
    };
    let span = cx.span(layers);
    let (w, s) = (field("w", layers, span), field("__s", layers, span));
    let (declare, out) = target(layers);
    let mut steps = quote_spanned! {span=>
        #declare
        #p::scale_rows(#out, &#s, &self.#w);
    };
    for l in (1..layers).rev() {
        let span = cx.span(l);
        let (w, s) = (field("w", l, span), field("__s", l, span));
        let dh = field("__dh", l, span);
        let (declare, out) = target(l);
        steps.extend(quote_spanned! {span=>
            #declare
            #p::gemm_diag(#out, &#dh, &#s, &self.#w);
        });
    }
    steps
}

/// The forward pass with `t_0 = v`, `t_l = σ_l'(z_l) ⊙ (W_l t_{l−1})`.
fn jvp_steps(cx: &Ctx) -> Vec<TokenStream> {
    let p = cx.private();
    (1..=cx.layers())
        .map(|l| {
            let span = cx.span(l);
            let (z, h, t) = (
                field("__z", l, span),
                field("__h", l, span),
                field("__t", l, span),
            );
            let dense = dense_cached(cx, l, &z, &h);
            let w = field("w", l, span);
            let t_prev = cx.layer_input(l, quote!(v), "__t");
            let act = cx.activation(l);
            quote_spanned! {span=>
                #dense
                let #t = #p::delta(&#act, &#z, &#h, &#p::gemv(&self.#w, #t_prev));
            }
        })
        .collect()
}

/// `rows×cols` with the real numbers.
fn dims(rows: usize, cols: usize) -> String {
    format!("{rows}×{cols}")
}

/// The doc of `jacobian`.
fn docs_jacobian(cx: &Ctx) -> String {
    let (n0, layers) = (cx.widths[0], cx.layers());
    let nl = cx.widths[layers];
    let size = match cx.net.scalar {
        Scalar::F32 => 4,
        Scalar::F64 => 8,
    };
    let bytes = n0 * nl * size;
    format!(
        " Computes the Jacobian `J = ∂y/∂x` ({}) at `x`, with `J[i][j] = ∂y_i/∂x_j`, and \
          returns it on the stack ({bytes} bytes); [`Self::jacobian_into`] writes into a \
          matrix the caller owns instead (a `Box`, for a large one).{}",
        dims(nl, n0),
        chain_math(cx)
    )
}

/// The doc of `jacobian_into`.
fn docs_into(cx: &Ctx) -> String {
    format!(
        " Writes the Jacobian `J = ∂y/∂x` ({}) at `x` into `jacobian`, overwriting every \
          entry: `jacobian[i][j] = ∂y_i/∂x_j`. Computed as [`Self::jacobian`] documents.",
        dims(cx.widths[cx.layers()], cx.widths[0])
    )
}

/// The chain `J = J_L ⋯ J_1`, with the order the product is evaluated in and its cost.
fn chain_math(cx: &Ctx) -> String {
    let layers = cx.layers();
    let w = &cx.widths;
    let mut s = String::from("\n\n```text");
    for l in 1..=layers {
        s += &format!(
            "\nJ_{l} = diag(σ_{l}'(z_{l})) W_{l}   ({})",
            dims(w[l], w[l - 1])
        );
    }
    let factors: Vec<String> = (1..=layers).rev().map(|l| format!("J_{l}")).collect();
    let shapes: Vec<String> = (1..=layers).rev().map(|l| dims(w[l], w[l - 1])).collect();
    s += &format!(
        "\nJ = {}   ({} → {})\n```",
        factors.join(" "),
        shapes.join(" · "),
        dims(w[layers], w[0])
    );
    s += "\n\nwith `z_l` from the forward pass at `x`.";
    if layers == 1 {
        return s;
    }
    let (from_input, from_output) = costs(w);
    let mut steps = String::from("\n\n```text");
    match order(w) {
        Order::FromOutput => {
            s += &format!(
                " The product runs from the output side, `∂y/∂h_{{l−1}} = ∂y/∂h_l J_l`, in \
                 {from_output} multiply-adds (from the input side: {from_input}), with \
                 intermediates `N_L×N_l` in `Boxed` storage (on the heap with `alloc`):"
            );
            steps += &format!(
                "\n∂y/∂h_{} = diag(σ_{layers}'(z_{layers})) W_{layers}   ({})",
                layers - 1,
                dims(w[layers], w[layers - 1])
            );
            for l in (1..layers).rev() {
                steps += &format!(
                    "\n∂y/∂h_{} = ∂y/∂h_{l} diag(σ_{l}'(z_{l})) W_{l}   ({} · {} → {})",
                    l - 1,
                    dims(w[layers], w[l]),
                    dims(w[l], w[l - 1]),
                    dims(w[layers], w[l - 1])
                );
            }
            steps += "\nJ = ∂y/∂h_0";
        }
        Order::FromInput => {
            s += &format!(
                " The product runs from the input side, `∂z_l/∂x = W_l diag(σ_{{l−1}}') \
                 ∂z_{{l−1}}/∂x`, in {from_input} multiply-adds (from the output side: \
                 {from_output}), with intermediates `N_l×N_0` in `Boxed` storage (on the heap \
                 with `alloc`):"
            );
            steps += &format!("\n∂z_1/∂x = W_1   ({})", dims(w[1], w[0]));
            for l in 2..=layers {
                steps += &format!(
                    "\n∂z_{l}/∂x = W_{l} diag(σ_{}'(z_{})) ∂z_{}/∂x   ({} · {} → {})",
                    l - 1,
                    l - 1,
                    l - 1,
                    dims(w[l], w[l - 1]),
                    dims(w[l - 1], w[0]),
                    dims(w[l], w[0])
                );
            }
            steps += &format!(
                "\nJ = diag(σ_{layers}'(z_{layers})) ∂z_{layers}/∂x   ({})",
                dims(w[layers], w[0])
            );
        }
    }
    s + &steps + "\n```"
}

/// The doc of `jvp`.
fn docs_jvp(cx: &Ctx) -> String {
    let w = &cx.widths;
    let mut s = format!(
        " Computes the Jacobian-vector product `J v` ({}) at `x` in forward mode: the \
          tangent `t_l = ∂h_l/∂x · v` rides along the forward pass, so `J` is never formed.\
          \n\n```text\nt_0 = v   ({})",
        w[cx.layers()],
        w[0]
    );
    for l in 1..=cx.layers() {
        s += &format!(
            "\nt_{l} = σ_{l}'(z_{l}) ⊙ (W_{l} t_{})   ({} · {} → {})",
            l - 1,
            dims(w[l], w[l - 1]),
            w[l - 1],
            w[l]
        );
    }
    s += &format!("\nJ v = t_{}\n```", cx.layers());
    s
}

#[cfg(test)]
mod tests {
    use super::{costs, order, Order};

    #[test]
    fn costs_count_the_products_of_each_order() {
        // 2-8-8-1. From the input: W_2 diag ∂z_1/∂x (8·8·2), W_3 diag ∂z_2/∂x (1·8·2),
        // diag(s_3) (1·2). From the output: diag(s_3) W_3 (1·8), then 1×8 · 8×8 (1·8·8) and
        // 1×8 · 8×2 (1·8·2).
        assert_eq!(
            costs(&[2, 8, 8, 1]),
            (8 * 8 * 2 + 8 * 2 + 2, 8 + 8 * 8 + 8 * 2)
        );
        // 784-128-10, a classifier.
        assert_eq!(
            costs(&[784, 128, 10]),
            (128 * 784 * 10 + 10 * 784, 10 * 128 + 10 * 128 * 784)
        );
        // One layer: both are `diag(s_1) W_1`.
        assert_eq!(costs(&[3, 2]), (6, 6));
    }

    #[test]
    fn the_cheaper_end_is_chosen() {
        // Few outputs, many inputs.
        assert_eq!(order(&[784, 128, 10]), Order::FromOutput);
        assert_eq!(order(&[2, 8, 8, 1]), Order::FromOutput);
        // Few inputs, many outputs.
        assert_eq!(order(&[2, 64, 100]), Order::FromInput);
        assert_eq!(order(&[2, 3, 2]), Order::FromInput);
        // A tie goes to the output side, as backward runs.
        assert_eq!(order(&[3, 2]), Order::FromOutput);
    }
}
