//! The network's attributes reach every generated item: `#[cfg]` gates them all,
//! `#[allow]` covers the companions, `#[deprecated]` warns only where the struct is named;
//! raw identifiers work as keys, activation names and struct names; activation definitions
//! take doc comments and lint levels.

/// A network compiled out: every generated item is gated with it, so these items of the same
/// names would collide with any that were not (and an ungated `impl Gone` would not compile).
mod gated {
    #![allow(dead_code)]

    mlp::mlp! {
        activation swish(z) = z * sigmoid(z);
        #[cfg(any())]
        pub struct Gone { input: 2, layers: [3 swish, 1 identity] }
    }

    pub struct GoneCache;
    pub struct GoneGrads;
    pub struct GoneBatchCache;
    pub struct GoneFrozen;
    pub struct GoneSwish;

    mlp::mlp! {
        #[cfg(all())]
        pub struct Kept { input: 2, layers: [1 identity] }
    }
}

/// Generated code names the deprecated struct everywhere; none of it warns.
#[deny(deprecated)]
mod deprecated {
    mlp::mlp! {
        activation soft(z) = z / (1.0 + z.abs());
        #[deprecated = "use a newer network"]
        pub struct Old { input: 2, layers: [3 soft, 1 identity] }
    }
}

/// Raw identifiers everywhere, and a lower-case struct name whose companions are covered
/// by the struct's `#[allow]`.
#[deny(non_camel_case_types, warnings)]
mod raw {
    mlp::mlp! {
        /// An activation named with a keyword.
        #[allow(clippy::suboptimal_flops)]
        activation r#fn(r#z; r#type = 0.5) = r#type * r#z + z.tanh();
        activation r#match(z) = z * z;
        #[allow(non_camel_case_types)]
        pub struct r#loop {
            r#input: 2,
            r#layers: [3 r#fn(0.25), 2 r#match, 1 r#tanh],
            r#scalar: r#f64,
        }
    }
}

#[test]
fn cfg_gates_every_item() {
    let _ = (gated::GoneCache, gated::GoneGrads, gated::GoneBatchCache);
    let _ = (gated::GoneFrozen, gated::GoneSwish);
    assert_eq!(gated::Kept::PARAMS, 3);
    let _ = gated::KeptCache::default();
}

#[test]
#[allow(deprecated)]
fn a_deprecated_network_works() {
    let net = deprecated::Old::zeros();
    assert_eq!(net.forward(&[1.0, 2.0]), [0.0]);
    assert_eq!(net.freeze().forward(&[1.0, 2.0]), [0.0]);
}

#[test]
fn raw_identifiers_name_keys_activations_and_the_struct() {
    use mlp::Activation;
    let mut net = raw::r#loop::zeros();
    net.b3[0] = 1.5;
    assert_eq!(net.forward(&[1.0, 2.0]), [1.5f64.tanh()]);
    let f = raw::loopFn { r#type: 0.25 };
    assert_eq!(f.f(2.0), 0.25 * 2.0 + 2.0f64.tanh());
    assert_eq!(raw::loopMatch.f(3.0), 9.0);
    let _ = raw::loopCache::default();
    assert_eq!(raw::r#loop::LAYERS, 3);
}
