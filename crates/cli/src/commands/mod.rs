//! One module per subcommand (image commands grouped by what they touch).

mod archive;
mod build;
mod compile;
mod containers;
mod cpu;
mod detach;
mod guest_thread;
mod images;
mod login;
mod logs;
mod run;
mod run_image;
mod serve;
mod signals;
mod stats;
mod supervise;
mod transfer;

use wharf_image::{Reference, Store};

use crate::cli::{Cli, Command, ContainerCommand};
use crate::{paths, report};

/// Runs the parsed command; returns the process exit code.
pub fn dispatch(cli: Cli) -> i32 {
    let result = match cli.command {
        Command::Run(args) => return run::run(*args),
        Command::Build(args) => build::build(args),
        Command::Compile(args) => compile::compile(args),
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
        Command::Ps(args) => containers::ps(args),
        Command::Port(args) => containers::port(args),
        Command::Logs(args) => logs::logs(args),
        Command::Stop(args) => signals::stop(args),
        Command::Kill(args) => signals::kill(args),
        Command::Wait(args) => containers::wait(args),
        Command::Rm(args) => containers::rm(args),
        Command::Stats(args) => stats::stats(args),
        Command::Container(ContainerCommand::Prune) => containers::prune(),
        Command::Supervise(args) => return supervise::supervise(args),
    };
    match result {
        Ok(code) => code,
        Err(code) => code,
    }
}

/// A command's result: the exit code, early or not.
type Outcome = Result<i32, i32>;

/// Prints a listing's `rows` as `-q` (their IDs) or `--format` asks; false
/// for the command's own table. An error is reported.
fn print_listing(
    listing: &crate::cli::ListingFlags,
    rows: &[serde_json::Value],
    headers: &[(&str, &str)],
) -> Result<bool, i32> {
    if listing.quiet {
        for row in rows {
            println!("{}", row["ID"].as_str().unwrap_or_default());
        }
        return Ok(true);
    }
    listing
        .format
        .print(rows, headers)
        .map_err(|e| report::fail_with(&e))
}

/// The store under wharf's root; an error is reported.
fn open_store() -> Result<Store, i32> {
    Store::open(&paths::wharf_root()).map_err(|e| report::fail(&e))
}

/// An image reference with Docker's rules; an error is reported.
fn reference(text: &str) -> Result<Reference, i32> {
    text.parse::<Reference>()
        .map_err(|e| report::fail_with(&format!("invalid reference `{text}`: {e}")))
}
