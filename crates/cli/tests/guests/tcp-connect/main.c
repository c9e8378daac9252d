// A command: `tcp-connect A.B.C.D:PORT` connects once; exit 0 when it
// connected, 1 otherwise (the preview-1 adapter can say no more), with
// the error's name on stdout.
#include <string.h>

#include "gen/tcp_connect.h"
#include "connect.h"

bool exports_wasi_cli_run_run(void) {
    tcp_connect_list_string_t args;
    wasi_cli_environment_get_arguments(&args);
    if (args.len < 2) return false;
    char address[64] = {0};
    size_t len = args.ptr[1].len < sizeof address - 1 ? args.ptr[1].len : sizeof address - 1;
    memcpy(address, args.ptr[1].ptr, len);
    const char *error = tcp_connect(address);
    printf("%s\n", error ? error : "connected");
    fflush(stdout);
    return error == NULL;
}
