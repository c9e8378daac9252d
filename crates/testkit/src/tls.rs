//! A throwaway certificate authority and a server certificate it signed,
//! made with the `openssl` command line.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A CA (`ca.pem`) and a server certificate (`server.pem`, `server.key`)
/// for one IP address, in a temporary directory removed when dropped.
#[derive(Debug)]
pub struct TestCertificates {
    dir: tempfile::TempDir,
}

impl TestCertificates {
    /// Makes a new CA and a certificate for `ip` signed by it (P-256 keys,
    /// valid for two days).
    ///
    /// # Panics
    /// When `openssl` is not installed or fails.
    pub fn for_ip(ip: &str) -> TestCertificates {
        let dir = tempfile::tempdir().expect("temporary directory for certificates");
        let path = |name: &str| dir.path().join(name).display().to_string();
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        let ca_subject = "/CN=wharf test CA";
        openssl(&[
            &["req", "-x509", "-nodes", "-days", "2"],
            &key[..],
            &[
                "-subj",
                ca_subject,
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout",
                &path("ca.key"),
                "-out",
                &path("ca.pem"),
            ],
        ]);
        let subject = format!("/CN={ip}");
        openssl(&[
            &["req", "-nodes"],
            &key[..],
            &[
                "-subj",
                &subject,
                "-keyout",
                &path("server.key"),
                "-out",
                &path("server.csr"),
            ],
        ]);
        let extensions = format!(
            "subjectAltName=IP:{ip}\nbasicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        );
        fs::write(dir.path().join("server.ext"), extensions).expect("write extensions");
        openssl(&[&[
            "x509",
            "-req",
            "-days",
            "2",
            "-in",
            &path("server.csr"),
            "-CA",
            &path("ca.pem"),
            "-CAkey",
            &path("ca.key"),
            "-CAcreateserial",
            "-extfile",
            &path("server.ext"),
            "-out",
            &path("server.pem"),
        ]]);
        TestCertificates { dir }
    }

    /// The CA's certificate (PEM), for `SSL_CERT_FILE`.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The server's certificate (PEM).
    pub fn certificate(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }

    /// The server's private key (PEM).
    pub fn key(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

fn openssl(parts: &[&[&str]]) {
    let args: Vec<&str> = parts.concat();
    let output = Command::new("openssl")
        .args(&args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run openssl ({e}): install the Debian package `openssl`")
        });
    assert!(
        output.status.success(),
        "openssl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}
