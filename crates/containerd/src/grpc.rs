//! gRPC over HTTP/2 on a Unix socket: unary and server-streaming calls,
//! each message framed as one flag byte (0: not compressed), a big-endian
//! 32-bit length and the protobuf bytes; the status comes in the trailers,
//! or in the headers of a reply that has no body.

use std::path::Path;

use bytes::{Buf, Bytes, BytesMut};
use h2::client::SendRequest;
use http::HeaderMap;

/// The largest single message accepted (content arrives in chunks of 1 MiB).
const MAX_MESSAGE: usize = 16 << 20;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("cannot connect to containerd: {0}")]
    Connect(#[source] std::io::Error),
    #[error("HTTP/2: {0}")]
    Http2(#[from] h2::Error),
    #[error("containerd answered {code}: {message}")]
    Status { code: u32, message: String },
    #[error("undecodable reply: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("a reply message larger than {MAX_MESSAGE} bytes, or cut short")]
    BadFrame,
    #[error("the reply lacks {0}")]
    Missing(&'static str),
    #[error("more than {limit} bytes")]
    TooLarge { limit: u64 },
}

impl CallError {
    /// gRPC's NOT_FOUND.
    pub fn is_not_found(&self) -> bool {
        matches!(self, CallError::Status { code: 5, .. })
    }
}

/// One HTTP/2 connection to containerd.
#[derive(Debug)]
pub struct Channel {
    sender: SendRequest<Bytes>,
    namespace: String,
}

impl Channel {
    pub async fn connect(address: &Path, namespace: &str) -> Result<Channel, CallError> {
        let io = tokio::net::UnixStream::connect(address)
            .await
            .map_err(CallError::Connect)?;
        let (sender, connection) = h2::client::handshake(io).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Channel {
            sender,
            namespace: namespace.to_owned(),
        })
    }

    /// A call with one reply.
    pub async fn unary<Request, Reply>(
        &mut self,
        path: &str,
        request: &Request,
    ) -> Result<Reply, CallError>
    where
        Request: prost::Message,
        Reply: prost::Message + Default,
    {
        let mut reply = None;
        self.server_streaming(path, request, |message: Reply| {
            reply = Some(message);
            Ok(())
        })
        .await?;
        reply.ok_or(CallError::Missing("a message"))
    }

    /// A call whose replies are handed to `each` as they arrive.
    pub async fn server_streaming<Request, Reply>(
        &mut self,
        path: &str,
        request: &Request,
        mut each: impl FnMut(Reply) -> Result<(), CallError>,
    ) -> Result<(), CallError>
    where
        Request: prost::Message,
        Reply: prost::Message + Default,
    {
        let head = http::Request::post(format!("http://containerd{path}"))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .header("containerd-namespace", &self.namespace)
            .body(())
            .map_err(|_| CallError::Missing("a valid request"))?;
        let mut sender = self.sender.clone().ready().await?;
        let (reply, mut body_out) = sender.send_request(head, false)?;
        body_out.send_data(frame(request), true)?;
        let (parts, mut body) = reply.await?.into_parts();
        check_status(&parts.headers, false)?;
        let mut buffer = BytesMut::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk?;
            let _ = body.flow_control().release_capacity(chunk.len());
            buffer.extend_from_slice(&chunk);
            while let Some(message) = next_message(&mut buffer)? {
                each(Reply::decode(message)?)?;
            }
        }
        if !buffer.is_empty() {
            return Err(CallError::BadFrame);
        }
        let trailers = body.trailers().await?.unwrap_or_default();
        check_status(&trailers, true)
    }
}

fn frame(message: &impl prost::Message) -> Bytes {
    let length = message.encoded_len();
    let mut out = Vec::with_capacity(5 + length);
    out.push(0);
    out.extend_from_slice(&(length as u32).to_be_bytes());
    message.encode(&mut out).expect("a Vec grows to any length");
    Bytes::from(out)
}

/// The next whole message in `buffer`, taken out of it.
fn next_message(buffer: &mut BytesMut) -> Result<Option<Bytes>, CallError> {
    if buffer.len() < 5 {
        return Ok(None);
    }
    let length = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
    if buffer[0] != 0 || length > MAX_MESSAGE {
        return Err(CallError::BadFrame);
    }
    if buffer.len() < 5 + length {
        return Ok(None);
    }
    buffer.advance(5);
    Ok(Some(buffer.split_to(length).freeze()))
}

/// The gRPC status in `headers`: absent is fine in headers (trailers
/// follow) and an error in trailers.
fn check_status(headers: &HeaderMap, required: bool) -> Result<(), CallError> {
    let Some(code) = headers.get("grpc-status") else {
        return if required {
            Err(CallError::Missing("a grpc-status"))
        } else {
            Ok(())
        };
    };
    let code: u32 = code
        .to_str()
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or(CallError::Missing("a numeric grpc-status"))?;
    if code == 0 {
        return Ok(());
    }
    let message = headers
        .get("grpc-message")
        .and_then(|m| m.to_str().ok())
        .map(percent_decode)
        .unwrap_or_default();
    Err(CallError::Status { code, message })
}

/// grpc-message is percent-encoded.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_partial_frames_wait() {
        let request = crate::messages::GetImageRequest {
            name: "docker.io/a/b:1".to_owned(),
        };
        let framed = frame(&request);
        let mut buffer = BytesMut::from(&framed[..framed.len() - 1]);
        assert!(next_message(&mut buffer).expect("valid so far").is_none());
        buffer.extend_from_slice(&framed[framed.len() - 1..]);
        let message = next_message(&mut buffer).expect("valid").expect("whole");
        let decoded =
            <crate::messages::GetImageRequest as prost::Message>::decode(message).expect("decodes");
        assert_eq!(decoded, request);
        assert!(buffer.is_empty());
    }

    #[test]
    fn compressed_or_huge_frames_are_refused() {
        let mut compressed = BytesMut::from(&[1u8, 0, 0, 0, 0][..]);
        assert!(matches!(
            next_message(&mut compressed),
            Err(CallError::BadFrame)
        ));
        let mut huge = BytesMut::from(&[0u8, 0xff, 0xff, 0xff, 0xff][..]);
        assert!(matches!(next_message(&mut huge), Err(CallError::BadFrame)));
    }

    #[test]
    fn status_in_trailers_and_percent_encoded_messages() {
        let mut trailers = HeaderMap::new();
        assert!(check_status(&trailers, false).is_ok());
        assert!(matches!(
            check_status(&trailers, true),
            Err(CallError::Missing(_))
        ));
        trailers.insert("grpc-status", "5".parse().expect("header"));
        trailers.insert(
            "grpc-message",
            "image %22x%22: not found".parse().expect("header"),
        );
        let error = check_status(&trailers, true).expect_err("NOT_FOUND");
        assert!(error.is_not_found());
        assert_eq!(
            error.to_string(),
            "containerd answered 5: image \"x\": not found"
        );
    }
}
