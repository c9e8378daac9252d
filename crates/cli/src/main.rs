//! `wharf`: run WebAssembly applications as containers, with no daemon.

mod cli;
mod commands;
mod exit;
mod flags;
mod logging;
mod watchdog;

fn main() {
    logging::init();
    let code = match cli::parse() {
        Ok(cli) => commands::dispatch(cli),
        Err(code) => code,
    };
    exit::exit(code)
}
