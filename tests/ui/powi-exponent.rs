// The exponent of powi is an i32 literal (between -2147483647 and 2147483647).
mlp::mlp! {
    activation big(z) = z.powi(2147483648) + z.powi(-99999999999) + powi(z, 2u8);
    pub struct Net { input: 2, layers: [4 big, 1 identity] }
}
fn main() {}
