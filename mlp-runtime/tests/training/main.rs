//! Tests of the training runtime: losses, initialisation, optimizers, data and the trainer.
//! One binary with a module per concern, to keep link time short.
//! Everything here needs the `std` feature.
#![cfg(feature = "std")]

mod support;

mod csv;
mod data;
mod init;
mod loss;
mod optim;
mod train;
