//! One module per subcommand (image commands grouped by what they touch).

mod archive;
mod build;
mod images;
mod login;
mod run;
mod run_image;
mod transfer;

use wharf_image::{Reference, Store};

use crate::cli::{Cli, Command};
use crate::{paths, report};

/// Runs the parsed command; returns the process exit code.
pub fn dispatch(cli: Cli) -> i32 {
    let result = match cli.command {
        Command::Run(args) => return run::run(args),
        Command::Build(args) => build::build(args),
        Command::Pull(args) => transfer::pull(args),
        Command::Push(args) => transfer::push(args),
        Command::Images(args) => images::list(args),
        Command::Rmi(args) => images::remove(args),
        Command::Tag(args) => images::tag(args),
        Command::Inspect(args) => images::inspect(args),
        Command::Save(args) => archive::save(args),
        Command::Load(args) => archive::load(args),
        Command::Login(args) => login::login(args),
        Command::Logout(args) => login::logout(args),
    };
    match result {
        Ok(code) => code,
        Err(code) => code,
    }
}

/// A command's result: the exit code, early or not.
type Outcome = Result<i32, i32>;

/// The store under wharf's root; an error is reported.
fn open_store() -> Result<Store, i32> {
    Store::open(&paths::wharf_root()).map_err(|e| report::fail(&e))
}

/// An image reference with Docker's rules; an error is reported.
fn reference(text: &str) -> Result<Reference, i32> {
    text.parse::<Reference>()
        .map_err(|e| report::fail_with(&format!("invalid reference `{text}`: {e}")))
}
