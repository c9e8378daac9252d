//! The Task service on ttrpc's async server. Its requests are answered on
//! one runtime thread for all containers: a Wait holds no thread until its
//! guest exits, and a Create, which mounts and compiles, runs on a
//! blocking thread that is gone soon after.

use std::sync::Arc;

use async_trait::async_trait;
use containerd_shim_protos::api::{
    self, ConnectRequest, ConnectResponse, CreateTaskRequest, CreateTaskResponse, DeleteRequest,
    DeleteResponse, Empty, KillRequest, PidsRequest, PidsResponse, StartRequest, StartResponse,
    StateRequest, StateResponse, WaitRequest, WaitResponse,
};
use containerd_shim_protos::shim_async::Task;
use containerd_shim_protos::ttrpc::r#async::TtrpcContext;
use containerd_shim_protos::ttrpc::{self, Code};

use crate::task::{Service, rpc_error};
use crate::time::timestamp;

/// The service, shared with the blocking threads that run Creates.
pub struct Rpc(pub Arc<Service>);

fn unimplemented(what: &str) -> ttrpc::Error {
    rpc_error(
        Code::UNIMPLEMENTED,
        format!("{what} is not implemented by the wharf shim"),
    )
}

#[async_trait]
impl Task for Rpc {
    async fn create(
        &self,
        _: &TtrpcContext,
        request: CreateTaskRequest,
    ) -> ttrpc::Result<CreateTaskResponse> {
        let service = self.0.clone();
        tokio::task::spawn_blocking(move || service.create(request))
            .await
            .map_err(|e| rpc_error(Code::INTERNAL, format!("create failed: {e}")))?
    }

    async fn start(&self, _: &TtrpcContext, request: StartRequest) -> ttrpc::Result<StartResponse> {
        self.0.start(request)
    }

    async fn kill(&self, _: &TtrpcContext, request: KillRequest) -> ttrpc::Result<Empty> {
        self.0.kill(request)
    }

    async fn wait(&self, _: &TtrpcContext, request: WaitRequest) -> ttrpc::Result<WaitResponse> {
        let container = self.0.get(&request.id, &request.exec_id)?;
        let exit = container.exited().await;
        Ok(WaitResponse {
            exit_status: exit.status,
            exited_at: timestamp(exit.at),
            ..Default::default()
        })
    }

    async fn delete(
        &self,
        _: &TtrpcContext,
        request: DeleteRequest,
    ) -> ttrpc::Result<DeleteResponse> {
        self.0.delete(request)
    }

    async fn state(&self, _: &TtrpcContext, request: StateRequest) -> ttrpc::Result<StateResponse> {
        self.0.state(request)
    }

    async fn pids(&self, _: &TtrpcContext, request: PidsRequest) -> ttrpc::Result<PidsResponse> {
        self.0.pids(request)
    }

    async fn stats(
        &self,
        _: &TtrpcContext,
        request: api::StatsRequest,
    ) -> ttrpc::Result<api::StatsResponse> {
        self.0.stats(request)
    }

    async fn connect(
        &self,
        _: &TtrpcContext,
        request: ConnectRequest,
    ) -> ttrpc::Result<ConnectResponse> {
        self.0.connect(request)
    }

    async fn close_io(
        &self,
        _: &TtrpcContext,
        request: api::CloseIORequest,
    ) -> ttrpc::Result<Empty> {
        self.0.close_io(request)
    }

    async fn resize_pty(
        &self,
        _: &TtrpcContext,
        request: api::ResizePtyRequest,
    ) -> ttrpc::Result<Empty> {
        self.0.resize_pty(request)
    }

    async fn shutdown(
        &self,
        _: &TtrpcContext,
        request: api::ShutdownRequest,
    ) -> ttrpc::Result<Empty> {
        self.0.shutdown(request)
    }

    async fn exec(&self, _: &TtrpcContext, _: api::ExecProcessRequest) -> ttrpc::Result<Empty> {
        Err(unimplemented("exec: a Wasm container runs one program"))
    }

    async fn pause(&self, _: &TtrpcContext, _: api::PauseRequest) -> ttrpc::Result<Empty> {
        Err(unimplemented("pause"))
    }

    async fn resume(&self, _: &TtrpcContext, _: api::ResumeRequest) -> ttrpc::Result<Empty> {
        Err(unimplemented("resume"))
    }

    async fn checkpoint(
        &self,
        _: &TtrpcContext,
        _: api::CheckpointTaskRequest,
    ) -> ttrpc::Result<Empty> {
        Err(unimplemented("checkpoint"))
    }

    async fn update(&self, _: &TtrpcContext, _: api::UpdateTaskRequest) -> ttrpc::Result<Empty> {
        Err(unimplemented(
            "update: resources are fixed when a Wasm container is created",
        ))
    }
}
