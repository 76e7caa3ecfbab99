//! `jner`: train, evaluate and serve NER models for minor children, author gender and
//! biomedical entities. A thin binary over the library crates.

use clap::Parser;
use jner::{cli, commands};

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let filter = match cli.verbose {
        0 => "warn,jner=info",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .init();
    match commands::run(cli.command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            std::process::ExitCode::from(2)
        }
    }
}

/// The error and its causes, each cause once: library errors already include their OS error
/// in their own text (`path: No such file or directory`), which `{:#}` would print twice.
fn error_text(e: &anyhow::Error) -> String {
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
