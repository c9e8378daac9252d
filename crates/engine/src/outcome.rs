//! How a guest run ended.

use crate::stop::StopReason;

/// The end of a guest that started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The guest exited with this status (0 when it returned normally).
    Exited(i32),
    /// The guest trapped.
    Trapped(TrapReport),
    /// The guest was stopped from outside.
    Stopped(StopReason),
}

/// A trap and where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrapReport {
    /// What the trap was, e.g. `wasm trap: wasm `unreachable` instruction executed`.
    pub message: String,
    /// One line per frame, innermost first: `func_name (module offset)`.
    pub backtrace: Vec<String>,
}

impl std::fmt::Display for TrapReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)?;
        if !self.backtrace.is_empty() {
            write!(f, "\nwasm backtrace:")?;
            for (i, frame) in self.backtrace.iter().enumerate() {
                write!(f, "\n  {i:>3}: {frame}")?;
            }
        }
        Ok(())
    }
}
