//! Timestamps as protobuf wants them.

use containerd_shim_protos::protobuf::MessageField;
use containerd_shim_protos::protobuf::well_known_types::timestamp::Timestamp;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn timestamp(at: SystemTime) -> MessageField<Timestamp> {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    MessageField::some(Timestamp {
        seconds: since.as_secs() as i64,
        nanos: since.subsec_nanos() as i32,
        ..Default::default()
    })
}
