/* cloudlet_module.so: what valkey itself does for a serverless cache endpoint when no proxy
 * stands between clients and valkey (the native data plane).
 *
 * Loaded as `loadmodule cloudlet_module.so <key> <value> ...`:
 *   verifier <unix socket>            every AUTH / HELLO AUTH is decided by cloudlet
 *   container <name> <subs>           of valkey's container command <name> (not renamed), only
 *                                     the comma-separated subcommands <subs> are offered
 *   maxargs <n>                       requests with more arguments never run
 *
 * Auth: the client is blocked (BlockClientOnAuth) while a thread asks the verifier
 *   "<client id> <peer ip> <peer port> <user length> <password length>\n<user><password>"
 * and the answer line decides: "OK <acl user>", "ADMIN" (cloudlet's own module user, which no
 * ACL command shows), "ERR <reply>" (refused with that reply as sent), "NEXT" (valkey's own ACL
 * passwords). No answer within 10 s, or no verifier: "-ERR service is not available".
 * valkey refuses to block a client while a script or function runs (the BUSY state, where AUTH
 * and HELLO are still served) or inside EXEC; then the verifier is asked on the main thread,
 * bounded by SYNC_VERIFY_TIMEOUT_MS, and its answer applied the same way (see auth_callback).
 *
 * Commands: a command filter (which valkey also runs for Lua's server.call) sees every request
 * before valkey looks its name up, and
 *   - leaves an offered subcommand of a container alone (any subcommand, for the admin) and
 *     makes any other one a name valkey's subcommand lookup cannot find, so valkey itself answers
 *     "unknown subcommand 'kill'. Try CLIENT HELP." at once (aborting a transaction) and never
 *     runs it (see unknown_at());
 *   - refuses PSYNC/SYNC/REPLCONF (needed by name for replication) and the module's own commands
 *     to every client but cloudlet's admin and valkey's primary link, and AUTH / HELLO AUTH inside
 *     MULTI (AWS: no re-authentication in a transaction), as an unknown command (unknown_at());
 *   - refuses FLUSHALL/FLUSHDB inside MULTI (AWS: flushes cannot be in a serverless transaction)
 *     as unknown commands, and answers requests over maxargs arguments (refuse_command);
 *   - charges each command to the cache's ECPU bucket (CLOUDLET.ECPU), pausing all clients
 *     from a timer when it is overdrawn (the debt is capped at one second of the maximum).
 *
 * The module API is reached through the server's GetApi table (the first word of the module
 * context), as every module does; the few functions used are declared here. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MOD_OK 0
#define MOD_ERR 1
#define AUTH_HANDLED 0
#define AUTH_NOT_HANDLED 1
#define APIVER_1 1
#define CMDFILTER_NOSELF 1
#define REPLY_ARRAY 3
#define REPLY_NULL 4
#define ANSWER_MAX 1024
#define VERIFY_TIMEOUT_MS 10000
#define SYNC_VERIFY_TIMEOUT_MS 5000 /* the main thread waits: shorter than the thread's wait */
#define CTX_FLAGS_LUA (1 << 0)      /* a script or function is running (valkey's scriptIsRunning) */
#define CTX_FLAGS_MULTI (1 << 1)    /* inside EXEC */
#define VERIFY_STACK (128 * 1024)
#define MAX_CONTAINERS 16
#define MAX_SUBS 32
#define NAME_MAX_LEN 64
#define KB 1024
#define SERVICE_UNAVAILABLE "-ERR service is not available"

typedef struct Ctx Ctx;
typedef struct Str Str;
typedef struct Blocked Blocked;
typedef struct User User;
typedef struct FilterCtx FilterCtx;
typedef struct Filter Filter;
typedef struct Dict Dict;
typedef struct CallReply CallReply;
typedef int (*AuthCallback)(Ctx *, Str *, Str *, Str **);
typedef void (*FreePrivdata)(Ctx *, void *);
typedef int (*CmdFunc)(Ctx *, Str **, int);
typedef void (*FilterFunc)(FilterCtx *);
typedef void (*TimerProc)(Ctx *, void *);
typedef void (*UserChanged)(uint64_t, void *);

typedef struct ClientInfo { /* valkey's ValkeyModuleClientInfoV1 layout */
    uint64_t version;
    uint64_t flags;
    uint64_t id;
    char addr[46];
    uint16_t port;
    uint16_t db;
} ClientInfo;
#define CLIENTINFO_FLAG_MULTI (1 << 5)

static int (*GetApi)(const char *, void *);
static void (*SetModuleAttribs)(Ctx *, const char *, int, int);
static void (*RegisterAuthCallback)(Ctx *, AuthCallback);
static Blocked *(*BlockClientOnAuth)(Ctx *, AuthCallback, FreePrivdata);
static int (*UnblockClient)(Blocked *, void *);
static void *(*GetBlockedClientPrivateData)(Ctx *);
static int (*AuthenticateClientWithACLUser)(Ctx *, const char *, size_t, UserChanged, void *, uint64_t *);
static int (*AuthenticateClientWithUser)(Ctx *, User *, UserChanged, void *, uint64_t *);
static unsigned long long (*GetClientId)(Ctx *);
static int (*GetContextFlags)(Ctx *);
static int (*GetClientInfoById)(void *, uint64_t);
static Str *(*GetClientUserNameById)(Ctx *, uint64_t);
static const char *(*StringPtrLen)(const Str *, size_t *);
static Str *(*CreateString)(Ctx *, const char *, size_t);
static void (*FreeString)(Ctx *, Str *);
static int (*StringToLongLong)(const Str *, long long *);
static User *(*CreateModuleUser)(const char *);
static int (*SetModuleUserACL)(User *, const char *);
static int (*CreateCommand)(Ctx *, const char *, CmdFunc, const char *, int, int, int);
static Filter *(*RegisterCommandFilter)(Ctx *, FilterFunc, int);
static int (*CommandFilterArgsCount)(FilterCtx *);
static Str *(*CommandFilterArgGet)(FilterCtx *, int);
static int (*CommandFilterArgReplace)(FilterCtx *, int, Str *);
static unsigned long long (*CommandFilterGetClientId)(FilterCtx *);
static int (*ReplyWithError)(Ctx *, const char *);
static int (*ReplyWithSimpleString)(Ctx *, const char *);
static int (*WrongArity)(Ctx *);
static Ctx *(*GetDetachedThreadSafeContext)(Ctx *);
static uint64_t (*CreateTimer)(Ctx *, long long, TimerProc, void *);
static long long (*Milliseconds)(void);
static CallReply *(*Call)(Ctx *, const char *, const char *, ...);
static int (*CallReplyType)(CallReply *);
static void (*Log)(Ctx *, const char *, const char *, ...);
static CallReply *(*CallReplyArrayElement)(CallReply *, size_t);
static size_t (*CallReplyLength)(CallReply *);
static const char *(*CallReplyStringPtr)(CallReply *, size_t *);
static void (*FreeCallReply)(CallReply *);
static Dict *(*CreateDict)(Ctx *);
static int (*DictSetC)(Dict *, void *, size_t, void *);
static int (*DictDelC)(Dict *, void *, size_t, void *);
static void *(*DictGetC)(Dict *, void *, size_t, int *);

/* ---- configuration -------------------------------------------------------------------- */

typedef struct Container {
    char name[NAME_MAX_LEN];   /* "client" */
    size_t name_len;
    char subs[MAX_SUBS][NAME_MAX_LEN];
    size_t sub_len[MAX_SUBS];
    int nsubs;
} Container;

static char verifier_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static Container containers[MAX_CONTAINERS];
static int ncontainers;
static long long maxargs; /* 0: no limit */
static Ctx *detached;     /* strings and timers made outside a command's context */
static User *admin;
static Dict *admins;      /* client ids logged in as admin (removed when their login ends) */
typedef struct Poison {    /* see unknown_at() */
    char name[2 * NAME_MAX_LEN + 2]; /* "get", "client|kill" */
    char suffix[17];
} Poison;
static Poison *poisons;
static size_t npoisons;
static char any_poison[17]; /* for names no command has: nothing to collide with */

/* ---- small helpers ------------------------------------------------------------------ */

/* valkey compares command and option names as C strings ignoring case, so a name is read up
 * to its first NUL; equal when that part is NAME, ignoring ASCII case. */
static int name_is(const char *p, size_t len, const char *name) {
    size_t n = strnlen(p, len), k = strlen(name);
    return n == k && strncasecmp(p, name, k) == 0;
}

/* The filter runs for every command, and nearly all are ones it leaves alone (GET, SET, ...):
 * bit n of watched[b] says some name it acts on starts with byte b and is n long, so any other
 * command is let through after one table look-up instead of a round of name comparisons. */
static const char *const special_names[] = {"psync", "sync", "replconf", "cloudlet.ecpu", "cloudlet.stats",
                                            "cloudlet.refuse", "auth", "hello", "flushall", "flushdb"};
static uint64_t watched[256];

static void watch(const char *name, size_t n) {
    unsigned char c = (unsigned char)name[0];
    watched[tolower(c)] |= 1ULL << n;
    watched[toupper(c)] |= 1ULL << n;
}

/* May the command named (up to its first NUL, as valkey reads it) by P be one the filter acts on? */
static int maybe_watched(const char *p, size_t len) {
    uint64_t lengths = watched[(unsigned char)p[0]];
    if (!lengths) return 0;
    size_t n = strnlen(p, len);
    return n < 64 && (lengths >> n) & 1;
}

static const Container *container_of(const char *p, size_t len) {
    size_t n = strnlen(p, len);
    for (int i = 0; i < ncontainers; i++)
        if (containers[i].name_len == n && strncasecmp(p, containers[i].name, n) == 0) return &containers[i];
    return NULL;
}

/* Offered: the whole argument, same length, equal ignoring ASCII case (no NUL games). */
static int offered(const Container *c, const char *p, size_t len) {
    for (int i = 0; i < c->nsubs; i++)
        if (c->sub_len[i] == len && strncasecmp(p, c->subs[i], len) == 0) return 1;
    return 0;
}

static int is_admin_id(uint64_t id) {
    int nokey = 1;
    DictGetC(admins, &id, sizeof id, &nokey);
    if (!nokey) return 1;
    /* valkey's own clients with no ACL user: a replica's link to its primary (REPLCONF GETACK
     * arrives on it), the AOF loader. Clients never have a NULL user. */
    Str *user = GetClientUserNameById(detached, id);
    if (user) {
        FreeString(detached, user);
        return 0;
    }
    return errno == ENOTSUP;
}

static void admin_logged_out(uint64_t id, void *privdata) {
    (void)privdata;
    DictDelC(admins, &id, sizeof id, NULL);
}

/* Argument POS becomes a name valkey's lookup cannot find, so valkey itself answers at once
 * "ERR unknown command '<name>', with args beginning with: ..." (POS 0) or "ERR unknown
 * subcommand '<name>'. Try CLIENT HELP." (POS 1), aborting a transaction as for any unknown
 * name: it keeps the client's bytes up to the first NUL (all valkey prints, up to 128) and gets
 * "\0<poison>" appended. valkey's command tables hash the whole name but compare it up to the
 * NUL, so OnLoad checked that no "<name>\0<poison>" lands on a command or subcommand
 * (pick_poisons); the poisons are random per process. */
static const char *poison_for(const char *key) {
    for (size_t i = 0; i < npoisons; i++)
        if (strcasecmp(poisons[i].name, key) == 0) return poisons[i].suffix;
    return any_poison;
}

static void unknown_at(FilterCtx *f, int pos, const char *p, size_t len) {
    size_t n = strnlen(p, len);
    if (n > 128) n = 128;
    char key[2 * NAME_MAX_LEN + 2] = "";
    if (pos == 1) { /* a subcommand's poison is looked up as "container|sub" */
        size_t tl;
        const char *top = StringPtrLen(CommandFilterArgGet(f, 0), &tl);
        snprintf(key, sizeof key, "%.*s|", (int)strnlen(top, tl < NAME_MAX_LEN ? tl : NAME_MAX_LEN), top);
    }
    size_t kl = strlen(key);
    snprintf(key + kl, sizeof key - kl, "%.*s", (int)n, p);
    const char *suffix = poison_for(key);
    char buf[128 + sizeof any_poison + 1];
    memcpy(buf, p, n);
    buf[n] = '\0';
    memcpy(buf + n + 1, suffix, sizeof any_poison - 1);
    CommandFilterArgReplace(f, pos, CreateString(NULL, buf, n + sizeof any_poison));
}

/* ---- auth ----------------------------------------------------------------------------- */

typedef struct Request Request;
struct Request {
    Blocked *bc;
    unsigned long long client_id;
    char peer[46];
    unsigned port;
    char *user;
    size_t user_len;
    char *pass;
    size_t pass_len;
    char answer[ANSWER_MAX]; /* the verifier's line, without "\n"; "" when it failed */
    Request *next;           /* in the queue of requests no worker has taken yet */
};

static long long monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Bounds the socket's next connect/read/write by what is left until DEADLINE; -1: none left. */
static int until(int fd, long long deadline) {
    long long left = deadline - monotonic_ms();
    if (left <= 0) return -1;
    struct timeval tv = {(time_t)(left / 1000), (suseconds_t)((left % 1000) * 1000)};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0) /* SNDTIMEO bounds connect too */
        return -1;
    return 0;
}

static int send_all(int fd, const char *p, size_t n, long long deadline) {
    while (n) {
        if (until(fd, deadline) < 0) return -1;
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int connect_verifier(long long deadline) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    memcpy(addr.sun_path, verifier_path, sizeof verifier_path);
    if (until(fd, deadline) != 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One question on the connection *FD (opened if -1; closed and set to -1 unless it is left
 * ready for the next question), all of it done by DEADLINE. Returns 1 when the verifier closed
 * the connection before answering anything (asking again on a fresh one is safe), else 0. */
static int ask_once(Request *r, int *fd, long long deadline) {
    r->answer[0] = '\0';
    if (*fd < 0 && (*fd = connect_verifier(deadline)) < 0) return 0;
    char head[128];
    int hn = snprintf(head, sizeof head, "%llu %s %u %zu %zu\n", r->client_id, r->peer, r->port, r->user_len,
                      r->pass_len);
    size_t got = 0;
    int closed = 0;
    if (send_all(*fd, head, (size_t)hn, deadline) == 0 && send_all(*fd, r->user, r->user_len, deadline) == 0 &&
        send_all(*fd, r->pass, r->pass_len, deadline) == 0) {
        while (got < ANSWER_MAX - 1 && until(*fd, deadline) == 0) {
            ssize_t n = read(*fd, r->answer + got, ANSWER_MAX - 1 - got);
            if (n <= 0) {
                closed = got == 0 && (n == 0 || errno == ECONNRESET);
                break;
            }
            got += (size_t)n;
            if (memchr(r->answer, '\n', got)) break;
        }
    } else {
        closed = errno == EPIPE || errno == ECONNRESET;
    }
    r->answer[got] = '\0';
    char *nl = strchr(r->answer, '\n');
    /* Reused only after exactly one whole answer: anything else (a timeout, a closed or
     * chattering verifier) leaves the connection in a state no next question may inherit. */
    if (!nl || nl[1] != '\0') {
        close(*fd);
        *fd = -1;
    }
    if (nl) *nl = '\0';
    else r->answer[0] = '\0'; /* no complete answer: refused */
    return closed;
}

/* The whole exchange ends within TIMEOUT_MS. A kept connection the verifier has closed since
 * (it restarted, or answers one question per connection) gives nothing back: the question is
 * asked again on a fresh one, within the same bound. (Not after a timeout: a silent verifier
 * refuses the login once the bound is up.) */
static void ask_verifier(Request *r, int *fd, long long timeout_ms) {
    long long deadline = monotonic_ms() + timeout_ms;
    int reused = *fd >= 0;
    if (ask_once(r, fd, deadline) && reused) ask_once(r, fd, deadline);
}

/* Logins are decided by worker threads, each keeping its connection to the verifier: a new
 * thread (and connection) only when none is idle, so a burst of logins is decided side by
 * side and a verifier that hangs holds only the logins it was asked about, while steady
 * logins cost no thread start (stack mapping and unmapping, which stops the other CPU for a
 * TLB flush) nor a connection to the verifier each. At most MAX_IDLE_WORKERS wait for work. */
#define MAX_IDLE_WORKERS 4
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER;
static Request *queue_head, *queue_tail;
static int idle_workers, queued;

static void *verify_worker(void *arg) {
    Request *r = arg;
    int fd = -1;
    for (;;) {
        ask_verifier(r, &fd, VERIFY_TIMEOUT_MS);
        UnblockClient(r->bc, r);
        pthread_mutex_lock(&pool_lock);
        if (idle_workers >= MAX_IDLE_WORKERS) {
            pthread_mutex_unlock(&pool_lock);
            break;
        }
        idle_workers++;
        while (!queue_head) pthread_cond_wait(&pool_wake, &pool_lock);
        idle_workers--;
        r = queue_head;
        queue_head = r->next;
        if (!queue_head) queue_tail = NULL;
        queued--;
        pthread_mutex_unlock(&pool_lock);
    }
    if (fd >= 0) close(fd);
    return NULL;
}

/* Hand R to an idle worker, or to a new one; 0 when neither could take it. */
static int submit(Request *r) {
    pthread_mutex_lock(&pool_lock);
    if (idle_workers > queued) {
        r->next = NULL;
        if (queue_tail) queue_tail->next = r;
        else queue_head = r;
        queue_tail = r;
        queued++;
        pthread_cond_signal(&pool_wake);
        pthread_mutex_unlock(&pool_lock);
        return 0;
    }
    pthread_mutex_unlock(&pool_lock);
    pthread_t tid;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* it only talks to a socket: a small stack, so thousands of logins at once stay cheap */
    pthread_attr_setstacksize(&attr, VERIFY_STACK);
    int rc = pthread_create(&tid, &attr, verify_worker, r);
    pthread_attr_destroy(&attr);
    return rc == 0 ? 0 : -1;
}

static void free_request(Ctx *ctx, void *privdata) {
    (void)ctx;
    Request *r = privdata;
    if (!r) return;
    free(r->user);
    free(r->pass);
    free(r);
}

/* The verifier's answer A decides the login of CTX's client (blocked or not). */
static int apply_answer(Ctx *ctx, const char *a, Str **err) {
    if (strncmp(a, "OK ", 3) == 0) {
        if (AuthenticateClientWithACLUser(ctx, a + 3, strlen(a + 3), NULL, NULL, NULL) != MOD_OK)
            *err = NULL; /* the ACL user is gone or off: valkey's WRONGPASS */
        return AUTH_HANDLED;
    }
    if (strcmp(a, "ADMIN") == 0) {
        uint64_t id = 0;
        if (AuthenticateClientWithUser(ctx, admin, admin_logged_out, NULL, &id) == MOD_OK)
            DictSetC(admins, &id, sizeof id, admin);
        else
            *err = NULL;
        return AUTH_HANDLED;
    }
    if (strcmp(a, "NEXT") == 0) return AUTH_NOT_HANDLED;
    if (strncmp(a, "ERR ", 4) == 0) {
        *err = CreateString(ctx, a + 4, strlen(a + 4)); /* "-CODE text": sent as is */
        return AUTH_HANDLED;
    }
    *err = CreateString(ctx, SERVICE_UNAVAILABLE, strlen(SERVICE_UNAVAILABLE));
    return AUTH_HANDLED;
}

/* Called again for the blocked client once the verifier answered. */
static int auth_reply(Ctx *ctx, Str *username, Str *password, Str **err) {
    (void)username;
    (void)password;
    Request *r = GetBlockedClientPrivateData(ctx);
    return apply_answer(ctx, r ? r->answer : "", err);
}

static int auth_callback(Ctx *ctx, Str *username, Str *password, Str **err) {
    Request *r = calloc(1, sizeof *r);
    if (!r) return AUTH_NOT_HANDLED;
    const char *u = StringPtrLen(username, &r->user_len);
    const char *p = StringPtrLen(password, &r->pass_len);
    r->user = malloc(r->user_len + 1);
    r->pass = malloc(r->pass_len + 1);
    if (!r->user || !r->pass) {
        free_request(NULL, r);
        return AUTH_NOT_HANDLED;
    }
    memcpy(r->user, u, r->user_len);
    memcpy(r->pass, p, r->pass_len);
    r->client_id = GetClientId(ctx);
    ClientInfo ci = {.version = 1};
    if (GetClientInfoById(&ci, r->client_id) == MOD_OK) {
        memcpy(r->peer, ci.addr, sizeof r->peer);
        r->peer[sizeof r->peer - 1] = '\0';
        r->port = ci.port;
    }
    for (char *c = r->peer; *c; c++)
        if (isspace((unsigned char)*c)) *c = '_'; /* never split the request line */
    if (!r->peer[0]) strcpy(r->peer, "?");
    if (GetContextFlags(ctx) & (CTX_FLAGS_LUA | CTX_FLAGS_MULTI)) {
        /* valkey 8 (module.c, moduleBlockClient) will not block a client while a script or
         * function runs, nor inside EXEC: it would answer "Blocking module command called from
         * Lua script". A script past busy-script-time still lets AUTH/HELLO through (allow-busy):
         * on AWS and the proxy that login succeeds and the client's commands then get BUSY. So
         * decide here, on the main thread: the verifier is cloudlet's asyncio process, which
         * never waits on this valkey to answer, and the wait is bounded all the same. */
        int fd = -1;
        ask_verifier(r, &fd, SYNC_VERIFY_TIMEOUT_MS);
        if (fd >= 0) close(fd);
        int result = apply_answer(ctx, r->answer, err);
        free_request(NULL, r);
        return result;
    }
    r->bc = BlockClientOnAuth(ctx, auth_reply, free_request);
    if (submit(r) != 0) {
        r->answer[0] = '\0';
        UnblockClient(r->bc, r); /* answered "service is not available" */
    }
    return AUTH_HANDLED;
}

/* ---- throttle ------------------------------------------------------------------------- */

static long long ecpu_max;       /* ECPUs per second; 0: no maximum */
static double tokens;            /* the bucket, at most one second of ecpu_max */
static long long stamp_ms;
static long long paused_until;   /* ms clock: the current pause ends */
static int pause_pending;
static long long throttled;      /* commands filtered while the clients were paused */

static void refill(long long now) {
    tokens += (double)(now - stamp_ms) * (double)ecpu_max / 1000.0;
    if (tokens > (double)ecpu_max) tokens = (double)ecpu_max;
    stamp_ms = now;
}

static void pause_clients(Ctx *ctx, void *data) {
    (void)data;
    pause_pending = 0;
    if (ecpu_max <= 0) return;
    long long now = Milliseconds();
    refill(now);
    if (tokens >= 0) return;
    long long ms = (long long)(-tokens * 1000.0 / (double)ecpu_max) + 1;
    char arg[32];
    snprintf(arg, sizeof arg, "%lld", ms);
    CallReply *reply = Call(ctx, "CLIENT", "ccc", "PAUSE", arg, "ALL");
    if (reply) FreeCallReply(reply);
    paused_until = now + ms;
}

static void charge(FilterCtx *f, int argc) {
    long long now = Milliseconds();
    if (now < paused_until) throttled++;
    size_t bytes = 0, len;
    for (int i = 0; i < argc; i++) {
        StringPtrLen(CommandFilterArgGet(f, i), &len);
        bytes += len;
    }
    long long cost = (long long)(bytes / KB);
    refill(now);
    tokens -= (double)(cost > 1 ? cost : 1);
    /* The pause holds every client, cloudlet's own admin connection too (valkey exempts only
     * replicas): a debt of more than one second of the maximum is forgiven, so no request
     * (a 500 MB SET at 1,000 ECPU/s) stops the cache, or cloudlet's hand on it, for minutes. */
    if (tokens < -(double)ecpu_max) tokens = -(double)ecpu_max;
    if (tokens < 0 && !pause_pending && now >= paused_until) {
        pause_pending = 1; /* CLIENT PAUSE cannot run inside a filter: from the event loop */
        CreateTimer(detached, 0, pause_clients, NULL);
    }
}

/* ---- the filter ----------------------------------------------------------------------- */

static void filter(FilterCtx *f) {
    int argc = CommandFilterArgsCount(f);
    if (argc < 1) return;
    if (ecpu_max > 0) charge(f, argc);
    size_t len;
    const char *name = StringPtrLen(CommandFilterArgGet(f, 0), &len);
    if (maxargs > 0 && argc > maxargs) {
        /* Inside MULTI an answer at once that aborts it (as the proxy's): unknown command. */
        ClientInfo ci = {.version = 1};
        if (GetClientInfoById(&ci, CommandFilterGetClientId(f)) == MOD_OK && (ci.flags & CLIENTINFO_FLAG_MULTI))
            unknown_at(f, 0, name, len);
        else
            CommandFilterArgReplace(f, 0, CreateString(NULL, "cloudlet.refuse", 15));
        return;
    }
    if (len == 0 || !maybe_watched(name, len)) return;
    const Container *c = container_of(name, len);
    if (c) {
        if (argc > 1) {
            size_t sl;
            const char *sub = StringPtrLen(CommandFilterArgGet(f, 1), &sl);
            if (!offered(c, sub, sl) && !is_admin_id(CommandFilterGetClientId(f))) unknown_at(f, 1, sub, sl);
        }
        return;
    }
    switch (tolower((unsigned char)name[0])) {
    case 'p': case 'r': case 's': case 'c':
        if (name_is(name, len, "psync") || name_is(name, len, "sync") || name_is(name, len, "replconf") ||
            name_is(name, len, "cloudlet.ecpu") || name_is(name, len, "cloudlet.stats") ||
            name_is(name, len, "cloudlet.refuse")) {
            if (!is_admin_id(CommandFilterGetClientId(f))) unknown_at(f, 0, name, len);
        }
        return;
    case 'a': case 'h': case 'f': {
        int auth = name_is(name, len, "auth");
        int hello_auth = 0;
        if (name_is(name, len, "hello")) /* options as valkey reads them: AUTH u p, SETNAME n */
            for (int i = 2; i < argc;) {
                size_t al;
                const char *a = StringPtrLen(CommandFilterArgGet(f, i), &al);
                if (name_is(a, al, "auth") && argc - i > 2) hello_auth = 1;
                if (!name_is(a, al, "setname") || argc - i < 2) break;
                i += 2; /* "HELLO 3 SETNAME auth" is no login */
            }
        int flush = name_is(name, len, "flushall") || name_is(name, len, "flushdb");
        if (!auth && !hello_auth && !flush) return;
        ClientInfo ci = {.version = 1};
        if (GetClientInfoById(&ci, CommandFilterGetClientId(f)) != MOD_OK || !(ci.flags & CLIENTINFO_FLAG_MULTI))
            return;
        unknown_at(f, 0, name, len);
        return;
    }
    default:
        return;
    }
}

/* ---- the module's commands ------------------------------------------------------------ */

/* Reached only through the filter: a request over maxargs, outside MULTI (today's wording).
 * "no-auth" because valkey's ACL skips the command check for such commands: a user allowed only
 * GET still gets this answer rather than NOPERM for a command it never named. (Unauthenticated
 * clients never get here: valkey refuses their requests over 10 arguments itself.) */
static int refuse_command(Ctx *ctx, Str **argv, int argc) {
    (void)argv;
    char msg[128];
    snprintf(msg, sizeof msg, "ERR too many arguments: the request has %d, at most %lld are allowed", argc, maxargs);
    return ReplyWithError(ctx, msg);
}

static int ecpu_command(Ctx *ctx, Str **argv, int argc) {
    long long v;
    if (argc != 2) return WrongArity(ctx);
    if (StringToLongLong(argv[1], &v) != MOD_OK || v < 0)
        return ReplyWithError(ctx, "ERR value is not an integer or out of range");
    ecpu_max = v;
    tokens = (double)v;
    stamp_ms = Milliseconds();
    return ReplyWithSimpleString(ctx, "OK");
}

static int stats_command(Ctx *ctx, Str **argv, int argc) {
    (void)argv;
    if (argc != 1) return WrongArity(ctx);
    char msg[64];
    snprintf(msg, sizeof msg, "throttled %lld", throttled);
    return ReplyWithSimpleString(ctx, msg);
}

/* ---- loading -------------------------------------------------------------------------- */

static int copy_name(char *dst, const char *src, size_t len) {
    if (len == 0 || len >= NAME_MAX_LEN || memchr(src, '\0', len)) return -1;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return 0;
}

static int add_container(Str *name, Str *subs) {
    if (ncontainers == MAX_CONTAINERS) return -1;
    Container *c = &containers[ncontainers];
    size_t len;
    const char *p = StringPtrLen(name, &len);
    if (copy_name(c->name, p, len) < 0) return -1;
    c->name_len = len;
    const char *s = StringPtrLen(subs, &len), *end = s + len;
    while (s < end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        size_t n = (size_t)((comma ? comma : end) - s);
        if (c->nsubs == MAX_SUBS || copy_name(c->subs[c->nsubs], s, n) < 0) return -1;
        c->sub_len[c->nsubs++] = n;
        s += n + 1;
    }
    ncontainers++;
    return 0;
}

/* "COMMAND INFO <name>" answers [nil] for a name no command has ("a|b": no subcommand b of a). */
static int names_no_command(Ctx *ctx, const char *name, size_t len) {
    Str *s = CreateString(NULL, name, len);
    CallReply *reply = Call(ctx, "COMMAND", "cs", "INFO", s);
    FreeString(NULL, s);
    int absent = reply && CallReplyType(reply) == REPLY_ARRAY &&
                 CallReplyType(CallReplyArrayElement(reply, 0)) == REPLY_NULL;
    if (reply) FreeCallReply(reply);
    return absent;
}

static int poisoned_absent(Ctx *ctx, const char *name, size_t n, const char *suffix) {
    char buf[2 * NAME_MAX_LEN + sizeof any_poison + 2];
    if (n > 2 * NAME_MAX_LEN) return 0;
    memcpy(buf, name, n);
    buf[n] = '\0';
    memcpy(buf + n + 1, suffix, sizeof any_poison - 1);
    return names_no_command(ctx, buf, n + sizeof any_poison);
}

static int random_suffix(int fd, char *out) {
    unsigned char raw[8];
    if (read(fd, raw, sizeof raw) != (ssize_t)sizeof raw) return -1;
    for (size_t i = 0; i < sizeof raw; i++) snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

/* One poison per command and subcommand valkey has (COMMAND LIST, which includes the module's),
 * each checked not to land on its own name (a subcommand table is small, so one poison for
 * all would collide somewhere). Random per process, so no client can predict one. */
static int pick_poisons(Ctx *ctx) {
    CallReply *list = Call(ctx, "COMMAND", "c", "LIST");
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    size_t total = list ? CallReplyLength(list) : 0;
    poisons = calloc(total ? total : 1, sizeof *poisons);
    int ok = list && fd >= 0 && poisons && random_suffix(fd, any_poison) == 0;
    for (size_t i = 0; ok && i < total; i++) {
        size_t n;
        const char *entry = CallReplyStringPtr(CallReplyArrayElement(list, i), &n);
        if (!entry || n >= sizeof poisons[0].name) continue; /* never looked up: too long a name */
        Poison *p = &poisons[npoisons];
        memcpy(p->name, entry, n);
        p->name[n] = '\0';
        ok = 0;
        for (int attempt = 0; !ok && attempt < 16; attempt++)
            ok = random_suffix(fd, p->suffix) == 0 && poisoned_absent(ctx, entry, n, p->suffix);
        npoisons++;
    }
    if (fd >= 0) close(fd);
    if (list) FreeCallReply(list);
    return ok ? 0 : -1;
}

static int refuse_load(Ctx *ctx, const char *why) {
    Log(ctx, "warning", "cloudlet module not loaded: %s", why);
    return MOD_ERR;
}

#define API(name, var) (GetApi("ValkeyModule_" name, (void *)&(var)) == MOD_OK)

static int load_api(void) {
    return API("SetModuleAttribs", SetModuleAttribs) && API("RegisterAuthCallback", RegisterAuthCallback) &&
           API("BlockClientOnAuth", BlockClientOnAuth) && API("UnblockClient", UnblockClient) &&
           API("GetBlockedClientPrivateData", GetBlockedClientPrivateData) &&
           API("AuthenticateClientWithACLUser", AuthenticateClientWithACLUser) &&
           API("AuthenticateClientWithUser", AuthenticateClientWithUser) && API("GetClientId", GetClientId) &&
           API("GetContextFlags", GetContextFlags) &&
           API("GetClientInfoById", GetClientInfoById) && API("GetClientUserNameById", GetClientUserNameById) &&
           API("StringPtrLen", StringPtrLen) && API("CreateString", CreateString) &&
           API("FreeString", FreeString) && API("StringToLongLong", StringToLongLong) &&
           API("CreateModuleUser", CreateModuleUser) && API("SetModuleUserACL", SetModuleUserACL) &&
           API("CreateCommand", CreateCommand) && API("RegisterCommandFilter", RegisterCommandFilter) &&
           API("CommandFilterArgsCount", CommandFilterArgsCount) && API("CommandFilterArgGet", CommandFilterArgGet) &&
           API("CommandFilterArgReplace", CommandFilterArgReplace) &&
           API("CommandFilterGetClientId", CommandFilterGetClientId) && API("ReplyWithError", ReplyWithError) &&
           API("ReplyWithSimpleString", ReplyWithSimpleString) && API("WrongArity", WrongArity) &&
           API("GetDetachedThreadSafeContext", GetDetachedThreadSafeContext) && API("CreateTimer", CreateTimer) &&
           API("Milliseconds", Milliseconds) && API("Call", Call) && API("CallReplyType", CallReplyType) &&
           API("CallReplyArrayElement", CallReplyArrayElement) && API("CallReplyLength", CallReplyLength) &&
           API("CallReplyStringPtr", CallReplyStringPtr) && API("FreeCallReply", FreeCallReply) &&
           API("CreateDict", CreateDict) && API("DictSetC", DictSetC) && API("DictDelC", DictDelC) &&
           API("DictGetC", DictGetC) && API("Log", Log);
}

static int arg_is(Str *s, const char *word) {
    size_t len;
    const char *p = StringPtrLen(s, &len);
    return len == strlen(word) && memcmp(p, word, len) == 0;
}

int ValkeyModule_OnLoad(Ctx *ctx, Str **argv, int argc) {
    GetApi = (int (*)(const char *, void *))(((void **)ctx)[0]);
    if (!load_api()) return MOD_ERR; /* not a valkey with this API: nothing to log with */
    SetModuleAttribs(ctx, "cloudlet", 1, APIVER_1);
    detached = GetDetachedThreadSafeContext(ctx);
    admins = CreateDict(NULL);
    for (int i = 0; i < argc;) {
        size_t len;
        if (arg_is(argv[i], "verifier") && i + 1 < argc) {
            const char *path = StringPtrLen(argv[i + 1], &len);
            if (len == 0 || len >= sizeof verifier_path) return refuse_load(ctx, "verifier path");
            memcpy(verifier_path, path, len);
            i += 2;
        } else if (arg_is(argv[i], "container") && i + 2 < argc) {
            if (add_container(argv[i + 1], argv[i + 2]) < 0) return refuse_load(ctx, "container");
            i += 3;
        } else if (arg_is(argv[i], "maxargs") && i + 1 < argc) {
            if (StringToLongLong(argv[i + 1], &maxargs) != MOD_OK || maxargs < 1) return refuse_load(ctx, "maxargs");
            i += 2;
        } else {
            return refuse_load(ctx, "an unknown option"); /* never load as a weaker module */
        }
    }
    if (!verifier_path[0]) return refuse_load(ctx, "no verifier");
    for (int i = 0; i < ncontainers; i++) watch(containers[i].name, containers[i].name_len);
    for (size_t i = 0; i < sizeof special_names / sizeof *special_names; i++)
        watch(special_names[i], strlen(special_names[i]));
    admin = CreateModuleUser("cloudlet-admin");
    const char *rules[] = {"on", "allkeys", "allchannels", "allcommands"};
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++)
        if (SetModuleUserACL(admin, rules[i]) != MOD_OK) return refuse_load(ctx, "the admin user's rules");
    if (CreateCommand(ctx, "cloudlet.refuse", refuse_command, "no-auth", 0, 0, 0) != MOD_OK ||
        CreateCommand(ctx, "cloudlet.ecpu", ecpu_command, "admin", 0, 0, 0) != MOD_OK ||
        CreateCommand(ctx, "cloudlet.stats", stats_command, "admin", 0, 0, 0) != MOD_OK)
        return refuse_load(ctx, "its commands");
    if (pick_poisons(ctx) < 0) return refuse_load(ctx, "no name poison found");
    RegisterAuthCallback(ctx, auth_callback);
    RegisterCommandFilter(ctx, filter, CMDFILTER_NOSELF);
    return MOD_OK;
}
