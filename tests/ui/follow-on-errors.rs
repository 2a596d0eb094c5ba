// One mistake gives one error: the items the network would declare still exist, with its
// visibility, so code that uses them reports nothing more. With valid widths they are exact
// (the mistaken activation becomes the identity, a mistaken width 1).
mod nets {
    mlp::mlp! {
        activation soft(z) = z / (1.0 + z.abz());
        pub(crate) struct Typo { input: 2, layers: [4 soft, 4 tahn, 1 identity] }
    }
    mlp::mlp! {
        activation swish(z) = z * sigmoid(z);
        pub(crate) struct Broken { input: 0, layers: [4 swish, 1 identity] }
    }
}
fn main() {
    let net = nets::Typo::zeros();
    let mut cache = nets::TypoCache::default();
    let y: [f32; 1] = net.forward_cached(&[1.0, 2.0], &mut cache);
    let mut grads = nets::TypoGrads::default();
    let _dx: [f32; 2] = net.backward(&cache, &y, &mut grads);
    let _ = (nets::Typo::INPUT, net.freeze(), nets::TypoBatchCache::default(), nets::TypoSoft);
    let broken = nets::Broken::zeros();
    let mut broken_cache = nets::BrokenCache::default();
    let out = broken.forward_cached(&[1.0], &mut broken_cache);
    let _ = broken.backward(&broken_cache, &out, &mut nets::BrokenGrads::default());
    let _ = (nets::Broken::INPUT + nets::Broken::PARAMS, broken.freeze(), nets::BrokenSwish);
    let _ = (nets::BrokenCache::default(), nets::BrokenGrads::default(), nets::BrokenBatchCache::default());
}
