// A wasi:http handler: answers every request with 200 and a greeting.
// Built into hello.wasm by build.sh (see how there).
#include <string.h>

#include "gen/hello.h"

static const char GREETING[] = "Hello from a WebAssembly service, run by wharf!\n";

void exports_wasi_http_incoming_handler_handle(
    exports_wasi_http_incoming_handler_own_incoming_request_t request,
    exports_wasi_http_incoming_handler_own_response_outparam_t response_out) {
    wasi_http_types_incoming_request_drop_own(request);

    wasi_http_types_own_fields_t headers = wasi_http_types_constructor_fields();
    wasi_http_types_field_name_t name;
    wasi_http_types_field_value_t value;
    name.ptr = (uint8_t *)"content-type";
    name.len = strlen((const char *)name.ptr);
    value.ptr = (uint8_t *)"text/plain; charset=utf-8";
    value.len = strlen((const char *)value.ptr);
    wasi_http_types_header_error_t header_error;
    wasi_http_types_method_fields_append(wasi_http_types_borrow_fields(headers), &name, &value,
                                         &header_error);

    wasi_http_types_own_outgoing_response_t response =
        wasi_http_types_constructor_outgoing_response(headers);
    wasi_http_types_borrow_outgoing_response_t borrowed =
        wasi_http_types_borrow_outgoing_response(response);
    wasi_http_types_own_outgoing_body_t body;
    wasi_http_types_method_outgoing_response_body(borrowed, &body);

    wasi_http_types_result_own_outgoing_response_error_code_t result = {.is_err = false};
    result.val.ok = response;
    wasi_http_types_static_response_outparam_set(response_out, &result);

    wasi_http_types_own_output_stream_t stream;
    if (wasi_http_types_method_outgoing_body_write(wasi_http_types_borrow_outgoing_body(body),
                                                   &stream)) {
        hello_list_u8_t contents = {(uint8_t *)GREETING, sizeof GREETING - 1};
        wasi_io_streams_stream_error_t stream_error;
        wasi_io_streams_method_output_stream_blocking_write_and_flush(
            wasi_io_streams_borrow_output_stream(stream), &contents, &stream_error);
        wasi_io_streams_output_stream_drop_own(stream);
    }
    wasi_http_types_error_code_t body_error;
    wasi_http_types_static_outgoing_body_finish(body, NULL, &body_error);
}
