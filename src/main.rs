//! The `ffnn` binary: see `ffnn --help` and the README.

/// Large blocks start on a cache line, so the kernels' speed does not depend on where the
/// allocator happened to place a matrix (see `ffnn::alloc`).
#[global_allocator]
static ALLOCATOR: ffnn::alloc::CacheAligned = ffnn::alloc::CacheAligned;

fn main() {
    std::process::exit(ffnn_cli::cli::main());
}
