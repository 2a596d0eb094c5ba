//! Storage of large arrays off the stack.

#[cfg(feature = "alloc")]
use alloc::boxed::Box;

/// How a network stores its weight and bias arrays: `Box<A>` with the `alloc` feature (the
/// default), so that large layers live on the heap; `A` inline without it, for firmware with
/// no allocator. Either way `net.w1[i][j]` reads `W_1[i, j]`.
#[cfg(feature = "alloc")]
pub type Boxed<A> = Box<A>;

/// How a network stores its weight and bias arrays: `Box<A>` with the `alloc` feature (the
/// default), so that large layers live on the heap; `A` inline without it, for firmware with
/// no allocator. Either way `net.w1[i][j]` reads `W_1[i, j]`.
#[cfg(not(feature = "alloc"))]
pub type Boxed<A> = A;

/// A boxed `OUT×IN` matrix of zeros, built directly on the heap (never on the stack).
#[inline]
pub fn zeros_matrix<T: crate::Scalar, const IN: usize, const OUT: usize>() -> Boxed<[[T; IN]; OUT]>
{
    #[cfg(feature = "alloc")]
    {
        let rows: Box<[[T; IN]]> = alloc::vec![[T::ZERO; IN]; OUT].into_boxed_slice();
        match rows.try_into() {
            Ok(m) => m,
            // The slice has exactly OUT rows by construction.
            Err(_) => unreachable!("a vector of OUT rows converts to [_; OUT]"),
        }
    }
    #[cfg(not(feature = "alloc"))]
    {
        [[T::ZERO; IN]; OUT]
    }
}

/// A boxed vector of `N` zeros, built directly on the heap (never on the stack).
#[inline]
pub fn zeros_vector<T: crate::Scalar, const N: usize>() -> Boxed<[T; N]> {
    #[cfg(feature = "alloc")]
    {
        let v: Box<[T]> = alloc::vec![T::ZERO; N].into_boxed_slice();
        match v.try_into() {
            Ok(m) => m,
            // The slice has exactly N entries by construction.
            Err(_) => unreachable!("a vector of N entries converts to [_; N]"),
        }
    }
    #[cfg(not(feature = "alloc"))]
    {
        [T::ZERO; N]
    }
}
