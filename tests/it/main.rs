//! Integration tests, as a user crate writes them: one binary, one module per concern.

mod support;

mod api;
mod batch;
mod custom;
mod gradients;
mod hygiene;
mod jacobian;
mod pytorch;
mod variance;
