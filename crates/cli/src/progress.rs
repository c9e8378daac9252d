//! Progress of pulls and pushes: a bar per blob on a terminal, a line per
//! finished blob otherwise.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use wharf_image::Digest;
use wharf_image::store::{BlobEvent, Progress};

/// Shows transfers on stderr.
pub struct Transfers {
    verb: &'static str,
    bars: Option<MultiProgress>,
    active: Mutex<HashMap<Digest, Active>>,
    quiet: bool,
    drew: AtomicBool,
}

struct Active {
    bar: Option<ProgressBar>,
    size: u64,
    started: Instant,
}

impl Transfers {
    /// `verb` is what moving a blob is called: "Pulling", "Pushing".
    pub fn new(verb: &'static str, quiet: bool) -> Transfers {
        let on_terminal = !quiet && std::io::stderr().is_terminal();
        let bars =
            on_terminal.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Transfers {
            verb,
            bars,
            active: Mutex::new(HashMap::new()),
            quiet,
            drew: AtomicBool::new(false),
        }
    }

    /// Ends the display: the terminal's cursor goes below the bars.
    pub fn end(self) {
        if self.drew.load(Ordering::Relaxed) {
            eprintln!();
        }
    }

    fn bar(&self, digest: &Digest, size: u64) -> Option<ProgressBar> {
        let bars = self.bars.as_ref()?;
        let style = ProgressStyle::with_template(
            "{prefix} {msg:9} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let bar = bars.add(ProgressBar::new(size).with_style(style));
        self.drew.store(true, Ordering::Relaxed);
        bar.set_prefix(short(digest).to_owned());
        bar.set_message(self.verb);
        Some(bar)
    }
}

impl Progress for Transfers {
    fn start(&self, digest: &Digest, size: u64) {
        let bar = self.bar(digest, size);
        if let Ok(mut active) = self.active.lock() {
            active.insert(
                digest.clone(),
                Active {
                    bar,
                    size,
                    started: Instant::now(),
                },
            );
        }
    }

    fn advance(&self, digest: &Digest, done: u64) {
        if let Ok(active) = self.active.lock()
            && let Some(Active { bar: Some(bar), .. }) = active.get(digest)
        {
            bar.set_position(done);
        }
    }

    fn finish(&self, digest: &Digest, event: BlobEvent) {
        let entry = self.active.lock().ok().and_then(|mut a| a.remove(digest));
        let what = match event {
            BlobEvent::Present => "Already exists",
            BlobEvent::Mounted => "Mounted",
            BlobEvent::Transferred if self.verb == "Pushing" => "Pushed",
            BlobEvent::Transferred => "Pulled",
        };
        match entry {
            Some(Active { bar: Some(bar), .. }) => bar.finish_with_message(what),
            Some(Active { size, started, .. }) if !self.quiet => {
                let seconds = started.elapsed().as_secs_f64().max(1e-6);
                let rate = size as f64 / seconds / (1 << 20) as f64;
                eprintln!(
                    "{}: {what} {} in {seconds:.2}s ({rate:.1} MiB/s)",
                    short(digest),
                    human_size(size)
                );
            }
            None if !self.quiet => eprintln!("{}: {what}", short(digest)),
            _ => {}
        }
    }
}

/// The first 12 hex digits, as Docker shows layer IDs.
pub fn short(digest: &Digest) -> &str {
    &digest.hex()[..12]
}

/// `1.5MB`-style sizes, as `docker images` shows them (powers of 1000).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{value:.3}", value = (value * 100.0).round() / 100.0)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
            + UNITS[unit]
    }
}

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn sizes_read_like_dockers() {
        assert_eq!(human_size(512), "512B");
        assert_eq!(human_size(1500), "1.5kB");
        assert_eq!(human_size(52_428_800), "52.43MB");
        assert_eq!(human_size(2_000_000_000), "2GB");
    }
}
