//! With the `torch` feature the module links libtorch dynamically; a wheel installed next to
//! the `torch` package (the same site-packages) finds its libraries through this run path, so
//! `pip install torch` plus the wheel is the whole set-up. (`jner/__init__.py` also imports
//! `torch` first when the module cannot find them, for other layouts.)
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let torch = std::env::var_os("CARGO_FEATURE_TORCH").is_some();
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    if torch && linux {
        println!("cargo:rustc-link-arg-cdylib=-Wl,-rpath,$ORIGIN/../torch/lib");
    }
}
