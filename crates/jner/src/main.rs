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
    jner::init_tracing(filter);
    match commands::run(cli.command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", jner::error_text(&e));
            std::process::ExitCode::from(2)
        }
    }
}
