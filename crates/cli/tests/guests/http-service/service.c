// The HTTP service the tests serve. Routes (the query is the argument):
//   GET  /                 200 "hello"
//   POST /echo             200, the request body
//   GET  /env?NAME         200, the value of NAME (404 when unset)
//   GET  /read?PATH        200, the file's contents (404 when it cannot)
//   GET  /write?PATH       201 when PATH could be written, 403 when not
//   GET  /print?TEXT       200; TEXT on stdout and on stderr
//   GET  /trap             traps
//   GET  /spin             loops forever
//   GET  /sleep?MS         200 after MS milliseconds
//   GET  /fetch?AUTHORITY  GET http://AUTHORITY/ : 200 and its body, or 502
//                          and the error's name (HTTP-request-denied, ...)
//   GET  /connect?A.B.C.D:PORT  a TCP connect: 200 "connected", or 403 and
//                          the error's name (access-denied, ...)
//   GET  /alloc?MIB        200 when MIB MiB could be allocated, 507 if not
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/service.h"
#include "../tcp-connect/connect.h"

typedef wasi_http_types_own_response_outparam_t outparam_t;

static void respond(outparam_t out, int status, const char *body, size_t len) {
    wasi_http_types_own_fields_t headers = wasi_http_types_constructor_fields();
    wasi_http_types_own_outgoing_response_t response =
        wasi_http_types_constructor_outgoing_response(headers);
    wasi_http_types_borrow_outgoing_response_t borrowed =
        wasi_http_types_borrow_outgoing_response(response);
    wasi_http_types_method_outgoing_response_set_status_code(borrowed, status);
    wasi_http_types_own_outgoing_body_t outgoing;
    wasi_http_types_method_outgoing_response_body(borrowed, &outgoing);
    wasi_http_types_result_own_outgoing_response_error_code_t result = {.is_err = false};
    result.val.ok = response;
    wasi_http_types_static_response_outparam_set(out, &result);
    wasi_http_types_own_output_stream_t stream;
    if (wasi_http_types_method_outgoing_body_write(
            wasi_http_types_borrow_outgoing_body(outgoing), &stream)) {
        // blocking-write-and-flush takes at most 4096 bytes at a time.
        for (size_t done = 0; done < len;) {
            size_t chunk = len - done < 4096 ? len - done : 4096;
            service_list_u8_t contents = {(uint8_t *)body + done, chunk};
            wasi_io_streams_stream_error_t error;
            if (!wasi_io_streams_method_output_stream_blocking_write_and_flush(
                    wasi_io_streams_borrow_output_stream(stream), &contents, &error))
                break;
            done += chunk;
        }
        wasi_io_streams_output_stream_drop_own(stream);
    }
    wasi_http_types_error_code_t error;
    wasi_http_types_static_outgoing_body_finish(outgoing, NULL, &error);
}

static void respond_text(outparam_t out, int status, const char *text) {
    respond(out, status, text, strlen(text));
}

// Reads a whole incoming body; returns a malloc'd buffer and its length.
static char *read_body(wasi_http_types_own_incoming_body_t body, size_t *len) {
    size_t size = 0, cap = 65536;
    char *buffer = malloc(cap);
    wasi_http_types_own_input_stream_t stream;
    if (wasi_http_types_method_incoming_body_stream(wasi_http_types_borrow_incoming_body(body),
                                                    &stream)) {
        for (;;) {
            service_list_u8_t chunk;
            wasi_io_streams_stream_error_t error;
            if (!wasi_io_streams_method_input_stream_blocking_read(
                    wasi_io_streams_borrow_input_stream(stream), 65536, &chunk, &error))
                break;
            if (size + chunk.len > cap) {
                while (size + chunk.len > cap) cap *= 2;
                buffer = realloc(buffer, cap);
            }
            memcpy(buffer + size, chunk.ptr, chunk.len);
            size += chunk.len;
            service_list_u8_free(&chunk);
        }
        wasi_io_streams_input_stream_drop_own(stream);
    }
    *len = size;
    return buffer;
}

static const char *http_error_name(uint8_t tag) {
    switch (tag) {
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_REQUEST_DENIED: return "HTTP-request-denied";
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_REFUSED: return "connection-refused";
    case WASI_HTTP_TYPES_ERROR_CODE_DNS_ERROR: return "DNS-error";
    default: return "other-error";
    }
}

static void fetch(outparam_t out, const char *authority) {
    wasi_http_types_own_outgoing_request_t request =
        wasi_http_types_constructor_outgoing_request(wasi_http_types_constructor_fields());
    wasi_http_types_borrow_outgoing_request_t borrowed =
        wasi_http_types_borrow_outgoing_request(request);
    wasi_http_types_scheme_t scheme = {.tag = WASI_HTTP_TYPES_SCHEME_HTTP};
    wasi_http_types_method_outgoing_request_set_scheme(borrowed, &scheme);
    service_string_t text = {(uint8_t *)authority, strlen(authority)};
    wasi_http_types_method_outgoing_request_set_authority(borrowed, &text);
    service_string_t path = {(uint8_t *)"/", 1};
    wasi_http_types_method_outgoing_request_set_path_with_query(borrowed, &path);
    wasi_http_outgoing_handler_own_future_incoming_response_t future;
    wasi_http_outgoing_handler_error_code_t error;
    if (!wasi_http_outgoing_handler_handle(request, NULL, &future, &error)) {
        respond_text(out, 502, http_error_name(error.tag));
        return;
    }
    wasi_http_types_borrow_future_incoming_response_t pending =
        wasi_http_types_borrow_future_incoming_response(future);
    wasi_io_poll_own_pollable_t ready = wasi_http_types_method_future_incoming_response_subscribe(pending);
    wasi_io_poll_method_pollable_block(wasi_io_poll_borrow_pollable(ready));
    wasi_http_types_result_result_own_incoming_response_error_code_void_t got;
    if (!wasi_http_types_method_future_incoming_response_get(pending, &got) || got.is_err) {
        respond_text(out, 502, "no-response");
        return;
    }
    if (got.val.ok.is_err) {
        respond_text(out, 502, http_error_name(got.val.ok.val.err.tag));
        return;
    }
    wasi_http_types_own_incoming_body_t body;
    wasi_http_types_method_incoming_response_consume(
        wasi_http_types_borrow_incoming_response(got.val.ok.val.ok), &body);
    size_t len;
    char *contents = read_body(body, &len);
    respond(out, 200, contents, len);
}

static void connect_to(outparam_t out, const char *address) {
    const char *error = tcp_connect(address);
    respond_text(out, error ? 403 : 200, error ? error : "connected");
}

static void sleep_ms(unsigned long long ms) {
    wasi_io_poll_own_pollable_t timer = wasi_clocks_monotonic_clock_subscribe_duration(ms * 1000000ull);
    wasi_io_poll_method_pollable_block(wasi_io_poll_borrow_pollable(timer));
    wasi_io_poll_pollable_drop_own(timer);
}

static void route(const char *path, const char *arg, wasi_http_types_own_incoming_request_t request,
                  outparam_t out) {
    if (strcmp(path, "/") == 0) {
        respond_text(out, 200, "hello");
    } else if (strcmp(path, "/echo") == 0) {
        wasi_http_types_own_incoming_body_t body;
        if (!wasi_http_types_method_incoming_request_consume(
                wasi_http_types_borrow_incoming_request(request), &body)) {
            respond_text(out, 400, "no body");
            return;
        }
        size_t len;
        char *contents = read_body(body, &len);
        respond(out, 200, contents, len);
    } else if (strcmp(path, "/env") == 0) {
        const char *value = getenv(arg);
        respond_text(out, value ? 200 : 404, value ? value : "unset");
    } else if (strcmp(path, "/read") == 0) {
        FILE *file = fopen(arg, "r");
        if (!file) {
            respond_text(out, 404, strerror(errno));
            return;
        }
        static char buffer[65536];
        size_t len = fread(buffer, 1, sizeof buffer, file);
        fclose(file);
        respond(out, 200, buffer, len);
    } else if (strcmp(path, "/write") == 0) {
        FILE *file = fopen(arg, "w");
        if (!file) {
            respond_text(out, 403, strerror(errno));
            return;
        }
        fputs("written by the guest\n", file);
        fclose(file);
        respond_text(out, 201, "written");
    } else if (strcmp(path, "/print") == 0) {
        printf("stdout: %s\n", arg);
        fflush(stdout);
        fprintf(stderr, "stderr: %s\n", arg);
        respond_text(out, 200, "printed");
    } else if (strcmp(path, "/trap") == 0) {
        __builtin_trap();
    } else if (strcmp(path, "/spin") == 0) {
        for (volatile int i = 0;; i++) {
        }
    } else if (strcmp(path, "/sleep") == 0) {
        sleep_ms(strtoull(arg, NULL, 10));
        respond_text(out, 200, "slept");
    } else if (strcmp(path, "/fetch") == 0) {
        fetch(out, arg);
    } else if (strcmp(path, "/connect") == 0) {
        connect_to(out, arg);
    } else if (strcmp(path, "/count") == 0) {
        // State an instance keeps: how many requests it has answered.
        static unsigned answered;
        char text[16];
        snprintf(text, sizeof text, "%u", ++answered);
        respond_text(out, 200, text);
    } else if (strcmp(path, "/big") == 0) {
        // A body of ARG MiB, written as fast as the client takes it.
        size_t bytes = (size_t)strtoul(arg, NULL, 10) << 20;
        char *block = malloc(bytes);
        if (!block) {
            respond_text(out, 507, "out of memory");
            return;
        }
        memset(block, 'x', bytes);
        respond(out, 200, block, bytes);
        free(block);
    } else if (strcmp(path, "/alloc") == 0) {
        size_t bytes = (size_t)strtoul(arg, NULL, 10) << 20;
        // Volatile: the optimizer may not drop an allocation never read.
        char *volatile block = malloc(bytes);
        if (block) memset(block, 1, bytes);
        respond_text(out, block ? 200 : 507, block ? "allocated" : "out of memory");
    } else {
        respond_text(out, 404, "no such route");
    }
}

void exports_wasi_http_incoming_handler_handle(
    exports_wasi_http_incoming_handler_own_incoming_request_t request, outparam_t out) {
    service_string_t target;
    static char path[4096];
    path[0] = 0;
    if (wasi_http_types_method_incoming_request_path_with_query(
            wasi_http_types_borrow_incoming_request(request), &target) &&
        target.len < sizeof path) {
        memcpy(path, target.ptr, target.len);
        path[target.len] = 0;
    }
    char *arg = strchr(path, '?');
    if (arg) *arg++ = 0;
    route(path, arg ? arg : "", request, out);
}
