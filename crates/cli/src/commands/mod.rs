//! One module per subcommand.

mod run;

use crate::cli::{Cli, Command};

/// Runs the parsed command; returns the process exit code.
pub fn dispatch(cli: Cli) -> i32 {
    match cli.command {
        Command::Run(args) => run::run(args),
    }
}
