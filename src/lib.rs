//! # ffnn-cli: the `ffnn` command
//!
//! Everything around the [`ffnn`] library that a user of the command sees: argument handling
//! and progress ([`cli`]), plots ([`plot`]), the HTML report ([`report`]), the web page and
//! its API ([`serve`]), the benchmark ([`bench`](mod@bench)), downloads ([`download`]) and the
//! files a run leaves ([`run_files`]).
//! The network, its training and its files are the library's; this crate only calls it.
//!
//! Layers, from the bottom: `ffnn` (tensor and kernels → nn, optim, data → train and the run
//! folder) → plot, report, serve, bench, download → cli. A module uses only those below it.

#![deny(clippy::undocumented_unsafe_blocks)]

pub mod bench;
pub mod cli;
pub mod download;
pub mod plot;
pub mod profile;
pub mod report;
pub mod run_files;
pub mod serve;
