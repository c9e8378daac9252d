//! Compiling a program that may be hostile, walled in: a compile runs
//! Cranelift over bytes an attacker chose, so it runs in a child process
//! that reads only the program and writes only the code cache, behind the
//! same seccomp allowlist a guest has (no network, no new program, no
//! ptrace). The parent waits and takes the result from a pipe. For a
//! process that compiles as root what containers will run (wharf-runc's
//! `create`).

use std::io::{Read as _, Write as _};
use std::os::fd::{FromRawFd as _, OwnedFd};
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset, RulesetAttr,
    RulesetCreatedAttr,
};

use crate::config::{Precompiled, ProgramShape, WallScope};
use crate::error::{BoxError, Error};
use crate::host::Host;

/// Compiles `program` into `host`'s cache as [`Host::precompile`] does, in
/// a walled child process (see the module docs).
pub(crate) fn precompile(host: &Host, program: &Path) -> Result<Precompiled, Error> {
    let failed = |message: String| Error::WalledCompile {
        path: program.to_owned(),
        message,
    };
    let (read, write) = pipe().map_err(|e| failed(format!("no pipe: {e}")))?;
    // SAFETY: the child only walls itself in, compiles, writes to the pipe
    // and leaves with _exit; it returns to none of the parent's callers.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(failed(format!(
            "cannot fork: {}",
            std::io::Error::last_os_error()
        )));
    }
    if child == 0 {
        drop(read);
        let answer = match wall(host, program) {
            Ok(()) => match host.precompile(program) {
                Ok(done) => encode(&done),
                Err(error) => format!("error {}", crate::error::chain(&error)),
            },
            Err(error) => format!("error cannot wall the compile in: {error}"),
        };
        let _ = std::fs::File::from(write).write_all(answer.as_bytes());
        // SAFETY: ends the child at once, running nothing of the parent's.
        unsafe { libc::_exit(0) };
    }
    drop(write);
    let mut answer = String::new();
    let read_error = std::fs::File::from(read).read_to_string(&mut answer).err();
    let mut status = 0;
    // SAFETY: waits for the child forked above; writes only `status`.
    while unsafe { libc::waitpid(child, &mut status, 0) } < 0
        && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
    {}
    if let Some(error) = read_error {
        return Err(failed(format!("no answer: {error}")));
    }
    decode(&answer).ok_or_else(|| {
        failed(match answer.strip_prefix("error ") {
            Some(message) => message.to_owned(),
            None => format!("its process ended without an answer (status {status:#x})"),
        })
    })
}

/// Walls this (child) process in: the program read-only, the cache read
/// and write, nothing else; and the seccomp allowlist.
fn wall(host: &Host, program: &Path) -> Result<(), BoxError> {
    const WANTED: ABI = ABI::V7;
    let mut created = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(WANTED))?
        .create()?
        .no_new_privs(true);
    let file = AccessFs::from_file(WANTED) & AccessFs::ReadFile;
    created = created.add_rule(PathBeneath::new(PathFd::new(program)?, file))?;
    if let Some(cache) = host.cache() {
        let write = AccessFs::ReadFile
            | AccessFs::ReadDir
            | AccessFs::WriteFile
            | AccessFs::MakeReg
            | AccessFs::MakeDir
            | AccessFs::RemoveFile
            | AccessFs::Refer
            | AccessFs::Truncate;
        created = created.add_rule(PathBeneath::new(PathFd::new(cache.dir())?, write))?;
    }
    created.restrict_self()?;
    super::seccomp::install(false, WallScope::Process)
}

fn encode(done: &Precompiled) -> String {
    let mut text = match done.shape {
        ProgramShape::Command => "command\n".to_owned(),
        ProgramShape::HttpHandler => "http\n".to_owned(),
    };
    if let Some(code) = &done.code {
        text.push_str(&format!("code {}\n", code.display()));
    }
    for record in &done.records {
        text.push_str(&format!("record {}\n", record.display()));
    }
    text
}

fn decode(text: &str) -> Option<Precompiled> {
    let mut lines = text.lines();
    let shape = match lines.next()? {
        "command" => ProgramShape::Command,
        "http" => ProgramShape::HttpHandler,
        _ => return None,
    };
    let mut done = Precompiled {
        shape,
        code: None,
        records: Vec::new(),
    };
    for line in lines {
        match line.split_once(' ')? {
            ("code", path) => done.code = Some(PathBuf::from(path)),
            ("record", path) => done.records.push(PathBuf::from(path)),
            _ => return None,
        }
    }
    Some(done)
}

/// A pipe, both ends close-on-exec.
fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors are new and owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

impl Host {
    /// [`Host::precompile`] in a process of its own (forked from this one)
    /// that is walled in: it reads only the program and writes only the
    /// cache, behind the guest's seccomp allowlist. For compiling what an
    /// untrusted image holds in a privileged process.
    pub fn precompile_walled(&self, path: &std::path::Path) -> Result<Precompiled, Error> {
        precompile(self, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_survive_the_pipe() {
        let done = Precompiled {
            shape: ProgramShape::HttpHandler,
            code: Some(PathBuf::from("/c/x.ccomp")),
            records: vec![PathBuf::from("/c/x.ccomp.seal")],
        };
        assert_eq!(decode(&encode(&done)), Some(done));
        assert_eq!(decode("error nope"), None);
        assert_eq!(decode(""), None);
    }
}
