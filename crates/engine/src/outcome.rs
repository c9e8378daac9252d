//! How a guest run ended.

use wasmtime_wasi::I32Exit;

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

/// What a guest's failure was, and where in the guest it happened.
pub(crate) fn trap_report(error: &wasmtime::Error) -> TrapReport {
    let backtrace = error
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .map(|trace| trace.frames().iter().map(describe_frame).collect())
        .unwrap_or_default();
    let message = match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => error
            .chain()
            .map(|cause| cause.to_string())
            .filter(|line| !line.starts_with("error while executing at wasm backtrace"))
            .collect::<Vec<_>>()
            .join(": "),
    };
    TrapReport { message, backtrace }
}

/// A guest failure in one line of text (and its backtrace, if any).
pub(crate) fn describe_failure(error: &wasmtime::Error) -> String {
    match error.downcast_ref::<I32Exit>() {
        Some(exit) => format!("the guest exited with status {}", exit.0),
        None => trap_report(error).to_string(),
    }
}

fn describe_frame(frame: &wasmtime::FrameInfo) -> String {
    let module = frame.module().name().unwrap_or("<module>");
    let func = match frame.func_name() {
        Some(name) => name.to_owned(),
        None => format!("<function {}>", frame.func_index()),
    };
    match frame.module_offset() {
        Some(offset) => format!("{module}!{func} @ {offset:#x}"),
        None => format!("{module}!{func}"),
    }
}
