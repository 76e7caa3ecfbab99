//! The `jner` CLI as a library: the one table of backends, model loading, the commands.
//! The binary (`main.rs`) parses the command line and calls [`commands::run`]; the Python
//! package (`crates/jner-py`) loads models through [`model`].

pub mod backends;
mod calibrated;
pub mod cli;
pub mod commands;
pub mod data_args;
pub mod model;
