// A deprecated network warns once, where the user names it, never from generated code
// (denied here so that the warning shows as the one error).
#![deny(deprecated)]

mlp::mlp! {
    #[deprecated = "use Xor2"]
    pub struct Xor { input: 2, layers: [4 tanh, 1 identity] }
}

fn main() {
    let _ = Xor::zeros();
}
