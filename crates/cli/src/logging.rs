//! wharf's own diagnostics: `WHARF_LOG=error|warn|info|debug|trace` on stderr.

use tracing::level_filters::LevelFilter;

/// Installs the stderr logger when `WHARF_LOG` asks for one (warnings by
/// default), so that a plain run pays nothing for it.
pub fn init() {
    let level = match std::env::var("WHARF_LOG").as_deref() {
        Ok("off") => return,
        Ok("error") => LevelFilter::ERROR,
        Ok("info") => LevelFilter::INFO,
        Ok("debug") => LevelFilter::DEBUG,
        Ok("trace") => LevelFilter::TRACE,
        _ => LevelFilter::WARN,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}
