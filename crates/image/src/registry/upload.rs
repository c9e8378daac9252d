//! Blob uploads: cross-repository mounts, monolithic and chunked pushes.

use std::io::Read;

use super::RegistryError;
use super::auth::Access;
use super::client::Client;
use super::http::{Method, Reply};
use super::http::{header, resolve, with_query};
use crate::blobs::BlobError;
use crate::digest::Digest;

/// Blobs up to this size go up in one PUT; larger ones in chunks.
pub(crate) const MONOLITHIC_LIMIT: u64 = 16 << 20;
/// The size of each PATCH of a chunked upload.
pub(crate) const CHUNK_SIZE: usize = 8 << 20;

impl Client {
    /// Asks the registry to link a blob from `from_repository` (same
    /// registry) into this repository, without sending it. Returns whether
    /// it did; when the registry opens an upload instead, the upload is
    /// cancelled and the answer is `false` (push the blob then).
    pub fn mount_blob(
        &self,
        digest: &Digest,
        from_repository: &str,
    ) -> Result<bool, RegistryError> {
        let digest_text = digest.to_string();
        let pairs = [("mount", digest_text.as_str()), ("from", from_repository)];
        let url = self.with_query(&self.uploads_url(), &pairs)?;
        let response = self.send(
            Method::Post,
            &url,
            Access::Mount(from_repository),
            &[],
            Some(&[]),
        )?;
        match response.status().as_u16() {
            201 => Ok(true),
            202 => {
                // An upload session was opened instead: cancel it, best effort.
                if let Some(location) = header(&response, "location").and_then(|l| resolve(&url, l))
                {
                    let _ = self.send(Method::Delete, &location, Access::Push, &[], None);
                }
                Ok(false)
            }
            _ => Err(self.failure(Method::Post, &url, response)),
        }
    }

    /// Uploads a blob of `size` bytes read from `content`, unless the
    /// repository has it already: in one PUT up to 16 MiB, else in 8 MiB
    /// PATCH chunks then a closing PUT. `progress` gets the bytes sent so
    /// far. The registry checks the digest; `content` must be exactly
    /// `size` bytes.
    pub fn push_blob(
        &self,
        digest: &Digest,
        size: u64,
        content: &mut dyn Read,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(), RegistryError> {
        if self.blob_exists(digest)? {
            progress(size);
            return Ok(());
        }
        let start = self.uploads_url();
        let response = self.send(Method::Post, &start, Access::Push, &[], Some(&[]))?;
        let response = self.expect(Method::Post, &start, response, &[202])?;
        let mut location = self.location(&start, &response)?;
        let mut sent: u64 = 0;
        let read_error = |source| {
            self.blob_error(
                digest,
                BlobError::Io {
                    path: "<blob content>".into(),
                    source,
                },
            )
        };
        if size <= MONOLITHIC_LIMIT {
            let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            content
                .take(size + 1)
                .read_to_end(&mut bytes)
                .map_err(read_error)?;
            self.check_size(digest, size, bytes.len() as u64)?;
            let url = self.with_query(&location, &[("digest", &digest.to_string())])?;
            let headers = [("Content-Type", "application/octet-stream")];
            let response = self.send(Method::Put, &url, Access::Push, &headers, Some(&bytes))?;
            self.expect(Method::Put, &url, response, &[201, 204])?;
            progress(size);
            return Ok(());
        }
        let mut chunk = Vec::with_capacity(CHUNK_SIZE);
        loop {
            chunk.clear();
            let limit = (size + 1 - sent).min(CHUNK_SIZE as u64);
            content
                .take(limit)
                .read_to_end(&mut chunk)
                .map_err(read_error)?;
            if chunk.is_empty() {
                break;
            }
            if sent + chunk.len() as u64 > size {
                return Err(self.blob_error(
                    digest,
                    BlobError::TooLarge {
                        digest: digest.clone(),
                        limit: size,
                    },
                ));
            }
            let range = format!("{}-{}", sent, sent + chunk.len() as u64 - 1);
            let headers = [
                ("Content-Type", "application/octet-stream"),
                ("Content-Range", range.as_str()),
            ];
            let response = self.send(
                Method::Patch,
                &location,
                Access::Push,
                &headers,
                Some(&chunk),
            )?;
            let response = self.expect(Method::Patch, &location, response, &[202, 204])?;
            location = self.location(&location, &response)?;
            sent += chunk.len() as u64;
            progress(sent);
        }
        self.check_size(digest, size, sent)?;
        let url = self.with_query(&location, &[("digest", &digest.to_string())])?;
        let response = self.send(Method::Put, &url, Access::Push, &[], Some(&[]))?;
        self.expect(Method::Put, &url, response, &[201, 204])?;
        Ok(())
    }

    /// The upload URL a reply points to next.
    fn location(&self, url: &str, response: &Reply) -> Result<String, RegistryError> {
        header(response, "location")
            .and_then(|l| resolve(url, l))
            .ok_or_else(|| RegistryError::Protocol {
                url: url.to_owned(),
                detail: "upload reply has no Location".to_owned(),
            })
    }

    /// `url` with `pairs` added to its query.
    fn with_query(&self, url: &str, pairs: &[(&str, &str)]) -> Result<String, RegistryError> {
        with_query(url, pairs).ok_or_else(|| RegistryError::Protocol {
            url: url.to_owned(),
            detail: "not an http or https URL".to_owned(),
        })
    }

    fn check_size(&self, digest: &Digest, expected: u64, actual: u64) -> Result<(), RegistryError> {
        if expected == actual {
            return Ok(());
        }
        Err(self.blob_error(
            digest,
            BlobError::SizeMismatch {
                digest: digest.clone(),
                expected,
                actual,
            },
        ))
    }

    fn blob_error(&self, digest: &Digest, source: BlobError) -> RegistryError {
        RegistryError::Blob {
            registry: self.registry().to_owned(),
            digest: digest.clone(),
            source,
        }
    }
}
