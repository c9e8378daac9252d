//! One module per subcommand (image commands grouped by what they touch).

mod archive;
mod build;
mod compile;
mod compose;
mod containers;
mod detach;
mod docs;
mod history;
mod images;
mod login;
mod logs;
mod request;
mod run;
mod run_image;
mod serve;
mod signals;
mod start;
mod stats;
mod supervise;
mod system;
mod transfer;

use wharf_image::{Reference, Store};

use crate::cli::{Cli, Command, SystemCommand};
use crate::{paths, report};

/// Runs the parsed command; returns the process exit code.
pub fn dispatch(cli: Cli) -> i32 {
    let stateless = matches!(cli.command, Command::Completion(_) | Command::Man(_));
    if !stateless && let Err(message) = crate::paths::check_root() {
        return report::fail_with(&message);
    }
    let result = match cli.command {
        Command::Run(args) => return run::run(*args, run::Mode::Run),
        Command::Create(args) => return run::run(*args, run::Mode::Create),
        Command::Start(args) => start::start(args),
        Command::Restart(args) => start::restart(args),
        Command::Rename(args) => start::rename(args),
        Command::Build(args) => build::build(args),
        Command::Compile(args) => compile::compile(args),
        Command::Pull(args) => transfer::pull(args),
        Command::Push(args) => transfer::push(args),
        Command::Images(args) => images::list(args),
        Command::Rmi(args) => images::remove(args),
        Command::Tag(args) => images::tag(args),
        Command::History(args) => history::history(args),
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
        Command::Exec(_) => Err(report::fail_with(
            "exec: a Wasm container is one guest, with no shell or other program to start beside it; run another container instead",
        )),
        Command::Version(args) => system::version(args),
        Command::Info(args) => system::info(args),
        Command::Container(command) => match Command::try_from(command) {
            Ok(command) => return dispatch(Cli { command }),
            Err(prune) => containers::prune(prune),
        },
        Command::Image(command) => match Command::try_from(command) {
            Ok(command) => return dispatch(Cli { command }),
            Err(prune) => images::prune(prune),
        },
        Command::System(SystemCommand::Df(args)) => system::df(args),
        Command::System(SystemCommand::Prune(args)) => system::prune(args),
        Command::System(SystemCommand::Info(args)) => system::info(args),
        Command::Compose(args) => compose::compose(args),
        Command::Completion(args) => docs::completion(args),
        Command::Man(args) => docs::man(args),
        Command::Supervise(args) => return supervise::supervise(args),
    };
    match result {
        Ok(code) => code,
        Err(code) => code,
    }
}

/// Asks on the terminal, as Docker's prune commands do; true for `y`.
fn confirm(warning: &str) -> bool {
    use std::io::Write as _;
    print!("WARNING! {warning}\nAre you sure you want to continue? [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes" | "Yes")
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
