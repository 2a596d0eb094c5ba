// Every semantic mistake is reported at once, each at its own token, and the struct
// still exists afterwards, so that its uses cause no follow-on errors.
mlp::mlp! {
    pub struct Net {
        scalar: f16,
        input: 0,
        layers: [8 tahn, -3 relu, 2.5 sigmoid, 4 leaky_relu(2.0), 1 identity],
        input: 4,
        hidden: 3,
    }
}
fn uses(_: Net) {}
fn main() {}
