// Every type mlp! declares has its own name: an activation's type `{Net}{Name}` may not be
// the network, one of its companions, or another activation's type.
mlp::mlp! {
    activation cache(z) = z;
    activation frozen(z) = z;
    activation batch_cache(z) = z;
    activation _(z) = z;
    activation __(z) = z;
    activation a_b(z) = z;
    activation aB(z) = -z;
    pub struct Net { input: 2, layers: [4 a_b, 1 identity] }
}
fn main() {}
