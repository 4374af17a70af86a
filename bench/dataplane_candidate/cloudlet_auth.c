/* A valkey module that lets cloudlet decide every AUTH / HELLO AUTH of a cache's clients.
 *
 * Loaded as `loadmodule cloudlet_auth.so /path/to/verifier.sock`. On each AUTH the client
 * is blocked (BlockClientOnAuth) and a detached thread asks cloudlet's verifier over the
 * unix socket; the event loop goes on serving other clients. So cloudlet's Python runs
 * once per AUTH and never per command: after AUTH the client talks to valkey alone.
 *
 * Verifier protocol, one connection per AUTH:
 *   request  "<client id> <user length> <password length>\n<user><password>"
 *   answer   "OK <acl user>\n"   log the client in as that ACL user
 *            "ADMIN\n"          log the client in as cloudlet's own admin: a module user, which
 *                               no ACL LIST / ACL USERS / ACL GETUSER shows, so clients never see it
 *            "ERR <reply>\n"     refuse with that error reply, as sent ("-WRONGPASS ...")
 *            "NEXT\n"            not cloudlet's: valkey checks its own ACL passwords
 * A verifier that cannot be reached or answers nothing refuses the AUTH.
 *
 * The module API is reached through the server's GetApi table (the first word of the
 * context), as every module does; the few functions used are declared here. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define MOD_OK 0
#define MOD_ERR 1
#define AUTH_HANDLED 0
#define AUTH_NOT_HANDLED 1
#define APIVER_1 1
#define ANSWER_MAX 1024
#define VERIFY_TIMEOUT_S 10

typedef struct Ctx Ctx;
typedef struct Str Str;
typedef struct Blocked Blocked;
typedef struct User User;
typedef int (*AuthCallback)(Ctx *, Str *, Str *, Str **);
typedef void (*FreePrivdata)(Ctx *, void *);

static int (*GetApi)(const char *, void *);
static void (*SetModuleAttribs)(Ctx *, const char *, int, int);
static void (*RegisterAuthCallback)(Ctx *, AuthCallback);
static Blocked *(*BlockClientOnAuth)(Ctx *, AuthCallback, FreePrivdata);
static int (*UnblockClient)(Blocked *, void *);
static void *(*GetBlockedClientPrivateData)(Ctx *);
static int (*AuthenticateClientWithACLUser)(Ctx *, const char *, size_t, void *, void *, uint64_t *);
static unsigned long long (*GetClientId)(Ctx *);
static const char *(*StringPtrLen)(const Str *, size_t *);
static Str *(*CreateString)(Ctx *, const char *, size_t);
static User *(*CreateModuleUser)(const char *);
static int (*SetModuleUserACL)(User *, const char *);
static int (*AuthenticateClientWithUser)(Ctx *, User *, void *, void *, uint64_t *);

static User *admin;

static char verifier_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

typedef struct Request {
    Blocked *bc;
    unsigned long long client_id;
    char *user;
    size_t user_len;
    char *pass;
    size_t pass_len;
    char answer[ANSWER_MAX]; /* the verifier's line, without "\n"; "" when it failed */
} Request;

static int write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void ask_verifier(Request *r) {
    r->answer[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) return;
    struct timeval tv = {VERIFY_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    memcpy(addr.sun_path, verifier_path, sizeof verifier_path);
    char head[64];
    int hn = snprintf(head, sizeof head, "%llu %zu %zu\n", r->client_id, r->user_len, r->pass_len);
    size_t got = 0;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0 && write_all(fd, head, (size_t)hn) == 0 &&
        write_all(fd, r->user, r->user_len) == 0 && write_all(fd, r->pass, r->pass_len) == 0) {
        while (got < ANSWER_MAX - 1) {
            ssize_t n = read(fd, r->answer + got, ANSWER_MAX - 1 - got);
            if (n <= 0) break;
            got += (size_t)n;
            if (memchr(r->answer, '\n', got)) break;
        }
    }
    close(fd);
    r->answer[got] = '\0';
    char *nl = strchr(r->answer, '\n');
    if (nl) *nl = '\0';
    else r->answer[0] = '\0'; /* no complete answer: refused */
}

static void *verify_thread(void *arg) {
    Request *r = arg;
    ask_verifier(r);
    UnblockClient(r->bc, r);
    return NULL;
}

static void free_request(Ctx *ctx, void *privdata) {
    (void)ctx;
    Request *r = privdata;
    if (!r) return;
    free(r->user);
    free(r->pass);
    free(r);
}

static int auth_reply(Ctx *ctx, Str *username, Str *password, Str **err) {
    (void)username;
    (void)password;
    Request *r = GetBlockedClientPrivateData(ctx);
    const char *a = r ? r->answer : "";
    if (strncmp(a, "OK ", 3) == 0) {
        if (AuthenticateClientWithACLUser(ctx, a + 3, strlen(a + 3), NULL, NULL, NULL) == MOD_OK)
            return AUTH_HANDLED;
        *err = NULL; /* the ACL user is gone or off: valkey's WRONGPASS */
        return AUTH_HANDLED;
    }
    if (strcmp(a, "ADMIN") == 0) {
        if (AuthenticateClientWithUser(ctx, admin, NULL, NULL, NULL) == MOD_OK) return AUTH_HANDLED;
        *err = NULL;
        return AUTH_HANDLED;
    }
    if (strcmp(a, "NEXT") == 0) return AUTH_NOT_HANDLED;
    if (strncmp(a, "ERR ", 4) == 0) {
        *err = CreateString(ctx, a + 4, strlen(a + 4));
        return AUTH_HANDLED;
    }
    const char *down = "-ERR service is not available"; /* "-": sent as is */
    *err = CreateString(ctx, down, strlen(down));
    return AUTH_HANDLED;
}

static int auth_callback(Ctx *ctx, Str *username, Str *password, Str **err) {
    (void)err;
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
    r->bc = BlockClientOnAuth(ctx, auth_reply, free_request);
    pthread_t tid;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&tid, &attr, verify_thread, r) != 0) {
        r->answer[0] = '\0';
        UnblockClient(r->bc, r); /* answered "service is not available" */
    }
    pthread_attr_destroy(&attr);
    return AUTH_HANDLED;
}

#define API(name, var) (GetApi("ValkeyModule_" name, (void *)&(var)) == MOD_OK)

int ValkeyModule_OnLoad(Ctx *ctx, Str **argv, int argc) {
    GetApi = (int (*)(const char *, void *))(((void **)ctx)[0]);
    if (!API("SetModuleAttribs", SetModuleAttribs) || !API("RegisterAuthCallback", RegisterAuthCallback) ||
        !API("BlockClientOnAuth", BlockClientOnAuth) || !API("UnblockClient", UnblockClient) ||
        !API("GetBlockedClientPrivateData", GetBlockedClientPrivateData) ||
        !API("AuthenticateClientWithACLUser", AuthenticateClientWithACLUser) ||
        !API("GetClientId", GetClientId) || !API("StringPtrLen", StringPtrLen) ||
        !API("CreateString", CreateString) || !API("CreateModuleUser", CreateModuleUser) ||
        !API("SetModuleUserACL", SetModuleUserACL) || !API("AuthenticateClientWithUser", AuthenticateClientWithUser))
        return MOD_ERR;
    SetModuleAttribs(ctx, "cloudlet_auth", 1, APIVER_1);
    size_t len = 0;
    const char *path = argc == 1 ? StringPtrLen(argv[0], &len) : NULL;
    if (!path || len == 0 || len >= sizeof verifier_path) return MOD_ERR;
    memcpy(verifier_path, path, len);
    verifier_path[len] = '\0';
    admin = CreateModuleUser("cloudlet-admin");
    const char *rules[] = {"on", "allkeys", "allchannels", "allcommands"};
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++)
        if (SetModuleUserACL(admin, rules[i]) != MOD_OK) return MOD_ERR;
    RegisterAuthCallback(ctx, auth_callback);
    return MOD_OK;
}
