//! etcd's KV.Put over its gRPC API (cleartext HTTP/2), spoken directly: the same request an etcd
//! client library sends, without pulling a gRPC stack into the harness.

use crate::client::Conn;
use crate::BenchError;
use bytes::{BufMut, Bytes, BytesMut};
use http::Method;
use http_body_util::BodyExt;

/// etcdserverpb.PutRequest (fields this harness sets).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PutRequest {
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

const PUT_PATH: &str = "/etcdserverpb.KV/Put";

/// Frames one gRPC message: a zero compression flag, a big-endian length, the message.
pub fn grpc_frame(msg: &impl prost::Message) -> Bytes {
    let len = msg.encoded_len();
    let mut buf = BytesMut::with_capacity(5 + len);
    buf.put_u8(0);
    buf.put_u32(len as u32);
    // Encoding into a buffer with enough room cannot fail.
    let _ = msg.encode(&mut buf);
    buf.freeze()
}

/// One durable put; returns once etcd acknowledged it (grpc-status 0).
pub async fn put(conn: &mut Conn, key: &[u8], value: &[u8]) -> Result<(), BenchError> {
    let body = grpc_frame(&PutRequest { key: key.to_vec(), value: value.to_vec() });
    let headers = [("content-type", "application/grpc"), ("te", "trailers")];
    let resp = conn.send(Method::POST, PUT_PATH, &headers, body).await?;
    let status = resp.status();
    let head_status = resp.headers().get("grpc-status").cloned();
    let collected = resp.into_body().collect().await?;
    let trailer_status = collected.trailers().and_then(|t| t.get("grpc-status").cloned());
    let grpc = head_status.or(trailer_status);
    match grpc.as_ref().map(|v| v.as_bytes()) {
        Some(b"0") if status.is_success() => Ok(()),
        other => Err(BenchError::Status {
            what: "etcd put".into(),
            status: status.as_u16(),
            body: format!("grpc-status {:?}", other.map(String::from_utf8_lossy)),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_a_put() {
        let f = grpc_frame(&PutRequest { key: b"k".to_vec(), value: b"vv".to_vec() });
        // field 1 (len 1) and field 2 (len 2): 0a 01 6b 12 02 76 76
        assert_eq!(&f[..], &[0, 0, 0, 0, 7, 0x0a, 1, b'k', 0x12, 2, b'v', b'v']);
    }
}
