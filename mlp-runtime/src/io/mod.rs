//! Saving and loading a network's weights as [safetensors], with the tensor names PyTorch
//! gives the same network.
//!
//! # Tensor names
//!
//! A network declared as `input: N0, layers: [N1 σ1, N2 σ2, …, NL σL]` is, in PyTorch,
//!
//! ```text
//! nn.Sequential(nn.Linear(N0, N1), σ1, nn.Linear(N1, N2), σ2, …, nn.Linear(N(L-1), NL), σL)
//! ```
//!
//! where every activation is a module of its own, `identity` included (`nn.Identity()`).
//! Layer `l` (1-based, as `W_l`) is therefore module `2(l − 1)` and its activation module
//! `2l − 1`, so its tensors are named
//!
//! | tensor | name | shape | PyTorch |
//! | --- | --- | --- | --- |
//! | `W_l` (`wl`) | `"{2(l−1)}.weight"` | `[N_l, N_(l−1)]` | `seq[2(l−1)].weight` |
//! | `b_l` (`bl`) | `"{2(l−1)}.bias"` | `[N_l]` | `seq[2(l−1)].bias` |
//!
//! (`0.weight`, `0.bias`, `2.weight`, `2.bias`, …). A network without bias
//! (`bias: false`) has only the `.weight` tensors, as `nn.Linear(…, bias=False)`.
//!
//! Modules without parameters never appear in a state dict, so a final `identity` may be
//! written as `nn.Identity()` or left out of the `nn.Sequential` altogether: both give the
//! same names. An `identity` *between* two layers must be kept as `nn.Identity()` in PyTorch
//! for the indices to line up.
//!
//! The dtype of every tensor is the network's scalar (`F32` for `f32`, `F64` for `f64`),
//! stored little-endian and row-major, so `W_l[i, j]` (row `i` = output unit) is the same
//! entry in both libraries. A saved file also carries the metadata `"format": "pt"` and a
//! one-line description of the architecture under `"mlp.layers"`; loading ignores metadata.
//!
//! # Guarantees
//!
//! - [`load`] parses and checks the whole file (its layout, and every tensor's name, dtype
//!   and shape, with no tensor missing and none extra) into a staging buffer before it
//!   writes a single weight: on any error the network is untouched. No input makes it panic.
//! - [`save`] is atomic: it writes a temporary file beside the target, syncs it to disk and
//!   renames it over the target ([`write_atomic`]). A failure or crash mid-save leaves any
//!   previous file whole.
//!
//! ```
//! use mlp_runtime::io;
//! # use mlp_runtime::{LayerSpec, Network, ParamInfo, ParamKind, Parameters};
//! # #[derive(Clone, Debug, PartialEq)]
//! # struct Line { w1: [[f64; 1]; 1], b1: [f64; 1] }
//! # impl Parameters for Line {
//! #     type Scalar = f64;
//! #     const PARAM_INFO: &'static [ParamInfo] = &[
//! #         ParamInfo { name: "w1", layer: 1, kind: ParamKind::Weight, shape: &[1, 1] },
//! #         ParamInfo { name: "b1", layer: 1, kind: ParamKind::Bias, shape: &[1] },
//! #     ];
//! #     fn visit(&self, mut f: impl FnMut(&ParamInfo, &[f64])) {
//! #         f(&Self::PARAM_INFO[0], self.w1.as_flattened());
//! #         f(&Self::PARAM_INFO[1], &self.b1);
//! #     }
//! #     fn visit_mut(&mut self, mut f: impl FnMut(&ParamInfo, &mut [f64])) {
//! #         f(&Self::PARAM_INFO[0], self.w1.as_flattened_mut());
//! #         f(&Self::PARAM_INFO[1], &mut self.b1);
//! #     }
//! # }
//! # impl Network for Line {
//! #     type Input = [f64; 1];
//! #     type Output = [f64; 1];
//! #     type Cache = ();
//! #     type Grads = Line0;
//! #     const INPUT: usize = 1;
//! #     const OUTPUT: usize = 1;
//! #     const LAYERS: usize = 1;
//! #     const PARAMS: usize = 2;
//! #     const LAYER_SPECS: &'static [LayerSpec] =
//! #         &[LayerSpec { fan_in: 1, fan_out: 1, activation: "identity", bias: true }];
//! #     fn zeros() -> Self { Line { w1: [[0.0]], b1: [0.0] } }
//! #     fn forward(&self, x: &[f64; 1]) -> [f64; 1] { [self.w1[0][0] * x[0] + self.b1[0]] }
//! #     fn forward_cached(&self, x: &[f64; 1], _: &mut ()) -> [f64; 1] { self.forward(x) }
//! #     fn backward(&self, _: &(), _: &[f64; 1], _: &mut Line0) -> [f64; 1] { [0.0] }
//! #     fn visit_with_grads(&mut self, _: &Line0, _: impl FnMut(&ParamInfo, &mut [f64], &[f64])) {}
//! # }
//! # #[derive(Clone, Debug, Default, PartialEq)]
//! # struct Line0;
//! # impl Parameters for Line0 {
//! #     type Scalar = f64;
//! #     const PARAM_INFO: &'static [ParamInfo] = &[];
//! #     fn visit(&self, _: impl FnMut(&ParamInfo, &[f64])) {}
//! #     fn visit_mut(&mut self, _: impl FnMut(&ParamInfo, &mut [f64])) {}
//! # }
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("mlp-io-doctest-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let path = dir.join("line.safetensors");
//! let net = Line { w1: [[2.0]], b1: [0.5] };
//! io::save(&net, &path)?;
//!
//! let mut back = Line::zeros();
//! io::load(&mut back, &path)?;
//! assert_eq!(back, net);
//! assert_eq!(io::tensor_names::<Line>(), ["0.weight", "0.bias"]);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```
//!
//! [safetensors]: https://huggingface.co/docs/safetensors

mod atomic;
mod codec;
mod error;

pub use atomic::write_atomic;
pub use error::{DecodeError, LoadError, SaveError};
pub use safetensors::{Dtype, SafeTensorError};

use crate::{Network, ParamInfo, ParamKind, Scalar};
use std::path::Path;

/// The index of layer `l`'s `nn.Linear` in the equivalent `nn.Sequential`: `2(l − 1)`.
///
/// ```
/// assert_eq!(mlp_runtime::io::module_index(1), 0);
/// assert_eq!(mlp_runtime::io::module_index(3), 4);
/// ```
pub const fn module_index(layer: usize) -> usize {
    2 * layer.saturating_sub(1)
}

/// The PyTorch name of a parameter tensor: `"{2(l−1)}.weight"` or `"{2(l−1)}.bias"`.
///
/// ```
/// use mlp_runtime::{io::tensor_name, ParamInfo, ParamKind};
/// let b2 = ParamInfo { name: "b2", layer: 2, kind: ParamKind::Bias, shape: &[4] };
/// assert_eq!(tensor_name(&b2), "2.bias");
/// ```
pub fn tensor_name(info: &ParamInfo) -> String {
    let suffix = match info.kind {
        ParamKind::Weight => "weight",
        ParamKind::Bias => "bias",
    };
    format!("{}.{suffix}", module_index(info.layer))
}

/// The PyTorch names of all of `N`'s tensors, in the order of [`crate::Parameters::PARAM_INFO`].
pub fn tensor_names<N: Network>() -> Vec<String> {
    N::PARAM_INFO.iter().map(tensor_name).collect()
}

/// The safetensors dtype of a scalar type: `F32` for `f32`, `F64` for `f64`.
pub fn dtype_of<T: Scalar>() -> Dtype {
    if core::mem::size_of::<T>() == 4 {
        Dtype::F32
    } else {
        Dtype::F64
    }
}

/// Encodes the network's weights as the bytes of a safetensors file.
pub fn to_bytes<N: Network>(net: &N) -> Result<Vec<u8>, SaveError> {
    codec::encode(net).map_err(SaveError::Encode)
}

/// Replaces the network's weights with those decoded from the bytes of a safetensors file.
///
/// Everything is checked before any weight is written: on error `net` is unchanged.
pub fn from_bytes<N: Network>(net: &mut N, bytes: &[u8]) -> Result<(), DecodeError> {
    let staged = codec::decode::<N>(bytes)?;
    codec::commit(net, &staged);
    Ok(())
}

/// Saves the network's weights to `path` as safetensors, atomically.
///
/// The file is first written in full to a temporary file in the same directory, synced,
/// and then renamed over `path`; on error the temporary file is removed and whatever was
/// at `path` before is left as it was.
pub fn save<N: Network>(net: &N, path: impl AsRef<Path>) -> Result<(), SaveError> {
    let path = path.as_ref();
    let bytes = to_bytes(net)?;
    write_atomic(path, |file| std::io::Write::write_all(file, &bytes)).map_err(|source| {
        SaveError::Write {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Loads the network's weights from the safetensors file at `path`.
///
/// The file must hold exactly the tensors of [`tensor_names`], each with the network's
/// dtype and shape. On error `net` is unchanged.
pub fn load<N: Network>(net: &mut N, path: impl AsRef<Path>) -> Result<(), LoadError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    from_bytes(net, &bytes).map_err(|source| LoadError::Decode {
        path: path.to_path_buf(),
        source,
    })
}
