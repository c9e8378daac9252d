//! Publishing task events to containerd, on its ttrpc socket, from a
//! thread of their own so that no request waits on containerd.

use std::sync::Mutex;
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::time::{Duration, SystemTime};

use containerd_shim_protos::events::task::{TaskCreate, TaskDelete, TaskExit, TaskStart};
use containerd_shim_protos::protobuf::well_known_types::any::Any;
use containerd_shim_protos::protobuf::{Message, MessageField};
use containerd_shim_protos::shim::events::{Envelope, ForwardRequest};
use containerd_shim_protos::{EventsClient, topics, ttrpc};

use crate::time::timestamp;

/// One event for containerd.
pub enum Event {
    Create(TaskCreate),
    Start(TaskStart),
    Exit(TaskExit),
    Delete(TaskDelete),
}

impl Event {
    fn envelope(self, namespace: &str) -> Option<Envelope> {
        let (topic, name, bytes) = match self {
            Event::Create(e) => (
                topics::TASK_CREATE_EVENT_TOPIC,
                "TaskCreate",
                e.write_to_bytes(),
            ),
            Event::Start(e) => (
                topics::TASK_START_EVENT_TOPIC,
                "TaskStart",
                e.write_to_bytes(),
            ),
            Event::Exit(e) => (
                topics::TASK_EXIT_EVENT_TOPIC,
                "TaskExit",
                e.write_to_bytes(),
            ),
            Event::Delete(e) => (
                topics::TASK_DELETE_EVENT_TOPIC,
                "TaskDelete",
                e.write_to_bytes(),
            ),
        };
        let event = Any {
            type_url: format!("containerd.events.{name}"),
            value: bytes.ok()?,
            ..Default::default()
        };
        Some(Envelope {
            timestamp: timestamp(SystemTime::now()),
            namespace: namespace.to_owned(),
            topic: topic.to_owned(),
            event: MessageField::some(event),
            ..Default::default()
        })
    }
}

/// How long the connection to containerd stays open after the last event.
const IDLE_CONNECTION: Duration = Duration::from_secs(1);

/// Sends events to containerd in order.
pub struct Publisher {
    queue: Mutex<Sender<Event>>,
}

impl Publisher {
    /// A publisher to the containerd at `address` (its gRPC socket).
    pub fn new(address: &str, namespace: &str) -> Publisher {
        let (sender, receiver) = channel::<Event>();
        let socket = format!("unix://{address}.ttrpc");
        let namespace = namespace.to_owned();
        std::thread::spawn(move || {
            let mut client: Option<EventsClient> = None;
            loop {
                // ttrpc's client polls its socket every 10 ms while it is
                // open: an idle daemon closes it, so it does not wake.
                let next = match &client {
                    Some(_) => receiver.recv_timeout(IDLE_CONNECTION),
                    None => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
                };
                let event = match next {
                    Ok(event) => event,
                    Err(RecvTimeoutError::Timeout) => {
                        client = None;
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                };
                let Some(envelope) = event.envelope(&namespace) else {
                    continue;
                };
                let request = ForwardRequest {
                    envelope: MessageField::some(envelope),
                    ..Default::default()
                };
                // One reconnect: containerd may have restarted.
                for _ in 0..2 {
                    if client.is_none() {
                        client = ttrpc::Client::connect(&socket).ok().map(EventsClient::new);
                    }
                    let Some(events) = &client else { break };
                    let context = ttrpc::context::with_duration(Duration::from_secs(5));
                    if events.forward(context, &request).is_ok() {
                        break;
                    }
                    client = None;
                }
            }
        });
        Publisher {
            queue: Mutex::new(sender),
        }
    }

    pub fn publish(&self, event: Event) {
        if let Ok(queue) = self.queue.lock() {
            let _ = queue.send(event);
        }
    }
}
