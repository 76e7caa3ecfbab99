//! Records where libtorch lives so binaries find it at run time without LD_LIBRARY_PATH.
//!
//! torch-sys (which `tch` builds on) publishes the directory of the libtorch it linked as
//! `DEP_TCH_LIBTORCH_LIB`. We add it as an rpath to this crate's own tests and examples,
//! and re-publish it as `DEP_JNER_TORCH_LIBTORCH_LIB` (and `DEP_JNER_TORCH_CUDA`) for the
//! build script of a binary crate that depends on us (`jner`), which must add the same
//! link arguments: cargo passes `rustc-link-arg` only to the package that prints it.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        // torch-sys did not say (Windows, or a static build): nothing to add.
        return;
    };
    println!("cargo:libtorch_lib={lib}");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    // With --as-needed (rustc's default) libtorch_cuda is dropped because no symbol of it is
    // referenced directly, and CUDA then looks unavailable at run time; keep it.
    if Path::new(&lib).join("libtorch_cuda.so").exists() {
        println!("cargo:cuda=1");
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}
