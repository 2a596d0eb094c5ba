//! Activation functions, each defined together with its derivative.
//!
//! `tanh`, `sigmoid`, `gelu` and the exponential in `softplus` use [`crate::math`], which has
//! no branches or libm calls, so that a layer's activation loop vectorises.
//!
//! An activation is a type implementing [`Activation`]: its value `σ(z)`, its derivative
//! `σ'(z)`, and [`Activation::DERIVATIVE_READS`], which says whether the derivative is
//! computed from the cached pre-activation `z` or from the cached output `h = σ(z)`.
//! Backward reads whichever is cheaper, so it never recomputes the forward's work
//! (`tanh' = 1 − h²` costs one multiply instead of a second `tanh`).

use crate::Scalar;
use core::fmt::{self, Debug};

/// An activation as a layer declares it in `mlp!`: its name and the values of its
/// parameters, e.g. `leaky_relu` with `[0.01]`.
///
/// This is the one description that export, I/O and diagnostics read; nothing parses the
/// written form back. [`fmt::Display`] writes it as `mlp!` accepts it:
///
/// ```
/// use mlp::activation::ActivationSpec;
/// let leaky = ActivationSpec { name: "leaky_relu", params: &[0.01] };
/// assert_eq!(leaky.to_string(), "leaky_relu(0.01)");
/// assert_eq!(ActivationSpec { name: "tanh", params: &[] }.to_string(), "tanh");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActivationSpec {
    /// The name used in `mlp!`: a built-in's [`Activation::NAME`] or a custom activation's.
    pub name: &'static str,
    /// The value of each parameter at this layer, defaults filled in, in declaration order.
    pub params: &'static [f64],
}

impl ActivationSpec {
    /// The built-in activation this names, if it is one.
    pub fn builtin(&self) -> Option<Builtin> {
        Builtin::from_name(self.name)
    }
}

impl fmt::Display for ActivationSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)?;
        if let Some((first, rest)) = self.params.split_first() {
            write!(f, "({first:?}")?;
            for p in rest {
                write!(f, ", {p:?}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// The built-in activations, one variant per type below, in the order `mlp!` lists them.
///
/// The macro keeps its own list (it cannot depend on this crate); a test checks that the two
/// agree name for name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// [`Identity`].
    Identity,
    /// [`Tanh`].
    Tanh,
    /// [`Sigmoid`].
    Sigmoid,
    /// [`Relu`].
    Relu,
    /// [`LeakyRelu`], with one parameter, the slope `α`.
    LeakyRelu,
    /// [`Softplus`].
    Softplus,
    /// [`Gelu`].
    Gelu,
}

impl Builtin {
    /// Every built-in activation.
    pub const ALL: [Builtin; 7] = [
        Builtin::Identity,
        Builtin::Tanh,
        Builtin::Sigmoid,
        Builtin::Relu,
        Builtin::LeakyRelu,
        Builtin::Softplus,
        Builtin::Gelu,
    ];

    /// The name used in `mlp!`, the type's [`Activation::NAME`].
    pub const fn name(self) -> &'static str {
        match self {
            Builtin::Identity => <Identity as Activation<f64>>::NAME,
            Builtin::Tanh => <Tanh as Activation<f64>>::NAME,
            Builtin::Sigmoid => <Sigmoid as Activation<f64>>::NAME,
            Builtin::Relu => <Relu as Activation<f64>>::NAME,
            Builtin::LeakyRelu => <LeakyRelu<f64> as Activation<f64>>::NAME,
            Builtin::Softplus => <Softplus as Activation<f64>>::NAME,
            Builtin::Gelu => <Gelu as Activation<f64>>::NAME,
        }
    }

    /// The type's name in this module, e.g. `"LeakyRelu"`.
    pub const fn type_name(self) -> &'static str {
        match self {
            Builtin::Identity => "Identity",
            Builtin::Tanh => "Tanh",
            Builtin::Sigmoid => "Sigmoid",
            Builtin::Relu => "Relu",
            Builtin::LeakyRelu => "LeakyRelu",
            Builtin::Softplus => "Softplus",
            Builtin::Gelu => "Gelu",
        }
    }

    /// The number of parameters the activation takes.
    pub const fn arity(self) -> usize {
        match self {
            Builtin::LeakyRelu => 1,
            _ => 0,
        }
    }

    /// The built-in activation named `name` in `mlp!`.
    ///
    /// ```
    /// use mlp::activation::Builtin;
    /// assert_eq!(Builtin::from_name("leaky_relu"), Some(Builtin::LeakyRelu));
    /// assert_eq!(Builtin::from_name("swish"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == name)
    }
}

/// Which cached quantity an activation's derivative reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DerivativeReads {
    /// The derivative is a constant (the identity).
    Nothing,
    /// The derivative is computed from the pre-activation `z`.
    Input,
    /// The derivative is computed from the output `h = σ(z)`.
    Output,
}

/// An element-wise activation `h = σ(z)` with its derivative.
pub trait Activation<T: Scalar>: Copy + Debug + Send + Sync + 'static {
    /// The name used in `mlp!` (`"tanh"`, `"leaky_relu"`, ...).
    const NAME: &'static str;
    /// Which cached quantity [`Activation::df`] reads.
    const DERIVATIVE_READS: DerivativeReads;

    /// The value `σ(z)`.
    fn f(&self, z: T) -> T;

    /// The derivative `σ'(z)`, given both `z` and `h = σ(z)`; an implementation reads only
    /// the one named by [`Activation::DERIVATIVE_READS`].
    fn df(&self, z: T, h: T) -> T;
}

/// `σ(z) = z`, `σ'(z) = 1`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Identity;

impl<T: Scalar> Activation<T> for Identity {
    const NAME: &'static str = "identity";
    const DERIVATIVE_READS: DerivativeReads = DerivativeReads::Nothing;
    #[inline(always)]
    fn f(&self, z: T) -> T {
        z
    }
    #[inline(always)]
    fn df(&self, _z: T, _h: T) -> T {
        T::ONE
    }
}

/// `σ(z) = tanh z`, `σ'(z) = 1 − h²`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tanh;

impl<T: Scalar> Activation<T> for Tanh {
    const NAME: &'static str = "tanh";
    const DERIVATIVE_READS: DerivativeReads = DerivativeReads::Output;
    #[inline(always)]
    fn f(&self, z: T) -> T {
        crate::math::tanh(z)
    }
    #[inline(always)]
    fn df(&self, _z: T, h: T) -> T {
        T::ONE - h * h
    }
}

/// `σ(z) = 1 / (1 + e^(−z))`, `σ'(z) = h (1 − h)`.
///
/// Evaluated without overflow for any `z`: `e^z / (1 + e^z)` for negative `z`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sigmoid;

impl<T: Scalar> Activation<T> for Sigmoid {
    const NAME: &'static str = "sigmoid";
    const DERIVATIVE_READS: DerivativeReads = DerivativeReads::Output;
    #[inline(always)]
    fn f(&self, z: T) -> T {
        crate::math::logistic(z)
    }
    #[inline(always)]
    fn df(&self, _z: T, h: T) -> T {
        h * (T::ONE - h)
    }
}

/// The sign of `x`: `1`, `−1`, or `0` for `±0` (and NaN for NaN), the derivative of `|x|`
/// as PyTorch takes it.
///
/// ```
/// use mlp::activation::sign;
/// assert_eq!((sign(2.5f64), sign(-0.1f64), sign(0.0f64)), (1.0, -1.0, 0.0));
/// ```
#[inline(always)]
pub fn sign<T: Scalar>(x: T) -> T {
    if x > T::ZERO {
        T::ONE
    } else if x < T::ZERO {
        -T::ONE
    } else {
        x * T::ZERO
    }
}

/// `σ(z) = max(z, 0)`, `σ'(z) = 1 if z > 0 else 0` (0 at `z = 0`, as PyTorch).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Relu;

impl<T: Scalar> Activation<T> for Relu {
    const NAME: &'static str = "relu";
    const DERIVATIVE_READS: DerivativeReads = DerivativeReads::Input;
    #[inline(always)]
    fn f(&self, z: T) -> T {
        if z > T::ZERO {
            z
        } else {
            T::ZERO
        }
    }
    #[inline(always)]
    fn df(&self, z: T, _h: T) -> T {
        if z > T::ZERO {
            T::ONE
        } else {
            T::ZERO
        }
    }
}

/// `σ(z) = z if z > 0 else α z`, `σ'(z) = 1 if z > 0 else α`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LeakyRelu<T>(
    /// The slope `α` for negative inputs.
    pub T,
);

impl<T: Scalar> Activation<T> for LeakyRelu<T> {
    const NAME: &'static str = "leaky_relu";
    const DERIVATIVE_READS: DerivativeReads = DerivativeReads::Input;
    #[inline(always)]
    fn f(&self, z: T) -> T {
        if z > T::ZERO {
            z
        } else {
            self.0 * z
        }
    }
    #[inline(always)]
    fn df(&self, z: T, _h: T) -> T {
        if z > T::ZERO {
            T::ONE
        } else {
            self.0
        }
    }
}

/// `σ(z) = ln(1 + e^z)`, `σ'(z) = 1 / (1 + e^(−z))`.
///
/// Evaluated as `max(z, 0) + ln(1 + e^(−|z|))`, which neither overflows nor loses the
/// small values for very negative `z`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Softplus;

impl<T: Scalar> Activation<T> for Softplus {
    const NAME: &'static str = "softplus";
    const DERIVATIVE_READS: DerivativeReads = DerivativeReads::Input;
    #[inline(always)]
    fn f(&self, z: T) -> T {
        z.max(T::ZERO) + crate::math::exp(-z.abs()).ln_1p()
    }
    #[inline(always)]
    fn df(&self, z: T, _h: T) -> T {
        crate::math::logistic(z)
    }
}

/// GELU, tanh approximation: `σ(z) = ½ z (1 + tanh u)` with `u = √(2/π) (z + 0.044715 z³)`;
/// `σ'(z) = ½ (1 + tanh u) + ½ z (1 − tanh² u) √(2/π) (1 + 3·0.044715 z²)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Gelu;

/// `√(2/π)`.
const GELU_C: f64 = 0.797_884_560_802_865_4;
/// The cubic coefficient of the tanh approximation.
const GELU_A: f64 = 0.044_715;

impl<T: Scalar> Activation<T> for Gelu {
    const NAME: &'static str = "gelu";
    const DERIVATIVE_READS: DerivativeReads = DerivativeReads::Input;
    #[inline(always)]
    fn f(&self, z: T) -> T {
        let half = T::from_f64(0.5);
        let u = T::from_f64(GELU_C) * (z + T::from_f64(GELU_A) * z * z * z);
        half * z * (T::ONE + crate::math::tanh(u))
    }
    #[inline(always)]
    fn df(&self, z: T, _h: T) -> T {
        let half = T::from_f64(0.5);
        let c = T::from_f64(GELU_C);
        let a = T::from_f64(GELU_A);
        let t = crate::math::tanh(c * (z + a * z * z * z));
        half * (T::ONE + t)
            + half * z * (T::ONE - t * t) * c * (T::ONE + T::from_f64(3.0) * a * z * z)
    }
}
