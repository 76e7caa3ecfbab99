//! The `jner` CLI as a library: the one table of backends, model loading, the commands.
//! The binary (`main.rs`) parses the command line and calls [`commands::run`]; the Python
//! package (`crates/jner-py`) loads models through [`model`].

pub mod backends;
mod calibrated;
pub mod cli;
pub mod commands;
pub mod data_args;
pub mod model;

/// jner's log lines on stderr, as the binary and the Python package print them: `filter`
/// unless RUST_LOG is set, colours only on a terminal. A no-op when a subscriber is set.
pub fn init_tracing(filter: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .try_init();
}

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
