//! What `save` writes, and that `load` reads it back exactly.

use crate::support::{bits, fill, NoBias, Scratch, Small};
use mlp_runtime::io::{self, Dtype};
use mlp_runtime::{Network, Parameters};
use proptest::prelude::*;
use safetensors::SafeTensors;

#[test]
fn names_are_the_pytorch_sequential_names() {
    assert_eq!(
        io::tensor_names::<Small<f64>>(),
        ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    );
    assert_eq!(io::tensor_names::<NoBias<f32>>(), ["0.weight", "2.weight"]);
}

#[test]
fn file_holds_each_tensor_with_its_dtype_shape_and_row_major_values() {
    let mut net = Small::<f64>::zeros();
    fill(&mut net, 7);
    let bytes = io::to_bytes(&net).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = file.names();
    names.sort_unstable();
    assert_eq!(
        names,
        ["0.bias", "0.weight", "2.bias", "2.weight", "4.bias", "4.weight"]
    );

    let w2 = file.tensor("2.weight").unwrap();
    assert_eq!((w2.dtype(), w2.shape()), (Dtype::F64, &[4, 5][..]));
    let at = |i: usize, j: usize| {
        let k = 8 * (i * 5 + j);
        f64::from_le_bytes(w2.data()[k..k + 8].try_into().unwrap())
    };
    for i in 0..4 {
        for j in 0..5 {
            assert_eq!(at(i, j), net.w2[i][j], "2.weight[{i}, {j}]");
        }
    }
    let b3 = file.tensor("4.bias").unwrap();
    assert_eq!((b3.dtype(), b3.shape()), (Dtype::F64, &[2][..]));
    assert_eq!(
        f64::from_le_bytes(b3.data()[8..16].try_into().unwrap()),
        net.b3[1]
    );
}

#[test]
fn f32_networks_are_written_as_f32() {
    let mut net = NoBias::<f32>::zeros();
    fill(&mut net, 3);
    let bytes = io::to_bytes(&net).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let w1 = file.tensor("0.weight").unwrap();
    assert_eq!((w1.dtype(), w1.shape()), (Dtype::F32, &[3, 2][..]));
    assert_eq!(
        f32::from_le_bytes(w1.data()[4..8].try_into().unwrap()),
        net.w1[0][1]
    );
    assert!(file.tensor("0.bias").is_err());
}

#[test]
fn metadata_says_pytorch_format_and_the_architecture() {
    let bytes = io::to_bytes(&Small::<f32>::zeros()).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().unwrap();
    assert_eq!(meta["format"], "pt");
    assert_eq!(meta["mlp.scalar"], "f32");
    assert_eq!(meta["mlp.layers"], "3 -> 5 tanh -> 4 sigmoid -> 2 identity");
}

#[test]
fn save_then_load_restores_every_bit() {
    let dir = Scratch::new("roundtrip");
    let path = dir.path().join("small.safetensors");
    let mut net = Small::<f64>::zeros();
    fill(&mut net, 11);
    net.w1[0][0] = -0.0;
    net.w1[0][1] = f64::MIN_POSITIVE / 4.0;
    net.b1[0] = f64::MAX;
    net.b3[1] = f64::NAN;
    io::save(&net, &path).unwrap();

    let mut back = Small::<f64>::zeros();
    io::load(&mut back, &path).unwrap();
    assert_eq!(bits(&back), bits(&net));
    assert_eq!(dir.entries(), ["small.safetensors"]);
}

#[test]
fn saving_twice_replaces_the_file() {
    let dir = Scratch::new("replace");
    let path = dir.path().join("net.safetensors");
    let mut net = NoBias::<f32>::zeros();
    fill(&mut net, 1);
    io::save(&net, &path).unwrap();
    fill(&mut net, 2);
    io::save(&net, &path).unwrap();

    let mut back = NoBias::<f32>::zeros();
    io::load(&mut back, &path).unwrap();
    assert_eq!(back, net);
    assert_eq!(dir.entries(), ["net.safetensors"]);
}

proptest! {
    #[test]
    fn any_f32_weights_survive_bytes(values in proptest::collection::vec(any::<u32>(), 12)) {
        let mut net = NoBias::<f32>::zeros();
        let mut it = values.iter();
        net.visit_mut(|_, p| p.iter_mut().for_each(|x| *x = f32::from_bits(*it.next().unwrap())));
        let mut back = NoBias::<f32>::zeros();
        io::from_bytes(&mut back, &io::to_bytes(&net).unwrap()).unwrap();
        prop_assert_eq!(bits(&back), bits(&net));
    }

    #[test]
    fn any_f64_weights_survive_bytes(values in proptest::collection::vec(any::<u64>(), Small::<f64>::num_params())) {
        let mut net = Small::<f64>::zeros();
        let mut it = values.iter();
        net.visit_mut(|_, p| p.iter_mut().for_each(|x| *x = f64::from_bits(*it.next().unwrap())));
        let mut back = Small::<f64>::zeros();
        io::from_bytes(&mut back, &io::to_bytes(&net).unwrap()).unwrap();
        prop_assert_eq!(bits(&back), bits(&net));
    }
}
