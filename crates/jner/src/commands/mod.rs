//! One module per command.

mod compare;
mod data;
mod distill;
mod eval;
pub mod predict;
mod pretrain;
mod redact;
mod serve;
mod stream;
mod texts;
pub mod train;
mod vectors;

use anyhow::Result;

use crate::cli::{Command, DataCommand};

pub fn run(cmd: Command) -> Result<()> {
    match cmd {
        Command::Data(DataCommand::Stats {
            data,
            json,
            all_warnings,
        }) => data::stats(&data, json, all_warnings),
        Command::Data(DataCommand::Export {
            data,
            output,
            gliner,
        }) => data::export(&data, &output, gliner.as_deref()),
        Command::Data(DataCommand::Split {
            data,
            split,
            output_dir,
            folds,
        }) => data::split(&data, &split, &output_dir, folds),
        Command::Train(args) => train::train(args),
        Command::Eval(args) => eval::eval(&args),
        Command::Compare(args) => compare::compare(&args),
        Command::Predict(args) => predict::predict(&args),
        Command::Vectors(args) => vectors::vectors(&args),
        Command::Distill(args) => distill::distill(args),
        Command::Pretrain(args) => pretrain::pretrain(&args),
        Command::Serve(args) => serve::serve(&args),
        Command::Redact(args) => redact::redact(&args),
        Command::Restore(args) => redact::restore(&args),
    }
}
