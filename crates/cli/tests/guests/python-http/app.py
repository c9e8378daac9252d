"""The Python test service: a wasi:http 0.2 incoming handler built with
componentize-py (scripts/lib/python-http-guest). It reads the whole request
body before it answers, so a client that trickles the body keeps it waiting;
it answers 200 "hello from python\n", and on /echo also the body's length."""

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports.streams import StreamError_Closed
from wit_world.imports.types import (
    Fields,
    IncomingRequest,
    OutgoingBody,
    OutgoingResponse,
    ResponseOutparam,
)


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        length = 0
        # A stream is dropped before its body, as wasi:http requires.
        with request.consume() as body, body.stream() as stream:
            while True:
                try:
                    length += len(stream.blocking_read(65536))
                except Err as e:
                    if isinstance(e.value, StreamError_Closed):
                        break
                    raise
        text = "hello from python\n"
        if (request.path_with_query() or "/").split("?")[0] == "/echo":
            text += f"{length}\n"

        response = OutgoingResponse(Fields.from_list([("content-type", b"text/plain")]))
        response.set_status_code(200)
        out_body = response.body()
        ResponseOutparam.set(response_out, Ok(response))
        with out_body.write() as out:
            out.blocking_write_and_flush(text.encode())
        OutgoingBody.finish(out_body, None)
