//! Compiled programs a host keeps in memory between runs, so that a
//! long-lived host (the shim's daemon) running a module again neither
//! reads nor maps its cached code again, and its guests share one copy of
//! the code.

use std::collections::VecDeque;
use std::sync::Mutex;

/// How many programs a host keeps: the most recently used ones.
const KEPT: usize = 8;

/// A compiled program, ready to instantiate (a clone shares the code).
#[derive(Clone)]
pub(crate) enum Program {
    Module(wasmtime::Module),
    Component(wasmtime::component::Component),
}

#[derive(Default)]
pub(crate) struct ProgramMemo {
    recent: Mutex<VecDeque<(String, Program)>>,
}

impl ProgramMemo {
    /// The program whose binary has sha256 `digest`, if kept.
    pub(crate) fn get(&self, digest: &str) -> Option<Program> {
        let mut recent = self.recent.lock().ok()?;
        let at = recent.iter().position(|(d, _)| d == digest)?;
        let entry = recent.remove(at)?;
        let program = entry.1.clone();
        recent.push_front(entry);
        Some(program)
    }

    pub(crate) fn keep(&self, digest: &str, program: &Program) {
        let Ok(mut recent) = self.recent.lock() else {
            return;
        };
        recent.retain(|(d, _)| d != digest);
        recent.push_front((digest.to_owned(), program.clone()));
        recent.truncate(KEPT);
    }
}
