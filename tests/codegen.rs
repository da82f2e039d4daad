//! What the compiler made of the kernels, checked on the binary itself.
//!
//! The sparse kernel's `mul_add` is one FMA instruction only where it is compiled with the CPU's
//! FMA feature; anywhere else (for instance inside a closure the compiler chose not to inline
//! into the AVX2 function) it becomes a call to the software `fmaf`, about fifty times slower,
//! with the same bits — so every other test still passes. One build of this repository did
//! exactly that (see README, "Where an epoch goes"). No part of ffnn needs the software `fmaf`,
//! so the `ffnn` binary must not contain it.

#[test]
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn the_binary_contains_no_software_fused_multiply_add() {
    let binary = env!("CARGO_BIN_EXE_ffnn");
    let output = match std::process::Command::new("nm").arg(binary).output() {
        Ok(output) => output,
        Err(e) => {
            // `nm` comes with binutils, which the Rust toolchain's linker needs on Linux.
            assert!(std::env::var_os("CI").is_none(), "CI is set but `nm` cannot run: {e}");
            eprintln!("skipped: `nm` cannot run ({e})");
            return;
        }
    };
    assert!(output.status.success(), "nm {binary}: {}", String::from_utf8_lossy(&output.stderr));
    let symbols = String::from_utf8_lossy(&output.stdout);
    let software_fma: Vec<&str> = symbols.lines().filter(|line| line.to_ascii_lowercase().contains("fmaf")).collect();
    assert!(software_fma.is_empty(), "the ffnn binary contains the software fmaf: {software_fma:?}");
}
