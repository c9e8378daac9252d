// A command: `tcp-connect A.B.C.D:PORT` connects once;
// `tcp-connect --listen A.B.C.D:PORT` listens there, says "listening",
// and accepts one connection. Exit 0 when it connected (or accepted), 1
// otherwise (the preview-1 adapter can say no more), with the error's
// name on stdout.
#include <string.h>

#include "gen/tcp_connect.h"
#include "connect.h"

// Binds and listens at `address` (A.B.C.D:PORT) and accepts one
// connection; NULL once accepted, else the name of WASI's error.
static const char *tcp_listen_and_accept(const char *address) {
    wasi_sockets_tcp_borrow_tcp_socket_t borrowed;
    wasi_sockets_tcp_ip_socket_address_t local;
    const char *failed = tcp_socket_for(address, &borrowed, &local);
    if (failed) return failed;
    wasi_sockets_network_own_network_t network = wasi_sockets_instance_network_instance_network();
    wasi_sockets_tcp_error_code_t error;
    if (!wasi_sockets_tcp_method_tcp_socket_start_bind(
            borrowed, wasi_sockets_network_borrow_network(network), &local, &error))
        return socket_error_name(error);
    while (!wasi_sockets_tcp_method_tcp_socket_finish_bind(borrowed, &error)) {
        if (error != WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK) return socket_error_name(error);
        wait_for(borrowed);
    }
    if (!wasi_sockets_tcp_method_tcp_socket_start_listen(borrowed, &error))
        return socket_error_name(error);
    while (!wasi_sockets_tcp_method_tcp_socket_finish_listen(borrowed, &error)) {
        if (error != WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK) return socket_error_name(error);
        wait_for(borrowed);
    }
    printf("listening\n");
    fflush(stdout);
    wasi_sockets_tcp_tuple3_own_tcp_socket_own_input_stream_own_output_stream_t accepted;
    while (!wasi_sockets_tcp_method_tcp_socket_accept(borrowed, &accepted, &error)) {
        if (error != WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK) return socket_error_name(error);
        wait_for(borrowed);
    }
    return NULL;
}

bool exports_wasi_cli_run_run(void) {
    tcp_connect_list_string_t args;
    wasi_cli_environment_get_arguments(&args);
    if (args.len < 2) return false;
    bool listen = args.len > 2 && args.ptr[1].len == 8 && memcmp(args.ptr[1].ptr, "--listen", 8) == 0;
    tcp_connect_string_t *target = &args.ptr[listen ? 2 : 1];
    char address[64] = {0};
    size_t len = target->len < sizeof address - 1 ? target->len : sizeof address - 1;
    memcpy(address, target->ptr, len);
    const char *error = listen ? tcp_listen_and_accept(address) : tcp_connect(address);
    printf("%s\n", error ? error : (listen ? "accepted" : "connected"));
    fflush(stdout);
    return error == NULL;
}
