//! A small client for containerd's gRPC API, over its Unix socket: read a
//! container's record, an image's target and content blobs, and create a
//! container. Only the calls and fields wharf needs; every call carries the
//! namespace containerd scopes it to.
//!
//! Calls block: each [`Client`] drives its HTTP/2 connection on a
//! single-threaded Tokio runtime of its own.

mod grpc;
mod messages;

use std::path::Path;

pub use grpc::CallError;
pub use messages::{Any, Container, Descriptor, Image, Runtime};

use messages::{
    CreateContainerRequest, GetContainerRequest, GetContainerResponse, GetImageRequest,
    GetImageResponse, ReadContentRequest, ReadContentResponse,
};

/// The type URL containerd gives an OCI runtime spec stored as JSON.
pub const SPEC_TYPE_URL: &str = "types.containerd.io/opencontainers/runtime-spec/1/Spec";

/// A connection to containerd, in one namespace.
#[derive(Debug)]
pub struct Client {
    runtime: tokio::runtime::Runtime,
    channel: grpc::Channel,
}

impl Client {
    /// Connects to containerd's socket `address`; calls work in `namespace`.
    pub fn connect(address: &Path, namespace: &str) -> Result<Client, CallError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(CallError::Connect)?;
        let channel = runtime.block_on(grpc::Channel::connect(address, namespace))?;
        Ok(Client { runtime, channel })
    }

    /// Any unary call: `path` is `/PACKAGE.SERVICE/METHOD` (e.g. CRI's
    /// `/runtime.v1.RuntimeService/Version`).
    pub fn call<Request, Reply>(
        &mut self,
        path: &str,
        request: &Request,
    ) -> Result<Reply, CallError>
    where
        Request: prost::Message,
        Reply: prost::Message + Default,
    {
        self.runtime.block_on(self.channel.unary(path, request))
    }

    /// The record of container `id`.
    pub fn container(&mut self, id: &str) -> Result<Container, CallError> {
        let request = GetContainerRequest { id: id.to_owned() };
        let response: GetContainerResponse = self.call(
            "/containerd.services.containers.v1.Containers/Get",
            &request,
        )?;
        response.container.ok_or(CallError::Missing("container"))
    }

    /// Creates a container record (no snapshot is made).
    pub fn create_container(&mut self, container: Container) -> Result<(), CallError> {
        let request = CreateContainerRequest {
            container: Some(container),
        };
        let _: GetContainerResponse = self.call(
            "/containerd.services.containers.v1.Containers/Create",
            &request,
        )?;
        Ok(())
    }

    /// The image named `name`.
    pub fn image(&mut self, name: &str) -> Result<Image, CallError> {
        let request = GetImageRequest {
            name: name.to_owned(),
        };
        let response: GetImageResponse =
            self.call("/containerd.services.images.v1.Images/Get", &request)?;
        response.image.ok_or(CallError::Missing("image"))
    }

    /// The whole blob `digest` from the content store; more than `limit`
    /// bytes is an error.
    pub fn read_content(&mut self, digest: &str, limit: u64) -> Result<Vec<u8>, CallError> {
        let request = ReadContentRequest {
            digest: digest.to_owned(),
            offset: 0,
            size: 0,
        };
        let mut blob = Vec::new();
        self.runtime.block_on(self.channel.server_streaming(
            "/containerd.services.content.v1.Content/Read",
            &request,
            |chunk: ReadContentResponse| {
                if u64::try_from(chunk.offset).ok() != Some(blob.len() as u64) {
                    return Err(CallError::Missing("the next chunk (out of order)"));
                }
                if (blob.len() + chunk.data.len()) as u64 > limit {
                    return Err(CallError::TooLarge { limit });
                }
                blob.extend_from_slice(&chunk.data);
                Ok(())
            },
        ))?;
        Ok(blob)
    }
}
