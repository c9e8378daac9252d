//! The flags containerd passes, in Go's `flag` style (`-name value`).

use std::path::PathBuf;

/// What containerd told the shim.
#[derive(Debug, Default, Clone)]
pub struct Args {
    pub namespace: String,
    /// containerd's gRPC socket; its ttrpc socket is this plus `.ttrpc`.
    pub address: String,
    pub publish_binary: String,
    pub id: String,
    pub bundle: Option<PathBuf>,
    pub debug: bool,
    /// For `serve`: the socket to listen on.
    pub socket: Option<PathBuf>,
    pub action: String,
}

pub fn parse(mut words: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args::default();
    while let Some(word) = words.next() {
        let Some(flag) = word.strip_prefix("--").or_else(|| word.strip_prefix('-')) else {
            args.action = word;
            continue;
        };
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (flag, None),
        };
        if matches!(name, "debug" | "v" | "version") {
            if name == "debug" {
                args.debug = inline.as_deref() != Some("false");
            } else {
                args.action = "version".to_owned();
            }
            continue;
        }
        let value = match inline {
            Some(value) => value,
            None => words.next().ok_or(format!("flag -{name} needs a value"))?,
        };
        match name {
            "namespace" => args.namespace = value,
            "address" => args.address = value,
            "publish-binary" => args.publish_binary = value,
            "id" => args.id = value,
            "bundle" => args.bundle = Some(PathBuf::from(value)),
            "socket" => args.socket = Some(PathBuf::from(value)),
            // Flags of newer containerd versions this shim does not need.
            _ => {}
        }
    }
    if args.action.is_empty() {
        return Err("no action given (start or delete)".to_owned());
    }
    Ok(args)
}

impl Args {
    /// The bundle: `-bundle`, else the working directory containerd gave.
    pub fn bundle(&self) -> Result<PathBuf, String> {
        match &self.bundle {
            Some(bundle) => Ok(bundle.clone()),
            None => std::env::current_dir().map_err(|e| format!("working directory: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_containerds_flags() {
        let words = "-namespace k8s.io -address /run/c.sock -publish-binary /usr/bin/containerd -id abc -debug start";
        let args = parse(words.split(' ').map(str::to_owned)).expect("parse");
        assert_eq!(args.namespace, "k8s.io");
        assert_eq!(args.address, "/run/c.sock");
        assert_eq!(args.id, "abc");
        assert!(args.debug);
        assert_eq!(args.action, "start");
        assert!(parse(["-id".to_owned()].into_iter()).is_err());
    }
}
