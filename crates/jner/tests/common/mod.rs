//! Running the `jner` binary from the integration tests.
#![allow(dead_code)]

use std::process::{Command, Output};

pub fn jner(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jner"))
        .args(args)
        .output()
        .expect("runs jner")
}

/// Runs jner, expects success, returns stdout.
pub fn ok(args: &[&str]) -> String {
    let o = jner(args);
    assert!(
        o.status.success(),
        "jner {args:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Runs jner, expects exit code 2, returns stderr.
pub fn fails(args: &[&str]) -> String {
    let o = jner(args);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "jner {args:?}: {err}");
    err
}
