// A `crate:` path that does not resolve is one error, at the path (rustc's E0432).
mlp::mlp! {
    pub struct Net { input: 2, layers: [1 identity], crate: nosuch::path }
}
fn main() {
    let _ = Net::zeros();
}
