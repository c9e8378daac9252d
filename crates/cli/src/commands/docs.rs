//! `wharf completion SHELL` and `wharf man DIR`: shell completions and man
//! pages made from the same clap definitions as `--help`, so the three
//! cannot drift apart.

use clap::CommandFactory as _;

use super::Outcome;
use crate::cli::{Cli, CompletionArgs, ManArgs};
use crate::report;

pub fn completion(args: CompletionArgs) -> Outcome {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "wharf", &mut std::io::stdout());
    Ok(0)
}

/// wharf.1, and wharf-COMMAND.1 (wharf-container-ls.1, ...) for every
/// command that is not hidden.
pub fn man(args: ManArgs) -> Outcome {
    std::fs::create_dir_all(&args.dir)
        .map_err(|e| report::fail_with(&format!("cannot make {}: {e}", args.dir.display())))?;
    let command = Cli::command();
    let written = write_pages(&command, "wharf", &args.dir)
        .map_err(|e| report::fail_with(&format!("cannot write man pages: {e}")))?;
    println!("{written} man pages in {}", args.dir.display());
    Ok(0)
}

/// Writes `command`'s page as NAME.1 and its subcommands' below it; how
/// many pages were written.
fn write_pages(
    command: &clap::Command,
    name: &str,
    dir: &std::path::Path,
) -> std::io::Result<usize> {
    let page = command.clone().name(name.to_owned());
    let mut text = Vec::new();
    clap_mangen::Man::new(page).render(&mut text)?;
    std::fs::write(dir.join(format!("{name}.1")), text)?;
    let mut written = 1;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        written += write_pages(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(written)
}
