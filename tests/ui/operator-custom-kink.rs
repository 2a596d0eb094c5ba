// An activation defined with `abs` has no second derivative at 0: refused for a Laplacian.
mlp::mlp! {
    activation vee(z) = abs(z) + z;
    pub struct Net { input: 2, layers: [8 vee, 1 identity], operators: [hessian_diagonal] }
}
fn main() {}
