//! `wharf login` and `wharf logout`: credentials where Docker keeps them.

use std::io::{BufRead, IsTerminal, Write};

use wharf_image::DEFAULT_REGISTRY;
use wharf_image::registry::{
    Client, ClientOptions, Credentials, remove_credentials, store_credentials,
};

use super::Outcome;
use crate::cli::{LoginArgs, LogoutArgs};
use crate::report;

pub fn login(args: LoginArgs) -> Outcome {
    let registry = registry_name(args.registry.as_deref());
    let username = match args.username {
        Some(user) => user,
        None => prompt("Username: ")?,
    };
    let password = match (args.password, args.password_stdin) {
        (Some(_), true) => {
            return Err(report::fail_with(
                "--password and --password-stdin cannot be used together",
            ));
        }
        (Some(password), false) => password,
        (None, true) => read_line_stdin()?,
        (None, false) => {
            let _quiet = EchoOff::new();
            let password = prompt("Password: ");
            eprintln!();
            password?
        }
    };
    if username.is_empty() || password.is_empty() {
        return Err(report::fail_with("a user name and a password are required"));
    }
    let credentials = Credentials { username, password };
    let client = Client::new(
        &registry,
        "",
        ClientOptions {
            insecure: !args.registry_flags.tls_verify,
            credentials: Some(credentials.clone()),
        },
    )
    .map_err(|e| report::fail(&e))?;
    client.ping().map_err(|e| report::fail(&e))?;
    let file = store_credentials(&registry, &credentials).map_err(|e| report::fail(&e))?;
    eprintln!("Credentials stored in {}", file.display());
    println!("Login Succeeded");
    Ok(0)
}

pub fn logout(args: LogoutArgs) -> Outcome {
    let registry = registry_name(args.registry.as_deref());
    let removed = remove_credentials(&registry).map_err(|e| report::fail(&e))?;
    if removed {
        println!("Removing login credentials for {registry}");
    } else {
        println!("Not logged in to {registry}");
    }
    Ok(0)
}

/// `docker.io` for Docker Hub's many spellings; others as given.
fn registry_name(given: Option<&str>) -> String {
    let given = given.unwrap_or(DEFAULT_REGISTRY);
    let bare = given
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let bare = bare.strip_suffix("/v1").unwrap_or(bare);
    match bare {
        "index.docker.io" | "registry-1.docker.io" => DEFAULT_REGISTRY.to_owned(),
        other => other.to_owned(),
    }
}

fn read_line_stdin() -> Result<String, i32> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| report::fail_with(&format!("cannot read stdin: {e}")))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

fn prompt(question: &str) -> Result<String, i32> {
    if !std::io::stdin().is_terminal() {
        return Err(report::fail_with(
            "not a terminal: give -u USER and --password-stdin",
        ));
    }
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    read_line_stdin()
}

/// Turns the terminal's echo off while alive, so a typed password is not
/// shown.
struct EchoOff {
    saved: Option<libc::termios>,
}

impl EchoOff {
    fn new() -> EchoOff {
        // SAFETY: termios is plain data; tcgetattr fills it or fails.
        let mut settings: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: fd 0 and a valid pointer to a termios.
        if unsafe { libc::tcgetattr(0, &mut settings) } != 0 {
            return EchoOff { saved: None };
        }
        let saved = settings;
        settings.c_lflag &= !libc::ECHO;
        // SAFETY: fd 0 and settings read from it.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &settings) };
        EchoOff { saved: Some(saved) }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            // SAFETY: restores what tcgetattr read from fd 0.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, saved) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::registry_name;

    #[test]
    fn docker_hub_has_one_name() {
        assert_eq!(registry_name(None), "docker.io");
        assert_eq!(
            registry_name(Some("https://index.docker.io/v1/")),
            "docker.io"
        );
        assert_eq!(registry_name(Some("localhost:5000")), "localhost:5000");
    }
}
