//! The `jner` CLI as a library: the one table of backends, model loading, the commands.
//! The binary (`main.rs`) parses the command line and calls [`commands::run`]; the Python
//! package (`crates/jner-py`) loads models through [`model`].

pub mod backends;
mod calibrated;
pub mod cli;
pub mod commands;
pub mod data_args;
pub mod model;

/// The error and its causes, each cause once: library errors already include their OS error
/// in their own text (`path: No such file or directory`), which `{:#}` would print twice.
pub fn error_text(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    msg
}
