//! Flag values: sizes, durations, volumes, environments, filters.

use std::path::PathBuf;
use std::time::Duration;

use wharf_engine::Volume;

/// `64m`, `1g`, `512k`, `1048576`, `64MiB`: bytes, as Docker reads `--memory`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let lower = text.trim().to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(digits_end);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size (try 64m or 1g)"))?;
    let unit = unit.trim_end_matches("ib").trim_end_matches('b');
    let scale: u64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit (use b, k, m, g or t)"
            ));
        }
    };
    match number.checked_mul(scale) {
        Some(0) => Err("the size must be more than zero".to_owned()),
        Some(bytes) => Ok(bytes),
        None => Err(format!("`{text}` is too large")),
    }
}

/// `500ms`, `10s`, `2m`, `1h`, `1h30m` (jiff's friendly durations), or a
/// plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let invalid = || format!("`{text}` is not a duration (try 500ms, 10s or 2m)");
    let duration = match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 => {
            Duration::try_from_secs_f64(seconds).map_err(|_| format!("`{text}` is too long"))?
        }
        Ok(_) => return Err("the duration must be more than zero".to_owned()),
        Err(_) => {
            let signed: jiff::SignedDuration = text.parse().map_err(|_| invalid())?;
            Duration::try_from(signed)
                .map_err(|_| "the duration must be more than zero".to_owned())?
        }
    };
    if duration.is_zero() {
        return Err("the duration must be more than zero".to_owned());
    }
    Ok(duration)
}

/// `HOST:GUEST[:ro|:rw]`; GUEST must be absolute, HOST must be a directory.
/// `-p [IP:]HOSTPORT:CONTAINERPORT[/tcp]`.
pub fn parse_publish(text: &str) -> Result<wharf_lifecycle::ports::PortBinding, String> {
    text.parse()
        .map_err(|e: wharf_lifecycle::ports::PortError| e.to_string())
}

/// `--max-concurrency N`: 1 to 65535.
pub fn parse_concurrency(text: &str) -> Result<usize, String> {
    match text.parse::<u16>() {
        Ok(n) if n > 0 => Ok(usize::from(n)),
        _ => Err("expected a number of requests from 1 to 65535".to_owned()),
    }
}

/// `--max-connections N` and its per-client form: 1 to 65535.
pub fn parse_connections(text: &str) -> Result<usize, String> {
    match text.parse::<u16>() {
        Ok(n) if n > 0 => Ok(usize::from(n)),
        _ => Err("expected a number of connections from 1 to 65535".to_owned()),
    }
}

/// `--allow-outbound SCHEME://HOST[:PORT]`.
pub fn parse_outbound(text: &str) -> Result<wharf_engine::OutboundRule, String> {
    text.parse()
        .map_err(|e: wharf_engine::RuleError| e.to_string())
}

pub fn parse_compiler(text: &str) -> Result<wharf_engine::Compiler, String> {
    text.parse()
        .map_err(|e: wharf_engine::UnknownCompiler| e.to_string())
}

/// `--security-opt`: what wharf can take of Docker's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityOpt {
    /// No no_new_privs, Landlock or seccomp around the guest.
    NoLayers,
    /// `no-new-privileges`: always so.
    NoNewPrivileges,
}

pub fn parse_security_opt(text: &str) -> Result<SecurityOpt, String> {
    match text {
        "no-layers" => Ok(SecurityOpt::NoLayers),
        "no-new-privileges" | "no-new-privileges:true" | "no-new-privileges=true" => {
            Ok(SecurityOpt::NoNewPrivileges)
        }
        _ => Err(format!(
            "`{text}` is not a security option wharf has: no-layers turns off \
             no_new_privs, Landlock and seccomp around the guest"
        )),
    }
}

/// `--cpus`: a positive number of CPUs, at most 1024.
pub fn parse_cpus(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(cpus) if (0.01..=1024.0).contains(&cpus) => Ok(cpus),
        _ => Err(format!(
            "`{text}` is not a number of CPUs from 0.01 to 1024"
        )),
    }
}

/// `--cpu-shares`: Docker's 2..=262144.
pub fn parse_cpu_shares(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(shares) if (2..=262_144).contains(&shares) => Ok(shares),
        _ => Err(format!("`{text}` is not a CPU weight from 2 to 262144")),
    }
}

pub fn parse_listen(text: &str) -> Result<wharf_engine::OutboundRule, String> {
    wharf_engine::OutboundRule::listen(text).map_err(|e| e.to_string())
}

pub fn parse_volume(text: &str) -> Result<Volume, String> {
    if !text.contains(':') && text.starts_with('/') {
        // `-v /data`: an anonymous volume, as Docker makes one.
        return Ok(Volume::new(
            crate::volumes::anonymous()?,
            guest_path(text)?,
            false,
        ));
    }
    let mut parts = text.split(':');
    let (Some(host), Some(guest)) = (parts.next(), parts.next()) else {
        return Err(format!("`{text}` is not HOST:GUEST[:ro]"));
    };
    let read_only = match parts.next() {
        None | Some("rw") => false,
        Some("ro") => true,
        Some(other) => return Err(format!("unknown volume option `{other}` (use ro or rw)")),
    };
    if parts.next().is_some() {
        return Err(format!("`{text}` has too many `:` (HOST:GUEST[:ro])"));
    }
    if host.is_empty() {
        return Err(format!("`{text}` names no host directory"));
    }
    let guest = guest_path(guest)?;
    if crate::volumes::is_volume_name(host) {
        return Ok(Volume::new(crate::volumes::ensure(host)?, guest, read_only));
    }
    let meta = std::fs::metadata(host).map_err(|e| format!("host directory `{host}`: {e}"))?;
    if !meta.is_dir() {
        return Err(format!("`{host}` is not a directory"));
    }
    // Absolute but not resolved: its links are followed when the run is
    // made, except one inside another writable volume (see
    // `wharf_engine::resolve_volumes`).
    let host = std::path::absolute(host).map_err(|e| format!("host directory `{host}`: {e}"))?;
    Ok(Volume::new(host, guest, read_only))
}

/// `--filter KEY=VALUE`, as a pair; which keys a command takes is its own
/// business.
pub fn parse_filter(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!(
            "bad format of filter `{text}` (expected KEY=VALUE)"
        )),
    }
}

/// `--tail N`, or `--tail all` (every line: `usize::MAX`).
pub fn parse_tail(text: &str) -> Result<usize, String> {
    if text == "all" {
        return Ok(usize::MAX);
    }
    text.parse()
        .map_err(|_| format!("`{text}` is not a number of lines (or all)"))
}

/// An absolute guest path in its plain form: `/data/` and `/data/./` are
/// `/data`; `..` is refused (the guest's tree has no outside to climb to).
pub fn guest_path(text: &str) -> Result<String, String> {
    if !text.starts_with('/') {
        return Err(format!("guest path `{text}` must be absolute"));
    }
    let mut parts = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(format!("guest path `{text}` must not contain `..`")),
            part => parts.push(part),
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

/// `KEY=VALUE` entries — the guest's environment (`-e`, `--env-file`) or a
/// container's labels (`--label`, `--label-file`): files first, then the
/// entries of `flag` (`kind` names the files in errors), later ones
/// overriding earlier ones. `KEY` alone takes
/// `host(KEY)` (for the environment, the host's value, as Docker does).
pub fn environment(
    env_files: &[PathBuf],
    flags: &[String],
    (flag, kind): (&str, &str),
    host: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, String> {
    let mut entries: Vec<(String, String)> = Vec::new();
    let mut add = |entry: &str, origin: &dyn Fn() -> String| -> Result<(), String> {
        let (key, value) = match entry.split_once('=') {
            Some((key, value)) => (key, Some(value.to_owned())),
            None => (entry, host(entry)),
        };
        if key.is_empty() || key.contains('\0') {
            return Err(format!("{}: `{entry}` has no variable name", origin()));
        }
        let Some(value) = value else { return Ok(()) };
        match entries.iter_mut().find(|(k, _)| k == key) {
            Some(existing) => existing.1 = value,
            None => entries.push((key.to_owned(), value)),
        }
        Ok(())
    };
    for file in env_files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {kind} file {}: {e}", file.display()))?;
        for (number, line) in text.lines().enumerate() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            add(line, &|| format!("{}:{}", file.display(), number + 1))?;
        }
    }
    for entry in flags {
        add(entry, &|| flag.to_owned())?;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64m"), Ok(64 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("64mb"), Ok(64 << 20));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12x").is_err());
        assert!(parse_size("m").is_err());
        assert!(parse_size("99999999999t").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("-5s").is_err());
        assert!(parse_duration("1e400").is_err());
        // Past what a duration holds: an error, not an overflow.
        assert!(parse_duration("3000000000000000h").is_err());
        assert_eq!(
            parse_duration("2000000000000h"),
            Ok(Duration::from_secs(2_000_000_000_000 * 3600))
        );
    }

    #[test]
    fn volumes() {
        let tmp = std::env::temp_dir().canonicalize().expect("tmp");
        let spec = format!("{}:/data:ro", tmp.display());
        let volume = parse_volume(&spec).expect("valid");
        assert_eq!(volume.host, tmp);
        assert_eq!(volume.guest, "/data");
        assert!(volume.read_only);
        assert!(parse_volume("/tmp:data").is_err(), "guest must be absolute");
        assert!(parse_volume("/tmp:/data:rx").is_err());
        assert!(parse_volume("/no/such/dir:/data").is_err());
        let spec = format!("{}:/data//x/./:ro", tmp.display());
        assert_eq!(parse_volume(&spec).expect("valid").guest, "/data/x");
        assert!(parse_volume(&format!("{}:/data/../etc", tmp.display())).is_err());
        assert_eq!(guest_path("/"), Ok("/".to_owned()));
    }

    #[test]
    fn environment_merges_files_and_flags() {
        let dir = std::env::temp_dir().join(format!("wharf-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("env");
        std::fs::write(&file, "# comment\n\nA=1\nB=from file\nHOSTY\nMISSING\n").expect("write");
        let host = |key: &str| (key == "HOSTY").then(|| "h".to_owned());
        let env = environment(
            &[file],
            &["B=flag".to_owned(), "C=x=y".to_owned()],
            ("-e", "env"),
            host,
        )
        .expect("env");
        let expected = [("A", "1"), ("B", "flag"), ("HOSTY", "h"), ("C", "x=y")];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(env, expected);
        assert_eq!(
            environment(&[], &["=v".to_owned()], ("--label", "label"), |_| None),
            Err("--label: `=v` has no variable name".to_owned())
        );
        std::fs::remove_dir_all(dir).expect("cleanup");
    }
}
