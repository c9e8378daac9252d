// A command: `tcp-connect A.B.C.D:PORT` connects once; `tcp-connect
// NAME:PORT` looks NAME up through wasi:sockets/ip-name-lookup first and
// connects to its first IPv4 address; `tcp-connect --listen A.B.C.D:PORT`
// listens there, says "listening", and accepts one connection. Exit 0 when
// it connected (or accepted), 1 otherwise (the preview-1 adapter can say
// no more), with the error's name on stdout. A refused listen exits only
// at the end of stdin (at once without `wharf run -i`), so that a test can
// look at the host's port while the guest still lives.
#include <stdlib.h>
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

static const char *resolver_error_name(uint8_t code) {
    switch (code) {
    case WASI_SOCKETS_NETWORK_ERROR_CODE_NAME_UNRESOLVABLE: return "name-unresolvable";
    case WASI_SOCKETS_NETWORK_ERROR_CODE_TEMPORARY_RESOLVER_FAILURE: return "temporary-resolver-failure";
    case WASI_SOCKETS_NETWORK_ERROR_CODE_PERMANENT_RESOLVER_FAILURE: return "permanent-resolver-failure";
    default: return socket_error_name(code);
    }
}

// Rewrites `address` from NAME:PORT to A.B.C.D:PORT, NAME's first IPv4
// address; NULL when done (or when it is an address already), else the
// name of WASI's error.
static const char *resolve(char *address, size_t size) {
    unsigned a, b, c, d, port;
    if (sscanf(address, "%u.%u.%u.%u:%u", &a, &b, &c, &d, &port) == 5) return NULL;
    char *colon = strrchr(address, ':');
    if (!colon) return "bad-address";
    *colon = 0;
    port = (unsigned)atoi(colon + 1);
    tcp_connect_string_t name = {(uint8_t *)address, strlen(address)};
    wasi_sockets_network_own_network_t network = wasi_sockets_instance_network_instance_network();
    wasi_sockets_ip_name_lookup_own_resolve_address_stream_t stream;
    wasi_sockets_ip_name_lookup_error_code_t error;
    if (!wasi_sockets_ip_name_lookup_resolve_addresses(
            wasi_sockets_network_borrow_network(network), &name, &stream, &error))
        return resolver_error_name(error);
    wasi_sockets_ip_name_lookup_borrow_resolve_address_stream_t borrowed =
        wasi_sockets_ip_name_lookup_borrow_resolve_address_stream(stream);
    for (;;) {
        wasi_sockets_ip_name_lookup_option_ip_address_t next;
        if (!wasi_sockets_ip_name_lookup_method_resolve_address_stream_resolve_next_address(
                borrowed, &next, &error)) {
            if (error != WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK) return resolver_error_name(error);
            wasi_io_poll_own_pollable_t ready =
                wasi_sockets_ip_name_lookup_method_resolve_address_stream_subscribe(borrowed);
            wasi_io_poll_method_pollable_block(wasi_io_poll_borrow_pollable(ready));
            wasi_io_poll_pollable_drop_own(ready);
            continue;
        }
        if (!next.is_some) return "name-unresolvable";
        if (next.val.tag != WASI_SOCKETS_NETWORK_IP_ADDRESS_IPV4) continue;
        wasi_sockets_network_ipv4_address_t ip = next.val.val.ipv4;
        snprintf(address, size, "%u.%u.%u.%u:%u", ip.f0, ip.f1, ip.f2, ip.f3, port);
        return NULL;
    }
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
    const char *error = listen ? tcp_listen_and_accept(address) : resolve(address, sizeof address);
    if (!listen && !error) error = tcp_connect(address);
    printf("%s\n", error ? error : (listen ? "accepted" : "connected"));
    fflush(stdout);
    if (listen && error)
        while (getchar() != EOF) {}
    return error == NULL;
}
