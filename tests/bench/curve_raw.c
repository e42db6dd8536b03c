/*
 * curve_raw: the throughput of bare CURVE ZeroMQ on loopback, the
 * baseline of make bench's sync figure (tests/bench/bench-sync.sh).
 *
 *   curve_raw [-m MSG_BYTES] [-w HWM] [BYTES]
 *
 * A ROUTER, CURVE server, bound to tcp://127.0.0.1:* sends BYTES (default
 * 1G; a plain number or one with a K, M or G suffix, powers of 1024) as
 * messages of MSG_BYTES (256K, a bundle chunk) to a DEALER, CURVE client,
 * that connects to it: the direction a bundle travels in mrx, where the
 * puller's DEALER fetches from the holder's ROUTER. The socket options are
 * mrx's (docs/protocol.md, section 1): ZMQ_MAXMSGSIZE 8 MiB + 64 KiB,
 * heartbeats, linger 0. No ZAP handler runs: it is asked once per
 * connection, before the clock starts. Each side has its own context, so
 * its own I/O thread, which is where CURVE encrypts and decrypts: as in
 * two daemons, the two ends work in parallel. HWM (default 64) bounds the
 * messages queued on each side, so that the program stays within a
 * daemon's memory. The clock runs from the client's "go" to the last byte
 * received. On stdout:
 *
 *   curve_raw BYTES SECONDS
 *
 * Exit status 0, or 1 with a message on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define MAXMSGSIZE ((int64_t)8 * 1024 * 1024 + 64 * 1024)
#define RECV_TIMEOUT_MS 60000

/* What the server thread needs. */
struct server {
    void *router;        /* bound, CURVE server; used by the thread alone */
    uint64_t bytes;      /* how much to send on "go" */
    size_t msg_bytes;    /* the size of each message (the last may be less) */
    const char *failure; /* what went wrong in the thread, or NULL */
};

static void
usage(void)
{
    fprintf(stderr, "usage: curve_raw [-m MSG_BYTES] [-w HWM] [BYTES]\n");
    exit(2);
}

static void
die(const char *what)
{
    fprintf(stderr, "curve_raw: %s: %s\n", what, zmq_strerror(zmq_errno()));
    exit(1);
}

/* "1G", "256K", "1048576": a byte count, or 0 if the text is not one. */
static uint64_t
parse_size(const char *text)
{
    char *end;
    unsigned long long n;

    errno = 0;
    n = strtoull(text, &end, 10);
    if (errno || end == text || text[0] == '-')
        return 0;
    if (*end == 'K' || *end == 'M' || *end == 'G') {
        n <<= *end == 'K' ? 10 : *end == 'M' ? 20 : 30;
        end++;
    }
    return *end ? 0 : (uint64_t)n;
}

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* mrx's options on both ends, and the queue bound. */
static void
set_common_options(void *sock, int hwm)
{
    int64_t max = MAXMSGSIZE;
    int linger = 0, ivl = 5000, timeout = 15000;

    if (zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0 ||
        zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl) != 0 ||
        zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout) != 0 ||
        zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0)
        die("zmq_setsockopt");
}

/* Receive [routing id][body] on the ROUTER; the body's size, or -1. */
static int
recv_routed(void *router, char *id, size_t id_size, size_t *id_len, char *body, size_t body_size)
{
    int n, more;
    size_t more_size = sizeof more;

    if ((n = zmq_recv(router, id, id_size, 0)) < 0)
        return -1;
    *id_len = (size_t)n < id_size ? (size_t)n : id_size;
    if (zmq_getsockopt(router, ZMQ_RCVMORE, &more, &more_size) != 0 || !more)
        return -1;
    return zmq_recv(router, body, body_size, 0);
}

static int
send_routed(void *router, const char *id, size_t id_len, const void *body, size_t len)
{
    if (zmq_send(router, id, id_len, ZMQ_SNDMORE) < 0)
        return -1;
    return zmq_send(router, body, len, 0) < 0 ? -1 : 0;
}

/*
 * The server: answer "ping" with "pong" (the handshake is then over both
 * ways), send the bytes on "go", end on "done".
 */
static void *
serve(void *arg)
{
    struct server *s = arg;
    char id[256], cmd[16], *data = NULL;
    size_t id_len = 0;
    int n;

    if (!(data = malloc(s->msg_bytes))) {
        s->failure = "out of memory";
        return NULL;
    }
    for (size_t i = 0; i < s->msg_bytes; i++)
        data[i] = (char)(i * 2654435761u >> 13);
    for (;;) {
        if ((n = recv_routed(s->router, id, sizeof id, &id_len, cmd, sizeof cmd)) < 0) {
            s->failure = "server: receive";
            break;
        }
        if (n == 4 && memcmp(cmd, "ping", 4) == 0) {
            if (send_routed(s->router, id, id_len, "pong", 4) != 0) {
                s->failure = "server: send";
                break;
            }
        } else if (n == 2 && memcmp(cmd, "go", 2) == 0) {
            uint64_t left = s->bytes;
            while (left > 0) {
                size_t len = left < s->msg_bytes ? (size_t)left : s->msg_bytes;
                if (send_routed(s->router, id, id_len, data, len) != 0) {
                    s->failure = "server: send";
                    break;
                }
                left -= len;
            }
            if (s->failure)
                break;
        } else if (n == 4 && memcmp(cmd, "done", 4) == 0) {
            break;
        } else {
            s->failure = "server: unexpected message";
            break;
        }
    }
    free(data);
    return NULL;
}

int
main(int argc, char **argv)
{
    char server_public[41], server_secret[41], client_public[41], client_secret[41];
    char endpoint[256], pong[8];
    size_t endpoint_size = sizeof endpoint;
    struct server s = {NULL, (uint64_t)1 << 30, 256 * 1024, NULL};
    void *server_ctx, *client_ctx, *dealer;
    int opt, hwm = 64, one = 1, timeout = RECV_TIMEOUT_MS, mandatory = 1;
    uint64_t received = 0;
    pthread_t thread;
    double start, elapsed;
    zmq_msg_t msg;

    while ((opt = getopt(argc, argv, "m:w:")) != -1) {
        switch (opt) {
        case 'm': {
            uint64_t m = parse_size(optarg);
            if (m == 0 || m > (uint64_t)MAXMSGSIZE - 64 * 1024)
                usage();
            s.msg_bytes = (size_t)m;
            break;
        }
        case 'w':
            if ((hwm = atoi(optarg)) <= 0)
                usage();
            break;
        default:
            usage();
        }
    }
    if (argc - optind > 1)
        usage();
    if (argc - optind == 1 && (s.bytes = parse_size(argv[optind])) == 0)
        usage();

    if (zmq_curve_keypair(server_public, server_secret) != 0 ||
        zmq_curve_keypair(client_public, client_secret) != 0)
        die("zmq_curve_keypair (is libzmq built with CURVE?)");
    if (!(server_ctx = zmq_ctx_new()) || !(client_ctx = zmq_ctx_new()))
        die("zmq_ctx_new");

    /* the server's ROUTER, bound here and then used by its thread alone */
    if (!(s.router = zmq_socket(server_ctx, ZMQ_ROUTER)))
        die("zmq_socket");
    set_common_options(s.router, hwm);
    /* at the HWM, block rather than drop */
    if (zmq_setsockopt(s.router, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof mandatory) != 0 ||
        zmq_setsockopt(s.router, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(s.router, ZMQ_CURVE_SECRETKEY, server_secret, 40) != 0)
        die("zmq_setsockopt (server)");
    if (zmq_bind(s.router, "tcp://127.0.0.1:*") != 0)
        die("zmq_bind");
    if (zmq_getsockopt(s.router, ZMQ_LAST_ENDPOINT, endpoint, &endpoint_size) != 0)
        die("zmq_getsockopt (ZMQ_LAST_ENDPOINT)");
    if ((errno = pthread_create(&thread, NULL, serve, &s)) != 0) {
        fprintf(stderr, "curve_raw: pthread_create: %s\n", strerror(errno));
        return 1;
    }

    if (!(dealer = zmq_socket(client_ctx, ZMQ_DEALER)))
        die("zmq_socket");
    set_common_options(dealer, hwm);
    if (zmq_setsockopt(dealer, ZMQ_RCVTIMEO, &timeout, sizeof timeout) != 0 ||
        zmq_setsockopt(dealer, ZMQ_CURVE_SERVERKEY, server_public, 40) != 0 ||
        zmq_setsockopt(dealer, ZMQ_CURVE_PUBLICKEY, client_public, 40) != 0 ||
        zmq_setsockopt(dealer, ZMQ_CURVE_SECRETKEY, client_secret, 40) != 0)
        die("zmq_setsockopt (client)");
    explicit_bzero(server_secret, sizeof server_secret);
    explicit_bzero(client_secret, sizeof client_secret);
    if (zmq_connect(dealer, endpoint) != 0)
        die("zmq_connect");

    if (zmq_send(dealer, "ping", 4, 0) != 4)
        die("client: send");
    if (zmq_recv(dealer, pong, sizeof pong, 0) != 4 || memcmp(pong, "pong", 4) != 0)
        die("client: no pong (CURVE handshake)");

    zmq_msg_init(&msg);
    start = now();
    if (zmq_send(dealer, "go", 2, 0) != 2)
        die("client: send");
    while (received < s.bytes) {
        int n = zmq_msg_recv(&msg, dealer, 0);
        if (n < 0)
            die("client: receive");
        received += (uint64_t)n;
    }
    elapsed = now() - start;
    zmq_msg_close(&msg);
    if (zmq_send(dealer, "done", 4, 0) != 4)
        die("client: send");
    pthread_join(thread, NULL);
    if (s.failure) {
        fprintf(stderr, "curve_raw: %s\n", s.failure);
        return 1;
    }
    if (received != s.bytes) {
        fprintf(stderr, "curve_raw: received %" PRIu64 " bytes, not %" PRIu64 "\n", received,
                s.bytes);
        return 1;
    }
    zmq_close(dealer);
    zmq_close(s.router);
    zmq_ctx_term(client_ctx);
    zmq_ctx_term(server_ctx);
    printf("curve_raw %" PRIu64 " %.6f\n", received, elapsed);
    return 0;
}
