/* handoff.so: LD_PRELOAD into valkey-server so that its TLS listener serves connections
 * cloudlet accepted, with no byte relayed by cloudlet.
 *
 * cloudlet accepts a client's TCP connection itself (the host listener, or a function's
 * egress hand-off after its VPC decision) and sends the accepted fd over an AF_UNIX
 * SOCK_SEQPACKET socket (SCM_RIGHTS, one fd per message). valkey inherits the receiving end as
 * fd <fd> and is told `CLOUDLET_HANDOFF=<fd>:<port>`. When valkey binds a TCP socket to <port>
 * the inherited socket is put in its place (dup2), so valkey's own accept handler reads it:
 * accept()/accept4() here take the next passed fd instead. Every other socket is valkey's own
 * (the cluster bus, replication, its unix socket).
 *
 * The inherited socket is recognised by its inode, not by fd number, so a number valkey
 * reuses after closing the listener is never taken for it. When cloudlet's end is closed
 * (cloudlet is gone) no client can ever arrive again: valkey is asked to shut down (SIGTERM,
 * its graceful path) rather than spin on a socket that stays readable at EOF. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FDS_SEEN 8 /* a message with more fds than this is still refused whole (MSG_CTRUNC) */

static int handoff_fd = -1;
static in_port_t handoff_port;
static dev_t handoff_dev;
static ino_t handoff_ino;

static int (*real_bind)(int, const struct sockaddr *, socklen_t);
static int (*real_listen)(int, int);
static int (*real_accept)(int, struct sockaddr *, socklen_t *);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);

/* Read once and unset, so no child (BGSAVE/AOF forks, scripts) nor INFO ever sees it. */
__attribute__((constructor)) static void handoff_init(void) {
    real_bind = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
    real_listen = (int (*)(int, int))dlsym(RTLD_NEXT, "listen");
    real_accept = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "accept");
    real_accept4 = (int (*)(int, struct sockaddr *, socklen_t *, int))dlsym(RTLD_NEXT, "accept4");
    const char *spec = getenv("CLOUDLET_HANDOFF");
    if (!spec) return;
    char *end;
    long fd = strtol(spec, &end, 10);
    long port = *end == ':' ? strtol(end + 1, &end, 10) : -1;
    unsetenv("CLOUDLET_HANDOFF");
    struct stat st;
    if (*end != '\0' || fd < 3 || port <= 0 || port > 65535 || fstat((int)fd, &st) != 0 || !S_ISSOCK(st.st_mode))
        return; /* not a usable hand-off: valkey listens as configured */
    handoff_fd = (int)fd;
    handoff_port = (in_port_t)port;
    handoff_dev = st.st_dev;
    handoff_ino = st.st_ino;
    fcntl(handoff_fd, F_SETFD, FD_CLOEXEC); /* kept for a re-bind; never inherited by an exec */
}

static int is_handoff(int fd) {
    struct stat st;
    return handoff_fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == handoff_dev && st.st_ino == handoff_ino;
}

static in_port_t port_of(const struct sockaddr *addr, socklen_t len) {
    if (!addr) return 0;
    if (addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in))
        return ntohs(((const struct sockaddr_in *)addr)->sin_port);
    if (addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6))
        return ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
    return 0;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    if (handoff_fd >= 0 && fd != handoff_fd && port_of(addr, len) == handoff_port) {
        /* keep valkey's fd number and its O_CLOEXEC, now naming cloudlet's socket */
        int cloexec = fcntl(fd, F_GETFD) & FD_CLOEXEC;
        if (dup3(handoff_fd, fd, cloexec ? O_CLOEXEC : 0) < 0) return -1;
        return 0;
    }
    return real_bind(fd, addr, len);
}

int listen(int fd, int backlog) {
    if (is_handoff(fd)) return 0; /* cloudlet's listener already queues the connections */
    return real_listen(fd, backlog);
}

/* The next fd cloudlet passed, or -1/EAGAIN when none is waiting. */
static int take_fd(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags) {
    for (;;) {
        char byte;
        struct iovec iov = {.iov_base = &byte, .iov_len = 1};
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(sizeof(int) * MAX_FDS_SEEN)];
        } control;
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                             .msg_controllen = sizeof control.buf};
        ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0) return -1; /* errno EAGAIN (nothing waiting) or valkey's to report */
        if (n == 0 && msg.msg_controllen == 0) {
            /* 0 bytes: the end of the socket, or an empty message (skipped); only poll tells */
            struct pollfd p = {.fd = fd, .events = POLLRDHUP};
            if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP))) {
                static int asked;
                if (!asked) {
                    asked = 1;
                    kill(getpid(), SIGTERM); /* cloudlet closed its end: no client can come any more */
                }
                errno = EAGAIN;
                return -1;
            }
            continue;
        }
        int got[MAX_FDS_SEEN], count = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
            size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < k && count < MAX_FDS_SEEN; i++) memcpy(&got[count++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        }
        if (count != 1 || (msg.msg_flags & MSG_CTRUNC)) {
            for (int i = 0; i < count; i++) close(got[i]); /* not one connection: drop it, read on */
            continue;
        }
        int client = got[0];
        if (flags & SOCK_NONBLOCK) fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK);
        if (!(flags & SOCK_CLOEXEC)) fcntl(client, F_SETFD, 0);
        if (addr && addrlen) {
            struct sockaddr_storage peer;
            socklen_t plen = sizeof peer;
            if (getpeername(client, (struct sockaddr *)&peer, &plen) != 0) {
                close(client); /* already gone (reset before valkey got it): next one */
                continue;
            }
            memcpy(addr, &peer, plen < *addrlen ? plen : *addrlen);
            *addrlen = plen;
        }
        return client;
    }
}

int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags) {
    if (is_handoff(fd)) return take_fd(fd, addr, addrlen, flags);
    return real_accept4(fd, addr, addrlen, flags);
}

int accept(int fd, struct sockaddr *addr, socklen_t *addrlen) {
    if (is_handoff(fd)) return take_fd(fd, addr, addrlen, 0);
    return real_accept(fd, addr, addrlen);
}
