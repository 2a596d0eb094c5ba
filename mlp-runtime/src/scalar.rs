//! The floating-point types a network computes in.

use core::fmt::{Debug, Display};
use core::iter::Sum;
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// What differs between the two scalar types beyond arithmetic, as hooks the crate's own
/// code calls: which type it is (for the type-specific kernels and fast math), and its
/// little-endian bytes (for I/O). Sealed: no other crate can implement it.
pub(crate) mod sealed {
    /// Which of the two scalar types a [`super::Scalar`] is.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Kind {
        /// `f32`.
        F32,
        /// `f64`.
        F64,
    }

    /// The hooks; see the module.
    pub trait Sealed: Copy {
        /// Which type this is: code that takes a type-specific path matches on it (the
        /// match is resolved at compile time).
        const KIND: Kind;
        /// The size in bytes.
        const BYTES: usize;
        /// Writes the little-endian bytes, bit for bit (NaN payloads included), into `out`,
        /// which holds [`Sealed::BYTES`].
        fn write_le(self, out: &mut [u8]);
        /// The value of the little-endian bytes `bytes`, which hold [`Sealed::BYTES`].
        fn read_le(bytes: &[u8]) -> Self;
    }

    macro_rules! sealed {
        ($t:ty, $kind:ident) => {
            impl Sealed for $t {
                const KIND: Kind = Kind::$kind;
                const BYTES: usize = core::mem::size_of::<$t>();
                #[inline]
                fn write_le(self, out: &mut [u8]) {
                    out.copy_from_slice(&self.to_le_bytes());
                }
                #[inline]
                fn read_le(bytes: &[u8]) -> Self {
                    let mut b = [0; core::mem::size_of::<$t>()];
                    b.copy_from_slice(bytes);
                    <$t>::from_le_bytes(b)
                }
            }
        };
    }
    sealed!(f32, F32);
    sealed!(f64, F64);
}

/// A floating-point scalar a network computes in: `f32` or `f64`.
///
/// The elementary functions go through `std` when the `std` feature is on and
/// through `libm` otherwise, so the same network runs in `no_std` firmware.
pub trait Scalar:
    sealed::Sealed
    + Copy
    + Default
    + Debug
    + Display
    + PartialEq
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
{
    /// `0`.
    const ZERO: Self;
    /// `1`.
    const ONE: Self;
    /// The name of the type, `"f32"` or `"f64"`.
    const NAME: &'static str;
    /// The machine epsilon of the type.
    const EPSILON: Self;

    /// Converts from `f64`, rounding to nearest.
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64` (exact).
    fn to_f64(self) -> f64;
    /// Converts a count to the scalar type.
    fn from_usize(n: usize) -> Self;
    /// `e^x`.
    fn exp(self) -> Self;
    /// The natural logarithm.
    fn ln(self) -> Self;
    /// `ln(1 + x)`, accurate near 0.
    fn ln_1p(self) -> Self;
    /// The hyperbolic tangent.
    fn tanh(self) -> Self;
    /// The square root.
    fn sqrt(self) -> Self;
    /// The absolute value.
    fn abs(self) -> Self;
    /// The larger of `self` and `other` (ignores a NaN operand, as `f32::max`).
    fn max(self, other: Self) -> Self;
    /// The smaller of `self` and `other` (ignores a NaN operand, as `f32::min`).
    fn min(self, other: Self) -> Self;
    /// `self * a + b` with one rounding.
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// Whether the value is neither infinite nor NaN.
    fn is_finite(self) -> bool;
    /// `self^n` for an integer power.
    fn powi(self, n: i32) -> Self;
    /// `self^e` for a real power.
    fn powf(self, e: Self) -> Self;
    /// The sine.
    fn sin(self) -> Self;
    /// The cosine.
    fn cos(self) -> Self;
}

macro_rules! impl_scalar {
    ($t:ident, $name:literal, $exp:ident, $ln:ident, $ln1p:ident, $tanh:ident, $sqrt:ident, $fma:ident, $pow:ident, $sin:ident, $cos:ident) => {
        impl Scalar for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const NAME: &'static str = $name;
            const EPSILON: Self = $t::EPSILON;

            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_usize(n: usize) -> Self {
                n as $t
            }
            #[inline(always)]
            fn exp(self) -> Self {
                #[cfg(feature = "std")]
                return $t::exp(self);
                #[cfg(not(feature = "std"))]
                return libm::$exp(self);
            }
            #[inline(always)]
            fn ln(self) -> Self {
                #[cfg(feature = "std")]
                return $t::ln(self);
                #[cfg(not(feature = "std"))]
                return libm::$ln(self);
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                #[cfg(feature = "std")]
                return $t::ln_1p(self);
                #[cfg(not(feature = "std"))]
                return libm::$ln1p(self);
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                #[cfg(feature = "std")]
                return $t::tanh(self);
                #[cfg(not(feature = "std"))]
                return libm::$tanh(self);
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                #[cfg(feature = "std")]
                return $t::sqrt(self);
                #[cfg(not(feature = "std"))]
                return libm::$sqrt(self);
            }
            #[inline(always)]
            fn abs(self) -> Self {
                $t::abs(self)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                $t::max(self, other)
            }
            #[inline(always)]
            fn min(self, other: Self) -> Self {
                $t::min(self, other)
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                #[cfg(feature = "std")]
                return $t::mul_add(self, a, b);
                #[cfg(not(feature = "std"))]
                return libm::$fma(self, a, b);
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                $t::is_finite(self)
            }
            #[inline(always)]
            fn powi(self, n: i32) -> Self {
                #[cfg(feature = "std")]
                return $t::powi(self, n);
                #[cfg(not(feature = "std"))]
                return libm::$pow(self, n as $t);
            }
            #[inline(always)]
            fn powf(self, e: Self) -> Self {
                #[cfg(feature = "std")]
                return $t::powf(self, e);
                #[cfg(not(feature = "std"))]
                return libm::$pow(self, e);
            }
            #[inline(always)]
            fn sin(self) -> Self {
                #[cfg(feature = "std")]
                return $t::sin(self);
                #[cfg(not(feature = "std"))]
                return libm::$sin(self);
            }
            #[inline(always)]
            fn cos(self) -> Self {
                #[cfg(feature = "std")]
                return $t::cos(self);
                #[cfg(not(feature = "std"))]
                return libm::$cos(self);
            }
        }
    };
}

impl_scalar!(f32, "f32", expf, logf, log1pf, tanhf, sqrtf, fmaf, powf, sinf, cosf);
impl_scalar!(f64, "f64", exp, log, log1p, tanh, sqrt, fma, pow, sin, cos);
