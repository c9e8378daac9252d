// One TCP connect through wasi:sockets, shared by the test guests that
// make one. Include it after the world's generated header.
#include <stdio.h>

static const char *socket_error_name(uint8_t code) {
    switch (code) {
    case WASI_SOCKETS_NETWORK_ERROR_CODE_ACCESS_DENIED: return "access-denied";
    case WASI_SOCKETS_NETWORK_ERROR_CODE_NOT_SUPPORTED: return "not-supported";
    case WASI_SOCKETS_NETWORK_ERROR_CODE_CONNECTION_REFUSED: return "connection-refused";
    default: return "other-error";
    }
}

// Waits until `socket` is ready (after a would-block).
static void wait_for(wasi_sockets_tcp_borrow_tcp_socket_t socket) {
    wasi_io_poll_own_pollable_t ready = wasi_sockets_tcp_method_tcp_socket_subscribe(socket);
    wasi_io_poll_method_pollable_block(wasi_io_poll_borrow_pollable(ready));
    wasi_io_poll_pollable_drop_own(ready);
}

// A new IPv4 TCP socket, and `address` (A.B.C.D:PORT) for it; NULL when
// made, else the name of WASI's error.
static const char *tcp_socket_for(const char *address, wasi_sockets_tcp_borrow_tcp_socket_t *borrowed,
                                  wasi_sockets_tcp_ip_socket_address_t *at) {
    unsigned a, b, c, d, port;
    if (sscanf(address, "%u.%u.%u.%u:%u", &a, &b, &c, &d, &port) != 5) return "bad-address";
    wasi_sockets_tcp_create_socket_own_tcp_socket_t socket;
    wasi_sockets_tcp_create_socket_error_code_t error;
    if (!wasi_sockets_tcp_create_socket_create_tcp_socket(
            WASI_SOCKETS_NETWORK_IP_ADDRESS_FAMILY_IPV4, &socket, &error))
        return socket_error_name(error);
    *borrowed = wasi_sockets_tcp_borrow_tcp_socket(socket);
    *at = (wasi_sockets_tcp_ip_socket_address_t){.tag = WASI_SOCKETS_NETWORK_IP_ADDRESS_FAMILY_IPV4};
    at->val.ipv4.port = port;
    at->val.ipv4.address = (wasi_sockets_network_ipv4_address_t){a, b, c, d};
    return NULL;
}

// Connects to `address` (A.B.C.D:PORT); NULL once connected, else the
// name of WASI's error.
static const char *tcp_connect(const char *address) {
    wasi_sockets_tcp_borrow_tcp_socket_t borrowed;
    wasi_sockets_tcp_ip_socket_address_t remote;
    const char *failed = tcp_socket_for(address, &borrowed, &remote);
    if (failed) return failed;
    wasi_sockets_network_own_network_t network = wasi_sockets_instance_network_instance_network();
    wasi_sockets_tcp_error_code_t error;
    if (!wasi_sockets_tcp_method_tcp_socket_start_connect(
            borrowed, wasi_sockets_network_borrow_network(network), &remote, &error))
        return socket_error_name(error);
    for (;;) {
        wasi_sockets_tcp_tuple2_own_input_stream_own_output_stream_t streams;
        if (wasi_sockets_tcp_method_tcp_socket_finish_connect(borrowed, &streams, &error)) return NULL;
        if (error != WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK) return socket_error_name(error);
        wait_for(borrowed);
    }
}
