/* LD_PRELOAD shim: lets a valkey-server in a private network namespace listen on a socket
 * of the host's namespace. cloudlet binds and listens on the cache's address in the host
 * namespace, passes that socket down as fd CLOUDLET_LISTEN_FD, and starts valkey inside its
 * own namespace (where its cluster bus is unreachable) with tls-port CLOUDLET_LISTEN_PORT.
 * When valkey binds that port, the inherited socket is put in place of the one valkey made
 * (dup2), so clients reach valkey's own TLS listener with no relay: the kernel hands their
 * connections straight to valkey. Every other bind (the cluster bus) is valkey's own. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    static int (*real_bind)(int, const struct sockaddr *, socklen_t);
    if (!real_bind) real_bind = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
    const char *fd_s = getenv("CLOUDLET_LISTEN_FD"), *port_s = getenv("CLOUDLET_LISTEN_PORT");
    if (fd_s && port_s && addr && addr->sa_family == AF_INET) {
        int inherited = atoi(fd_s);
        in_port_t port = ntohs(((const struct sockaddr_in *)addr)->sin_port);
        if (port == (in_port_t)atoi(port_s) && inherited > 2 && inherited != fd)
            return dup2(inherited, fd) < 0 ? -1 : 0;
    }
    return real_bind(fd, addr, len);
}
