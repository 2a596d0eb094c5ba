//! Generated code uses absolute paths only: it compiles in a module without the prelude,
//! beside items that shadow prelude types and the runtime's kernel names.

#[no_implicit_prelude]
mod shadowed {
    #![allow(dead_code, non_camel_case_types)]

    struct Option;
    struct Result;
    struct Box;
    struct Vec;
    struct Clone;
    struct Default;
    struct Debug;
    struct PartialEq;
    struct f32;
    struct usize;
    fn dense() {}
    fn dense_cached() {}
    fn gemv() {}
    fn gemv_tr() {}
    fn ger() {}
    fn axpy() {}
    fn delta() {}
    mod core {}
    mod mlp_runtime {}

    ::mlp::mlp! {
        pub struct Shadowed { scalar: f64, input: 3, layers: [4 tanh, 2 leaky_relu(0.1)] }
    }

    ::mlp::mlp! {
        pub struct ShadowedNoBias { input: 3, layers: [4 relu, 2 gelu], bias: false }
    }
}

#[test]
fn expands_without_the_prelude() {
    use mlp::Network;
    let net = shadowed::Shadowed::zeros();
    let mut cache = <shadowed::Shadowed as Network>::Cache::default();
    assert_eq!(net.forward_cached(&[1.0, 2.0, 3.0], &mut cache), [0.0, 0.0]);
    let net = shadowed::ShadowedNoBias::zeros();
    assert_eq!(net.forward(&[1.0, 2.0, 3.0]), [0.0, 0.0]);
}
