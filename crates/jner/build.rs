//! With the `torch` feature, let the binary find libtorch at run time without
//! LD_LIBRARY_PATH: jner-torch's build script publishes where libtorch lives, and cargo passes
//! link arguments only to the package that prints them.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if let Ok(lib) = std::env::var("DEP_JNER_TORCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{lib}");
        println!("cargo:rustc-link-arg-tests=-Wl,-rpath,{lib}");
        if std::env::var_os("DEP_JNER_TORCH_CUDA").is_some() {
            println!("cargo:rustc-link-arg-bins=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
        }
    }
}
