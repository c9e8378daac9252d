//! wharf's own diagnostics on stderr: warnings and errors always, more with
//! `WHARF_LOG=info|debug|trace` (`WHARF_LOG=off` silences them).
//!
//! A few lines of our own instead of a logging framework: installing it
//! costs one allocation, and a run that logs nothing pays for nothing else.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::{Event, Level, Metadata, span};

/// Installs the stderr logger at the level `WHARF_LOG` asks for.
pub fn init() {
    let max = match std::env::var("WHARF_LOG").as_deref() {
        Ok("off") => return,
        Ok("error") => Level::ERROR,
        Ok("info") => Level::INFO,
        Ok("debug") => Level::DEBUG,
        Ok("trace") => Level::TRACE,
        _ => Level::WARN,
    };
    let _ = tracing::subscriber::set_global_default(StderrLogger { max });
}

/// Prints each event as `wharf: LEVEL: message key=value...`; no spans.
struct StderrLogger {
    max: Level,
}

impl tracing::Subscriber for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.max
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::from_level(self.max))
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let level = event.metadata().level().as_str().to_ascii_lowercase();
        let mut line = format!("wharf: {level}:");
        event.record(&mut Fields(&mut line));
        eprintln!("{line}");
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

/// Appends an event's fields to a line.
struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = if field.name() == "message" {
            write!(self.0, " {value:?}")
        } else {
            write!(self.0, " {}={value:?}", field.name())
        };
    }
}
