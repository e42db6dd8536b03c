/*
 * mrxd_sync: the sync actor. Its loop serves:
 *   - the ZAP handler (inproc://zeromq.zap.01): a CURVE key is admitted
 *     only if it is an imported peer's, and its fingerprint becomes the
 *     connection's User-Id;
 *   - a ROUTER per listen endpoint (CURVE server): sessions keyed by the
 *     connection's routing id, their peer by its User-Id;
 *   - a DEALER per peer that lists an endpoint (CURVE client);
 *   - the changes the control workers push, and a timer for retries and
 *     periodic rounds.
 * Both ends of a session pull: CASES, then HEADS per case, then FEEDS for
 * what the other holds more of, ingested as mrx import would.
 */
#include "mrxd_sync.h"
#include "mrxd_log.h"
#include "mrxd_ops.h"
#include "mrx_case.h"
#include "mrx_curve.h"
#include "mrx_error.h"
#include "mrx_fs.h"
#include "mrx_ledger.h"
#include "mrx_request.h"
#include "mrx_store.h"
#include "mrx_view.h"
#include "mrx_wire.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_DOMAIN "mrx"
#define TICK_MS 1000               /* retry HELLO to peers not yet reached */
#define GREET_MS 50                /* a HELLO the socket could not take yet is tried again */
#define HELLO_RETRY_MS 1000        /* a HELLO with no answer is sent again */
#define SERVER_IDLE_MS (10 * 60 * 1000) /* a server session unheard from is dropped */
#define REDIAL_FIRST_MS 3000       /* a peer that never answered is dialed again, */
#define REDIAL_MAX_MS 60000        /* backing off to this */
#define FETCH_WINDOW 32            /* chunks a fetch lets the sender have in flight */
#define FETCH_STALL_MS 30000       /* a fetch with no chunk for this long is looked into */
#define SENDS_MAX 4                /* bundles sent to one session at a time */
#define CONNECT_GRACE_MS 10000     /* a round waits this long for a peer not connected */
#define HELLO_WAIT_MAX_MS 60000    /* and this long for a busy peer to answer its HELLO */
#define HEARTBEAT_IVL_MS 5000      /* ZMTP heartbeats on every connection */
#define HEARTBEAT_TIMEOUT_MS 15000 /* a connection silent this long is dropped */

/* A bundle this node may hold and lacks, to ask a peer for. */
typedef struct want {
    char case_id[MRX_SHA256_HEX_LEN + 1];
    char bundle[MRX_SHA256_HEX_LEN + 1];
    uint64_t size;                 /* as its bundle-added says */
} want;

/* The bundle being fetched from a session's peer. */
typedef struct fetch {
    want what;
    mrx_store_partial *partial;    /* where it goes */
    uint64_t uncredited;           /* chunks written since we last gave credit */
    uint64_t granted;              /* chunks the sender may send, all told */
    uint64_t needed;               /* chunks it has to send, all told */
    int64_t heard_at;              /* ms: last chunk (or the FETCH) */
    uint64_t probe;                /* s->asked once a CASES went out to tell a slow peer
                                    * from one that lost the FETCH; 0: none since */
} fetch;

/* A bundle being sent to a session's peer. */
typedef struct send {
    char case_id[MRX_SHA256_HEX_LEN + 1];
    char bundle[MRX_SHA256_HEX_LEN + 1];
    int fd;                        /* the stored bundle */
    uint64_t offset;               /* the next chunk */
    uint64_t size;                 /* the file's */
    uint64_t credit;               /* chunks the peer will take now */
    char *request;                 /* the peer's signed request, kept with bundle-served */
} send_t;

typedef struct session {
    char key[80];                  /* "c:FPR" (we connected) or "s:ROUTINGID" */
    char peer[MRX_FPR_LEN + 1];    /* whom it is with */
    zsock_t *sock;                 /* the DEALER (client) or the ROUTER (server) */
    zframe_t *rid;                 /* server: the connection's routing id */
    int client;                    /* we connected */
    int ready;                     /* HELLO exchanged */
    int64_t hello_at;              /* ms: when our last HELLO went out; 0: none since dialing */
    int64_t heard_at;              /* ms: when it last sent anything */
    int64_t noted_at;              /* ms: when its last contact was written down */
    char server_key[MRX_CURVE_Z85_LEN + 1]; /* client: the peer's CURVE key */
    char endpoint[MRX_ENDPOINT_MAX + 1];    /* client: where it listens */
    int64_t dialed_at;             /* client: ms, when the socket was made */
    zsock_t *monitor;              /* client: the DEALER's connection events (PAIR) */
    int64_t redial_ms;             /* client: how long to wait for an answer before dialing again */
    struct actor *a;               /* whose session it is */
    zlistx_t *wants;               /* of want: bundles to ask this peer for */
    fetch *in;                     /* the bundle coming from it, or NULL */
    send_t *out[SENDS_MAX];        /* bundles going to it */
    uint64_t asked, answered;      /* our CASES, HEADS and FEEDS, and its answers, all told
                                    * (answers come in order; asked - answered are pending) */
    int hello_wait;                /* client: our HELLO is not answered yet */
    zhashx_t *views_sent;          /* SHA-256 of each signed view sent in this session */
    zhashx_t *refused;             /* "CASE:FEED:HEAD" the peer offered and ingest refused */
} session;

typedef struct actor {
    const mrxd_info *info;         /* borrowed from main */
    mrx_node *node;                /* the actor's own handle */
    char curve_public[MRX_CURVE_Z85_LEN + 1];
    char curve_secret[MRX_CURVE_Z85_LEN + 1];
    zsock_t *pipe;                 /* to main */
    zsock_t *zap;                  /* REP for ZAP */
    zsock_t *changes;              /* PULL from the control workers */
    zsock_t *servers[MRX_CERT_ENDPOINTS_MAX];
    size_t n_servers;
    zhashx_t *sessions;            /* key -> session */
    zhashx_t *curve_keys;          /* CURVE public key -> peer fingerprint */
    struct timespec peers_mtime;   /* of peers/ when it was last read */
    int keys_stale;                /* a peer was added or removed since */
    zloop_t *loop;
    int64_t last_round;            /* ms: last periodic round */
    zhashx_t *fetching;            /* bundle id -> key of the session fetching it */
    zhashx_t *failed;              /* "BUNDLE:PEER" -> ms when a copy from there was refused */
    zsock_t *rounds;               /* ROUTER: rounds asked for by mrx sync */
    zlistx_t *waiters;             /* of waiter: mrx sync --wait callers */
} actor;

/* A caller of mrx sync --wait, and what its round brought. */
typedef struct waiter {
    zframe_t *rid;                 /* its routing id on a->rounds */
    int64_t started;               /* ms */
    size_t fetched;                /* bundles stored since */
    json_t *refused;               /* ids of bundles whose copy was refused since */
} waiter;

struct mrxd_sync {
    zactor_t *actor;
};

/* ---------------------------------------------------------------------
 * Sessions
 */

static void fetch_end(session *s);
static void send_end(session *s, size_t i);
static void plan_fetches(struct actor *a, session *s, const char *case_id);
static void send_views(struct actor *a, session *s, const char *case_id);
static void round_check(struct actor *a);
static void stop_sends(struct actor *a, const char *case_id);

static void
session_destroy(void **item)
{
    session *s = *item;

    if (!s)
        return;
    fetch_end(s);
    for (size_t i = 0; i < SENDS_MAX; i++)
        send_end(s, i);
    zlistx_destroy(&s->wants);
    zhashx_destroy(&s->views_sent);
    zhashx_destroy(&s->refused);
    if (s->monitor && s->a && s->a->loop)
        zloop_reader_end(s->a->loop, s->monitor);
    zsock_destroy(&s->monitor);
    if (s->client) {
        if (s->sock && s->a && s->a->loop)
            zloop_reader_end(s->a->loop, s->sock);
        zsock_destroy(&s->sock);
    }
    zframe_destroy(&s->rid);
    free(s);
    *item = NULL;
}

/* Send msg (consumed) to the session's peer, never blocking; -1 if it
 * could not take it now (it gets it in the next round). */
static int
session_send(session *s, zmsg_t **msg)
{
    if (!*msg || !s->sock)
        return -1;
    if (!s->client)
        zmsg_pushmem(*msg, zframe_data(s->rid), zframe_size(s->rid));
    zsock_set_sndtimeo(s->sock, 0);
    if (zmsg_send(msg, s->sock) != 0) {
        zmsg_destroy(msg);
        return -1;
    }
    return 0;
}

static void
want_destroy(void **item)
{
    free(*item);
    *item = NULL;
}

/* A new session (not yet in the table). */
static session *
session_new(actor *a, const char *key, const char *peer)
{
    session *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    if (!(s->wants = zlistx_new()) || !(s->views_sent = zhashx_new()) ||
        !(s->refused = zhashx_new())) {
        zlistx_destroy(&s->wants);
        zhashx_destroy(&s->views_sent);
        free(s);
        return NULL;
    }
    zlistx_set_destructor(s->wants, want_destroy);
    snprintf(s->key, sizeof s->key, "%s", key);
    snprintf(s->peer, sizeof s->peer, "%s", peer);
    s->a = a;
    return s;
}

static void
send_error(session *s, const char *command, mrx_wire_error code, const char *message)
{
    zmsg_t *msg = mrx_wire_error_msg(command, code, message);

    session_send(s, &msg);
}

static void
send_simple(session *s, mrx_wire_command command, const char *case_id)
{
    mrx_wire_msg *m = mrx_wire_msg_new(command);
    zmsg_t *msg;

    if (!m)
        return;
    if (case_id)
        strcpy(m->case_id, case_id);
    msg = mrx_wire_encode(m);
    if (session_send(s, &msg) == 0 && command != MRX_WIRE_NOTIFY)
        s->asked++; /* CASES and HEADS get an answer */
    mrx_wire_msg_destroy(&m);
}

static void
send_hello(actor *a, session *s)
{
    mrx_wire_msg *m = mrx_wire_msg_new(MRX_WIRE_HELLO);
    zmsg_t *msg;

    if (!m || !(m->text = strdup(mrx_cert_text(mrx_node_cert(a->node))))) {
        mrx_wire_msg_destroy(&m);
        return;
    }
    msg = mrx_wire_encode(m);
    /* not connected yet (ZMQ_IMMEDIATE): on_greet tries again soon */
    if (session_send(s, &msg) == 0) {
        s->hello_at = zclock_mono();
        s->hello_wait = s->client;
    }
    mrx_wire_msg_destroy(&m);
}

/* ---------------------------------------------------------------------
 * Cases
 */

static int
open_case(mrx_ledger **out, actor *a, const char *id)
{
    return mrx_case_open_ledger(out, a->node, id);
}

/* Whether fpr is the case's owner or an active member of it. */
static int
takes_part(actor *a, mrx_ledger *ledger, const char *fpr)
{
    const mrx_member *m;
    mrx_case *c = NULL;
    int yes;

    if (strcmp(fpr, mrx_ledger_owner(ledger)) == 0)
        return 1;
    if (mrx_case_load(&c, ledger, mrx_node_pgp(a->node)) < 0)
        return 0;
    yes = (m = mrx_case_member(c, fpr)) && m->active;
    mrx_case_destroy(&c);
    return yes;
}

/* The case of ledger folded (its membership), and its bundles. */
static int
case_bundles(actor *a, mrx_ledger *ledger, mrx_case **c, mrx_event **bundles, size_t *n)
{
    *bundles = NULL;
    *n = 0;
    if (mrx_case_load(c, ledger, mrx_node_pgp(a->node)) < 0 ||
        mrx_case_bundles(ledger, mrx_node_pgp(a->node), bundles, n, NULL) < 0)
        return -1;
    return 0;
}

/* Tell every ready session whose peer takes part in the case. */
static void
notify_peers(actor *a, const char *case_id, const session *except)
{
    mrx_ledger *ledger = NULL;
    session *s;

    if (open_case(&ledger, a, case_id) < 0)
        return;
    for (s = zhashx_first(a->sessions); s; s = zhashx_next(a->sessions))
        if (s != except && s->ready && takes_part(a, ledger, s->peer))
            send_simple(s, MRX_WIRE_NOTIFY, case_id);
    mrx_ledger_destroy(&ledger);
}

/* ---------------------------------------------------------------------
 * Serving the peer's requests
 */

static void
on_cases(actor *a, session *s)
{
    char (*ids)[MRX_SHA256_HEX_LEN + 1] = NULL;
    size_t n = 0;
    mrx_wire_msg *m = mrx_wire_msg_new(MRX_WIRE_CASES_OK);
    zmsg_t *msg;

    if (mrx_case_ids(a->node, &ids, &n) < 0)
        n = 0;
    if (n > MRX_WIRE_CASES_MAX)
        n = MRX_WIRE_CASES_MAX;
    if (!m || (n && !(m->cases = calloc(n, sizeof *m->cases)))) {
        send_error(s, "CASES", MRX_WIRE_EINTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        mrx_ledger *ledger = NULL;
        if (open_case(&ledger, a, ids[i]) == 0 && takes_part(a, ledger, s->peer)) {
            strcpy(m->cases[m->n_cases].id, ids[i]);
            strcpy(m->cases[m->n_cases].owner, mrx_ledger_owner(ledger));
            m->n_cases++;
        }
        mrx_ledger_destroy(&ledger);
    }
    msg = mrx_wire_encode(m);
    session_send(s, &msg);
out:
    mrx_wire_msg_destroy(&m);
    free(ids);
}

/* The case of a request, if the peer may see it; otherwise an ERROR is
 * sent (the same whether the case exists or not). */
static mrx_ledger *
served_case(actor *a, session *s, const char *command, const char *case_id)
{
    mrx_ledger *ledger = NULL;

    if (open_case(&ledger, a, case_id) < 0 || !takes_part(a, ledger, s->peer)) {
        mrx_ledger_destroy(&ledger);
        send_error(s, command, MRX_WIRE_EDENIED, "not a member of that case");
        mrxd_log(MRX_LOG_WARNING, "sync: peer %.16s asked for a case it is not in (%s)", s->peer,
                 command);
        return NULL;
    }
    return ledger;
}

static void
on_heads(actor *a, session *s, const mrx_wire_msg *req)
{
    mrx_ledger *ledger = served_case(a, s, "HEADS", req->case_id);
    mrx_ledger_head *heads = NULL;
    mrx_wire_msg *m = NULL;
    size_t n = 0;
    zmsg_t *msg;

    if (!ledger)
        return;
    if (mrx_ledger_heads(ledger, &heads, &n) < 0 || !(m = mrx_wire_msg_new(MRX_WIRE_HEADS_OK)) ||
        (n && !(m->feeds = calloc(n, sizeof *m->feeds)))) {
        send_error(s, "HEADS", MRX_WIRE_EINTERNAL, "cannot read the case");
        goto out;
    }
    strcpy(m->case_id, req->case_id);
    for (size_t i = 0; i < n && i < MRX_WIRE_FEEDS_MAX; i++) {
        strcpy(m->feeds[i].author, heads[i].fpr);
        strcpy(m->feeds[i].commit, heads[i].commit);
        m->feeds[i].events = heads[i].events;
        m->n_feeds++;
    }
    msg = mrx_wire_encode(m);
    session_send(s, &msg);
out:
    mrx_wire_msg_destroy(&m);
    free(heads);
    mrx_ledger_destroy(&ledger);
}

static void
on_feeds(actor *a, session *s, const mrx_wire_msg *req)
{
    mrx_ledger *ledger = served_case(a, s, "FEEDS", req->case_id);
    mrx_ledger_head *wants = NULL;
    mrx_wire_msg *m = NULL;
    void *pack = NULL;
    size_t len = 0;
    zmsg_t *msg;

    if (!ledger)
        return;
    if (req->n_feeds && !(wants = calloc(req->n_feeds, sizeof *wants))) {
        send_error(s, "FEEDS", MRX_WIRE_EINTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < req->n_feeds; i++) {
        strcpy(wants[i].fpr, req->feeds[i].author);
        strcpy(wants[i].commit, req->feeds[i].commit);
    }
    if (mrx_ledger_pack(ledger, wants, req->n_feeds, MRX_WIRE_PACK_EVENTS_MAX, &pack, &len) < 0 ||
        len > MRX_WIRE_PACK_MAX || !(m = mrx_wire_msg_new(MRX_WIRE_PACK)) ||
        (req->n_feeds && !(m->feeds = calloc(req->n_feeds, sizeof *m->feeds)))) {
        send_error(s, "FEEDS", len > MRX_WIRE_PACK_MAX ? MRX_WIRE_ELIMIT : MRX_WIRE_EINTERNAL,
                   "cannot pack those feeds");
        goto out;
    }
    strcpy(m->case_id, req->case_id);
    for (size_t i = 0; i < req->n_feeds; i++)
        if (wants[i].commit[0]) {
            strcpy(m->feeds[m->n_feeds].author, wants[i].fpr);
            strcpy(m->feeds[m->n_feeds].commit, wants[i].commit);
            m->n_feeds++;
        }
    m->data = pack;
    m->data_len = len;
    pack = NULL;
    msg = mrx_wire_encode(m);
    session_send(s, &msg);
out:
    free(pack);
    free(wants);
    mrx_wire_msg_destroy(&m);
    mrx_ledger_destroy(&ledger);
}

/* ---------------------------------------------------------------------
 * Pulling from the peer
 */

static void
on_cases_ok(actor *a, session *s, const mrx_wire_msg *m)
{
    for (size_t i = 0; i < m->n_cases; i++) {
        mrx_ledger *ledger = NULL;
        if (open_case(&ledger, a, m->cases[i].id) < 0) {
            /* a case we do not hold yet: take it up empty; the first
             * ingest proves its id, or it goes again */
            if (mrx_ledger_adopt(&ledger, mrx_node_cases(a->node), m->cases[i].id,
                                 m->cases[i].owner) < 0) {
                mrxd_log(MRX_LOG_WARNING, "sync: cannot take up case %.12s: %s", m->cases[i].id,
                         mrx_error_last());
                continue;
            }
            mrxd_log(MRX_LOG_INFO, "sync: taking up case %.12s from peer %.16s", m->cases[i].id,
                     s->peer);
        }
        mrx_ledger_destroy(&ledger);
        send_simple(s, MRX_WIRE_HEADS, m->cases[i].id);
    }
}

static void
refused_key(char *key, size_t len, const char *case_id, const char *fpr, const char *head)
{
    snprintf(key, len, "%s:%s:%s", case_id, fpr, head);
}

/* Whether s's peer offered that head of a feed in this session, and
 * ingest refused it. */
static int
was_refused(session *s, const char *case_id, const char *fpr, const char *head)
{
    char key[MRX_SHA256_HEX_LEN + MRX_FPR_LEN + MRX_COMMIT_HEX_LEN + 3];

    refused_key(key, sizeof key, case_id, fpr, head);
    return zhashx_lookup(s->refused, key) != NULL;
}

/* Remember the heads of a pack that ingest did not take: the peer
 * offering a feed that way again is not asked for it again in this
 * session, or before the next periodic round (a refusal may have been
 * for now only). Meanwhile the case counts as in step with the peer, so
 * views still flow: they are how the others learn of a fork. */
static void
note_refused(session *s, const mrx_wire_msg *m, const mrx_ledger_head *after, size_t n_after)
{
    char key[MRX_SHA256_HEX_LEN + MRX_FPR_LEN + MRX_COMMIT_HEX_LEN + 3];

    if (zhashx_size(s->refused) >= 4096)
        zhashx_purge(s->refused);
    for (size_t i = 0; i < m->n_feeds; i++) {
        int taken = 0;
        for (size_t j = 0; j < n_after && !taken; j++)
            taken = strcmp(after[j].fpr, m->feeds[i].author) == 0 &&
                    strcmp(after[j].commit, m->feeds[i].commit) == 0;
        if (taken)
            continue;
        refused_key(key, sizeof key, m->case_id, m->feeds[i].author, m->feeds[i].commit);
        zhashx_update(s->refused, key, (void *)1);
    }
}

static void
on_heads_ok(actor *a, session *s, const mrx_wire_msg *m)
{
    mrx_ledger *ledger = NULL;
    mrx_ledger_head *ours = NULL;
    mrx_wire_msg *req = NULL;
    size_t n = 0;
    zmsg_t *msg;

    if (open_case(&ledger, a, m->case_id) < 0 || mrx_ledger_heads(ledger, &ours, &n) < 0 ||
        !(req = mrx_wire_msg_new(MRX_WIRE_FEEDS)) ||
        (m->n_feeds && !(req->feeds = calloc(m->n_feeds, sizeof *req->feeds))))
        goto out;
    strcpy(req->case_id, m->case_id);
    for (size_t i = 0; i < m->n_feeds; i++) {
        const mrx_ledger_head *mine = NULL;
        for (size_t j = 0; j < n; j++)
            if (strcmp(ours[j].fpr, m->feeds[i].author) == 0)
                mine = &ours[j];
        /* what the peer holds more of; and a feed as long as ours that
         * ends elsewhere, a fork: ingest refuses it and keeps it as
         * evidence */
        if (mine && (strcmp(mine->commit, m->feeds[i].commit) == 0 ||
                     mine->events > m->feeds[i].events))
            continue;
        if (was_refused(s, m->case_id, m->feeds[i].author, m->feeds[i].commit))
            continue; /* kept as evidence already; asking again changes nothing */
        strcpy(req->feeds[req->n_feeds].author, m->feeds[i].author);
        strcpy(req->feeds[req->n_feeds].commit, mine ? mine->commit : "");
        req->n_feeds++;
    }
    if (req->n_feeds) {
        msg = mrx_wire_encode(req);
        if (session_send(s, &msg) == 0)
            s->asked++;
    } else {
        /* the ledger is as far as the peer's: now views, and bundles */
        send_views(a, s, m->case_id);
        plan_fetches(a, s, m->case_id);
    }
out:
    mrx_wire_msg_destroy(&req);
    free(ours);
    mrx_ledger_destroy(&ledger);
}

/* Whether two lists of heads differ. */
static int
heads_differ(const mrx_ledger_head *a, size_t na, const mrx_ledger_head *b, size_t nb)
{
    if (na != nb)
        return 1;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i].fpr, b[i].fpr) != 0 || strcmp(a[i].commit, b[i].commit) != 0)
            return 1;
    return 0;
}

static void
on_pack(actor *a, session *s, const mrx_wire_msg *m)
{
    mrx_ledger *ledger = NULL;
    mrx_ledger_head *heads = NULL, *before = NULL, *after = NULL;
    size_t n_before = 0, n_after = 0;
    char *dir = NULL, *report = NULL;
    int rc, refused;

    if (open_case(&ledger, a, m->case_id) < 0)
        return;
    if (m->n_feeds && !(heads = calloc(m->n_feeds, sizeof *heads)))
        goto out;
    for (size_t i = 0; i < m->n_feeds; i++) {
        strcpy(heads[i].fpr, m->feeds[i].author);
        strcpy(heads[i].commit, m->feeds[i].commit);
    }
    mrx_ledger_heads(ledger, &before, &n_before);
    if ((rc = mrx_ledger_unpack(ledger, &dir, m->data, m->data_len, heads, m->n_feeds)) < 0) {
        mrxd_log(MRX_LOG_WARNING, "sync: peer %.16s, case %.12s: pack refused: %s", s->peer,
                 m->case_id, mrx_error_last());
        goto out;
    }
    /* exactly the checks of mrx import: owner's feed first, each feed
     * whole or not at all, a rewritten one kept as evidence */
    if ((refused = mrx_case_ingest(ledger, a->node, dir, s->peer, &report) < 0))
        mrxd_log(MRX_LOG_WARNING, "sync: peer %.16s, case %.12s: %s", s->peer, m->case_id,
                 mrx_error_last());
    if (report && report[0]) {
        /* one log line: the report's lines joined */
        for (char *p = report; *p; p++)
            if (*p == '\n')
                *p = p[1] ? ';' : '\0';
        mrxd_log(MRX_LOG_INFO, "sync: peer %.16s, case %.12s: %s", s->peer, m->case_id, report);
    }
    mrx_ledger_heads(ledger, &after, &n_after);
    if (refused)
        note_refused(s, m, after, n_after);
    if (heads_differ(before, n_before, after, n_after)) {
        /* more may wait beyond one pack; who else takes part hears; and
         * a member removed gets no more bundles */
        send_simple(s, MRX_WIRE_HEADS, m->case_id);
        notify_peers(a, m->case_id, s);
        stop_sends(a, m->case_id);
    } else if (refused) {
        /* nothing taken: asked again, the heads show us in step (the
         * refused ones are not asked for), and views and bundles follow */
        send_simple(s, MRX_WIRE_HEADS, m->case_id);
    }
out:
    if (dir)
        mrx_fs_remove_tree(dir);
    free(dir);
    free(report);
    free(heads);
    free(before);
    free(after);
    mrx_ledger_destroy(&ledger);
}

/* ---------------------------------------------------------------------
 * Bundles: the puller asks for those it may hold and lacks, one at a
 * time from each peer, with credit for FETCH_WINDOW chunks ahead; the
 * sender sends no more than it has credit for.
 */

/* Write down, in our own feed, that bundle went to or came from peer;
 * an event the ledger would not take from us is not written. */
static void
record_transfer(actor *a, const char *case_id, mrx_event_type type, const char *bundle,
                const char *peer, const char *request)
{
    mrx_ledger_author author = {mrx_node_pgp(a->node), mrx_node_config(a->node)->fpr,
                                mrx_node_config(a->node)->name};
    mrx_ledger *ledger = NULL;
    mrx_case *c = NULL;
    mrx_event ev;

    if (open_case(&ledger, a, case_id) < 0 ||
        mrx_case_load(&c, ledger, mrx_node_pgp(a->node)) < 0 ||
        mrx_case_may_write(c, author.fpr, type, MRX_KIND_RECORDS) < 0)
        goto out;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    strcpy(ev.bundle, bundle);
    strcpy(ev.peer, peer);
    if (mrx_ledger_append(ledger, &author, &ev, request, NULL) < 0)
        mrxd_log(MRX_LOG_WARNING, "sync: case %.12s: cannot record %s: %s", case_id,
                 mrx_event_type_name(type), mrx_error_last());
    else
        notify_peers(a, case_id, NULL);
out:
    mrx_case_destroy(&c);
    mrx_ledger_destroy(&ledger);
}

/* Stop fetching from s; what arrived stays for a later resume. */
static void
fetch_end(session *s)
{
    if (!s->in)
        return;
    mrx_store_partial_destroy(&s->in->partial);
    if (s->a && s->a->fetching)
        zhashx_delete(s->a->fetching, s->in->what.bundle);
    free(s->in);
    s->in = NULL;
}

/* Ask s's peer for the bundle being fetched, from offset, in a request
 * signed by this node that the peer keeps as its witness. */
static int
send_fetch(actor *a, session *s, uint64_t offset)
{
    mrx_request req;
    mrx_wire_msg m;
    size_t len;
    zmsg_t *msg;

    memset(&req, 0, sizeof req);
    strcpy(req.case_id, s->in->what.case_id);
    strcpy(req.bundle, s->in->what.bundle);
    strcpy(req.server, s->peer);
    strcpy(req.reader, mrx_node_config(a->node)->fpr);
    req.offset = offset;
    req.time = time(NULL);
    memset(&m, 0, sizeof m);
    if (mrx_request_make(&m.text, &len, mrx_node_pgp(a->node), &req) < 0) {
        mrxd_log(MRX_LOG_WARNING, "sync: case %.12s: cannot sign a request: %s", req.case_id,
                 mrx_error_last());
        return -1;
    }
    m.command = MRX_WIRE_FETCH;
    strcpy(m.case_id, req.case_id);
    strcpy(m.bundle, req.bundle);
    m.offset = offset;
    m.credit = FETCH_WINDOW;
    msg = mrx_wire_encode(&m);
    free(m.text);
    return session_send(s, &msg);
}

static void fetch_next(actor *a, session *s);

static void
failure_key(char *key, size_t len, const session *s, const char *bundle)
{
    snprintf(key, len, "%s:%s", bundle, s->peer);
}

static void
note_failure(actor *a, session *s, const char *bundle)
{
    char key[MRX_SHA256_HEX_LEN + MRX_FPR_LEN + 2];

    failure_key(key, sizeof key, s, bundle);
    zhashx_update(a->failed, key, (void *)(intptr_t)zclock_mono());
}

/* Whether s's peer sent a bad copy of bundle within a sync interval. */
static int
failed_lately(actor *a, session *s, const char *bundle)
{
    char key[MRX_SHA256_HEX_LEN + MRX_FPR_LEN + 2];
    int64_t at, interval;

    failure_key(key, sizeof key, s, bundle);
    if (!zhashx_lookup(a->failed, key))
        return 0;
    at = (int64_t)(intptr_t)zhashx_lookup(a->failed, key);
    pthread_mutex_lock(a->info->config_lock);
    interval = a->info->config->sync_interval;
    pthread_mutex_unlock(a->info->config_lock);
    if (zclock_mono() - at < interval * 1000)
        return 1;
    zhashx_delete(a->failed, key);
    return 0;
}

/* All of the bundle is in: keep it if it is what the ledger names. */
static void
fetch_done(actor *a, session *s)
{
    want what = s->in->what;
    int rc = mrx_store_partial_commit(&s->in->partial);

    fetch_end(s);
    if (rc < 0) {
        /* the id names the bundle; a corrupt copy is never stored, and
         * that peer is not asked for it again before the next round */
        mrxd_log(MRX_LOG_WARNING, "sync: peer %.16s, case %.12s: %s", s->peer, what.case_id,
                 mrx_error_last());
        note_failure(a, s, what.bundle);
        for (waiter *w = zlistx_first(a->waiters); w; w = zlistx_next(a->waiters))
            json_array_append_new(w->refused, json_string(what.bundle));
    } else {
        for (waiter *w = zlistx_first(a->waiters); w; w = zlistx_next(a->waiters))
            w->fetched++;
        mrxd_log(MRX_LOG_INFO, "sync: peer %.16s, case %.12s: bundle %s stored (%llu bytes)",
                 s->peer, what.case_id, what.bundle, (unsigned long long)what.size);
        record_transfer(a, what.case_id, MRX_EV_BUNDLE_FETCHED, what.bundle, s->peer, NULL);
    }
    fetch_next(a, s);
}

/* Ask s's peer for the next bundle wanted from it, unless one is coming. */
static void
fetch_next(actor *a, session *s)
{
    want *w;

    while (!s->in && s->ready && (w = zlistx_first(s->wants))) {
        want what = *w;
        uint64_t offset = 0;
        mrx_store_partial *partial = NULL;

        zlistx_delete(s->wants, zlistx_cursor(s->wants));
        if (zhashx_lookup(a->fetching, what.bundle) ||
            mrx_store_has(a->node, what.case_id, what.bundle))
            continue;
        if (mrx_store_partial_open(&partial, &offset, a->node, what.case_id, what.bundle,
                                   what.size) < 0) {
            mrxd_log(MRX_LOG_WARNING, "sync: case %.12s: %s", what.case_id, mrx_error_last());
            continue;
        }
        if (!(s->in = calloc(1, sizeof *s->in))) {
            mrx_store_partial_destroy(&partial);
            return;
        }
        s->in->what = what;
        s->in->partial = partial;
        s->in->heard_at = zclock_mono();
        zhashx_insert(a->fetching, what.bundle, s->key);
        if (mrx_store_partial_complete(partial)) {
            fetch_done(a, s); /* it all arrived before an interruption */
            return;
        }
        mrxd_log(MRX_LOG_INFO, "sync: peer %.16s, case %.12s: fetching bundle %.16s, %s %llu of "
                 "%llu bytes",
                 s->peer, what.case_id, what.bundle, offset ? "resuming at" : "from",
                 (unsigned long long)offset, (unsigned long long)what.size);
        s->in->needed = (what.size - offset + MRX_STORE_CHUNK - 1) / MRX_STORE_CHUNK;
        s->in->granted = FETCH_WINDOW;
        if (send_fetch(a, s, offset) < 0)
            fetch_end(s);
    }
}

/* The ledger of case_id is as far as s's peer's: want every bundle of it
 * this node may hold and lacks. */
static void
plan_fetches(actor *a, session *s, const char *case_id)
{
    mrx_ledger *ledger = NULL;
    mrx_event *bundles = NULL;
    mrx_case *c = NULL;
    size_t n = 0;

    if (open_case(&ledger, a, case_id) < 0 || case_bundles(a, ledger, &c, &bundles, &n) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        want *w;
        int listed = 0;
        if (!mrx_case_may_hold(c, mrx_node_config(a->node)->fpr, &bundles[i]) ||
            mrx_store_has(a->node, case_id, bundles[i].bundle) ||
            failed_lately(a, s, bundles[i].bundle) ||
            (s->in && strcmp(s->in->what.bundle, bundles[i].bundle) == 0))
            continue;
        for (w = zlistx_first(s->wants); w && !listed; w = zlistx_next(s->wants))
            listed = strcmp(w->bundle, bundles[i].bundle) == 0;
        if (listed || !(w = calloc(1, sizeof *w)))
            continue;
        strcpy(w->case_id, case_id);
        strcpy(w->bundle, bundles[i].bundle);
        w->size = bundles[i].size;
        zlistx_add_end(s->wants, w);
    }
    fetch_next(a, s);
out:
    free(bundles);
    mrx_case_destroy(&c);
    mrx_ledger_destroy(&ledger);
}

static void
on_chunk(actor *a, session *s, const mrx_wire_msg *m)
{
    fetch *f = s->in;
    mrx_wire_msg credit;
    zmsg_t *msg;

    /* what a fetch given up still had in flight is dropped */
    if (!f || strcmp(f->what.bundle, m->bundle) != 0 || strcmp(f->what.case_id, m->case_id) != 0)
        return;
    f->heard_at = zclock_mono();
    f->probe = 0;
    if (mrx_store_partial_write(f->partial, m->offset, m->data, m->data_len) < 0) {
        mrxd_log(MRX_LOG_WARNING, "sync: peer %.16s, case %.12s: %s", s->peer, m->case_id,
                 mrx_error_last());
        fetch_end(s);
        fetch_next(a, s);
        return;
    }
    if (mrx_store_partial_complete(f->partial)) {
        fetch_done(a, s);
        return;
    }
    /* credit goes back in batches, half a window at a time, and never
     * for more than is left */
    if (++f->uncredited >= FETCH_WINDOW / 2 && f->granted < f->needed) {
        if (f->uncredited > f->needed - f->granted)
            f->uncredited = f->needed - f->granted;
        f->granted += f->uncredited;
        memset(&credit, 0, sizeof credit);
        credit.command = MRX_WIRE_CREDIT;
        strcpy(credit.case_id, m->case_id);
        strcpy(credit.bundle, m->bundle);
        credit.credit = f->uncredited;
        f->uncredited = 0;
        msg = mrx_wire_encode(&credit);
        session_send(s, &msg);
    }
}

static void
send_end(session *s, size_t i)
{
    if (!s->out[i])
        return;
    close(s->out[i]->fd);
    free(s->out[i]->request);
    free(s->out[i]);
    s->out[i] = NULL;
}

/* Send as many chunks of out[i] as the peer has credit for; once the
 * last is out, the serving goes into our feed. */
static void
send_chunks(actor *a, session *s, size_t i)
{
    send_t *o = s->out[i];

    while (o->credit > 0 && o->offset < o->size) {
        size_t len = o->size - o->offset < MRX_WIRE_CHUNK_MAX ? (size_t)(o->size - o->offset)
                                                               : MRX_WIRE_CHUNK_MAX;
        /* read straight into the frame that goes out */
        zframe_t *data = zframe_new(NULL, len);
        zmsg_t *msg;
        if (!data || mrx_fs_read_full(o->fd, zframe_data(data), len) != (ssize_t)len) {
            zframe_destroy(&data);
            mrxd_log(MRX_LOG_WARNING, "sync: case %.12s: cannot read bundle %.16s", o->case_id,
                     o->bundle);
            send_end(s, i);
            return;
        }
        msg = mrx_wire_encode_chunk(o->case_id, o->bundle, o->offset, &data);
        if (session_send(s, &msg) < 0) {
            /* the peer's fetch stalls and is asked again */
            send_end(s, i);
            return;
        }
        o->offset += len;
        o->credit--;
    }
    if (o->offset == o->size) {
        char case_id[MRX_SHA256_HEX_LEN + 1], bundle[MRX_SHA256_HEX_LEN + 1];
        char *request = o->request;
        strcpy(case_id, o->case_id);
        strcpy(bundle, o->bundle);
        o->request = NULL;
        send_end(s, i);
        mrxd_log(MRX_LOG_INFO, "sync: peer %.16s, case %.12s: bundle %.16s sent", s->peer,
                 case_id, bundle);
        record_transfer(a, case_id, MRX_EV_BUNDLE_SERVED, bundle, s->peer, request);
        free(request);
    }
}

/* The membership of case_id changed: bundles on their way to a peer
 * that may no longer hold them stop at once. */
static void
stop_sends(actor *a, const char *case_id)
{
    mrx_ledger *ledger = NULL;
    mrx_event *bundles = NULL;
    mrx_case *c = NULL;
    size_t n = 0;

    if (open_case(&ledger, a, case_id) < 0 || case_bundles(a, ledger, &c, &bundles, &n) < 0)
        goto out;
    for (session *s = zhashx_first(a->sessions); s; s = zhashx_next(a->sessions))
        for (size_t i = 0; i < SENDS_MAX; i++) {
            const mrx_event *added = NULL;
            if (!s->out[i] || strcmp(s->out[i]->case_id, case_id) != 0)
                continue;
            for (size_t j = 0; j < n && !added; j++)
                if (strcmp(bundles[j].bundle, s->out[i]->bundle) == 0)
                    added = &bundles[j];
            if (added && takes_part(a, ledger, s->peer) && mrx_case_may_hold(c, s->peer, added))
                continue;
            mrxd_log(MRX_LOG_INFO, "sync: peer %.16s, case %.12s: bundle %.16s stopped: no longer "
                     "the peer's to hold",
                     s->peer, case_id, s->out[i]->bundle);
            send_end(s, i);
        }
out:
    free(bundles);
    mrx_case_destroy(&c);
    mrx_ledger_destroy(&ledger);
}

/* A bundle of the case that the peer may hold and we hold, opened; or an
 * ERROR sent. */
static int
served_bundle(actor *a, session *s, const mrx_wire_msg *req, int *fd, uint64_t *size)
{
    mrx_ledger *ledger = served_case(a, s, "FETCH", req->case_id);
    mrx_event *bundles = NULL, *found = NULL;
    mrx_case *c = NULL;
    char *path = NULL;
    struct stat st;
    size_t n = 0;
    int rc = -1;

    *fd = -1;
    if (!ledger)
        return -1;
    if (case_bundles(a, ledger, &c, &bundles, &n) < 0) {
        send_error(s, "FETCH", MRX_WIRE_EINTERNAL, "cannot read the case");
        goto out;
    }
    for (size_t i = 0; i < n && !found; i++)
        if (strcmp(bundles[i].bundle, req->bundle) == 0)
            found = &bundles[i];
    if (found && !mrx_case_may_hold(c, s->peer, found)) {
        send_error(s, "FETCH", MRX_WIRE_EDENIED, "that bundle is not yours to hold");
        mrxd_log(MRX_LOG_WARNING, "sync: peer %.16s asked for a bundle it may not hold", s->peer);
        goto out;
    }
    if (!found || !(path = mrx_store_path(a->node, req->case_id, req->bundle)) ||
        (*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 || fstat(*fd, &st) != 0) {
        send_error(s, "FETCH", MRX_WIRE_ENOTFOUND, "no such bundle here");
        goto out;
    }
    if (req->offset > (uint64_t)st.st_size) {
        send_error(s, "FETCH", MRX_WIRE_EMALFORMED, "offset beyond the bundle");
        goto out;
    }
    *size = (uint64_t)st.st_size;
    rc = 0;
out:
    if (rc < 0 && *fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    free(path);
    free(bundles);
    mrx_case_destroy(&c);
    mrx_ledger_destroy(&ledger);
    return rc;
}

/* Whether FETCH m carries a request signed by s's peer for exactly what
 * it asks of this node; if not, it is refused with the reason. */
static int
witnessed(actor *a, session *s, const mrx_wire_msg *m)
{
    const char *why = NULL;
    mrx_request req;

    if (mrx_request_check(&req, mrx_node_pgp(a->node), m->text, strlen(m->text), s->peer) < 0)
        why = "its signed request does not verify as its own";
    else if (req.offset != m->offset)
        why = "its request asks from another offset";
    else
        mrx_request_matches(&req, m->case_id, m->bundle, mrx_node_config(a->node)->fpr, &why);
    if (!why)
        return 1;
    mrxd_log(MRX_LOG_WARNING, "sync: peer %.16s, case %.12s: FETCH refused: %s", s->peer,
             m->case_id, why);
    send_error(s, "FETCH", MRX_WIRE_EDENIED, why);
    return 0;
}

static void
on_fetch(actor *a, session *s, const mrx_wire_msg *m)
{
    size_t slot = SENDS_MAX;
    uint64_t size = 0;
    send_t *o;
    int fd;

    for (size_t i = 0; i < SENDS_MAX; i++)
        if (s->out[i] && strcmp(s->out[i]->bundle, m->bundle) == 0)
            send_end(s, i); /* asked again: from where it says now */
    for (size_t i = 0; i < SENDS_MAX && slot == SENDS_MAX; i++)
        if (!s->out[i])
            slot = i;
    if (slot == SENDS_MAX) {
        send_error(s, "FETCH", MRX_WIRE_ELIMIT, "too many bundles at once");
        return;
    }
    if (served_bundle(a, s, m, &fd, &size) < 0)
        return;
    if (!witnessed(a, s, m)) {
        close(fd);
        return;
    }
    if (!(o = calloc(1, sizeof *o)) || !(o->request = strdup(m->text)) ||
        lseek(fd, (off_t)m->offset, SEEK_SET) < 0) {
        if (o)
            free(o->request);
        free(o);
        close(fd);
        send_error(s, "FETCH", MRX_WIRE_EINTERNAL, "cannot read that bundle");
        return;
    }
    strcpy(o->case_id, m->case_id);
    strcpy(o->bundle, m->bundle);
    o->fd = fd;
    o->offset = m->offset;
    o->size = size;
    o->credit = m->credit;
    s->out[slot] = o;
    mrxd_log(MRX_LOG_INFO, "sync: peer %.16s, case %.12s: sending bundle %.16s from %llu of %llu "
             "bytes",
             s->peer, m->case_id, m->bundle, (unsigned long long)m->offset,
             (unsigned long long)size);
    send_chunks(a, s, slot);
}

static void
on_credit(actor *a, session *s, const mrx_wire_msg *m)
{
    for (size_t i = 0; i < SENDS_MAX; i++)
        if (s->out[i] && strcmp(s->out[i]->bundle, m->bundle) == 0 &&
            strcmp(s->out[i]->case_id, m->case_id) == 0) {
            s->out[i]->credit += m->credit;
            if (s->out[i]->credit > MRX_WIRE_CREDIT_MAX)
                s->out[i]->credit = MRX_WIRE_CREDIT_MAX;
            send_chunks(a, s, i);
            return;
        }
    send_error(s, "CREDIT", MRX_WIRE_ENOTFOUND, "no such bundle being sent");
}

/* ---------------------------------------------------------------------
 * Views (docs/views.md): each node signs what it holds of a case and
 * passes on what others signed, so that a node showing two histories is
 * caught by whoever sees both.
 */

static char *
case_dir(actor *a, const char *case_id)
{
    return mrx_fs_join(mrx_node_cases(a->node), case_id);
}

/* Whether our kept view of the case says what its ledger holds now, and
 * is fresh: made within half a sync interval. */
static int
view_current(actor *a, const mrx_view *v, mrx_ledger *ledger)
{
    mrx_ledger_head *heads = NULL;
    size_t n = 0;
    long interval;
    int same;

    pthread_mutex_lock(a->info->config_lock);
    interval = a->info->config->sync_interval;
    pthread_mutex_unlock(a->info->config_lock);
    if (time(NULL) - mrx_view_time(v) >= interval / 2 || mrx_ledger_heads(ledger, &heads, &n) < 0)
        return 0;
    same = n == mrx_view_feed_count(v);
    for (size_t i = 0; i < n && same; i++) {
        const mrx_ledger_head *f = NULL;
        for (size_t j = 0; j < n && !f; j++)
            if (strcmp(mrx_view_feed(v, j)->fpr, heads[i].fpr) == 0)
                f = mrx_view_feed(v, j);
        same = f && strcmp(f->commit, heads[i].commit) == 0 && f->events == heads[i].events;
    }
    free(heads);
    return same;
}

/* Sign our view of the case anew if what we hold moved (or it aged),
 * and keep it with the others'. */
static void
renew_view(actor *a, const char *case_id, const char *dir)
{
    const char *me = mrx_node_config(a->node)->fpr;
    mrx_ledger *ledger = NULL;
    mrx_view *v = NULL;
    char *text = NULL;
    size_t len = 0;
    int kept = 0;

    if (open_case(&ledger, a, case_id) < 0)
        return;
    if (mrx_view_load(&v, mrx_node_pgp(a->node), dir, me) == 0 && view_current(a, v, ledger))
        goto out;
    mrx_view_destroy(&v);
    if (mrx_view_make(&text, &len, ledger, mrx_node_pgp(a->node), me, time(NULL)) < 0 ||
        mrx_view_parse(&v, mrx_node_pgp(a->node), text, len) < 0 ||
        mrx_view_keep(&kept, NULL, mrx_node_pgp(a->node), dir, v) < 0)
        mrxd_log(MRX_LOG_WARNING, "sync: case %.12s: cannot sign our view: %s", case_id,
                 mrx_error_last());
out:
    free(text);
    mrx_view_destroy(&v);
    mrx_ledger_destroy(&ledger);
}

/* Send a view to s's peer, unless it signed it or had it from us. */
static void
send_view(session *s, const mrx_view *v)
{
    char hash[MRX_SHA256_HEX_LEN + 1];
    size_t len = 0;
    const char *text = mrx_view_text(v, &len);
    mrx_wire_msg m;
    zmsg_t *msg;

    if (strcmp(mrx_view_node(v), s->peer) == 0 || mrx_sha256_hex(hash, text, len) < 0 ||
        zhashx_lookup(s->views_sent, hash))
        return;
    memset(&m, 0, sizeof m);
    m.command = MRX_WIRE_VIEW;
    strcpy(m.case_id, mrx_view_case_id(v));
    m.text = (char *)text;
    msg = mrx_wire_encode(&m);
    if (session_send(s, &msg) == 0)
        zhashx_insert(s->views_sent, hash, (void *)1);
}

/* The ledger of case_id is as far as s's peer's: send it our view and
 * every view we keep that it has not had from us in this session. */
static void
send_views(actor *a, session *s, const char *case_id)
{
    char *dir = case_dir(a, case_id);
    mrx_view **views = NULL;
    size_t n = 0;

    if (!dir)
        return;
    renew_view(a, case_id, dir);
    if (mrx_view_list(&views, &n, mrx_node_pgp(a->node), dir) < 0)
        n = 0;
    for (size_t i = 0; i < n; i++)
        send_view(s, views[i]);
    mrx_view_list_destroy(&views, n);
    free(dir);
}

/* A view from the peer: its own or one it passes on. Kept if it verifies
 * and is by the case's owner or one ever a member; two that cannot both
 * be true are kept as evidence, for the audit. */
static void
on_view(actor *a, session *s, const mrx_wire_msg *m)
{
    mrx_ledger *ledger = served_case(a, s, "VIEW", m->case_id);
    mrx_view *v = NULL;
    mrx_case *c = NULL;
    char *dir = NULL, *why = NULL;
    int kept = 0;

    if (!ledger)
        return;
    if (mrx_view_parse(&v, mrx_node_pgp(a->node), m->text, strlen(m->text)) < 0 ||
        strcmp(mrx_view_case_id(v), m->case_id) != 0) {
        send_error(s, "VIEW", MRX_WIRE_EMALFORMED, v ? "a view of another case" : mrx_error_last());
        mrxd_log(MRX_LOG_WARNING, "sync: peer %.16s, case %.12s: view refused: %s", s->peer,
                 m->case_id, v ? "a view of another case" : mrx_error_last());
        goto out;
    }
    if (mrx_case_load(&c, ledger, mrx_node_pgp(a->node)) < 0 ||
        (strcmp(mrx_view_node(v), mrx_ledger_owner(ledger)) != 0 &&
         !mrx_case_member(c, mrx_view_node(v)))) {
        send_error(s, "VIEW", MRX_WIRE_EDENIED, "a view by a node not in the case");
        goto out;
    }
    if (!(dir = case_dir(a, m->case_id)) ||
        mrx_view_keep(&kept, &why, mrx_node_pgp(a->node), dir, v) < 0) {
        mrxd_log(MRX_LOG_WARNING, "sync: peer %.16s, case %.12s: cannot keep a view: %s", s->peer,
                 m->case_id, mrx_error_last());
        goto out;
    }
    /* what is new here goes on at once to the others in the case */
    if (kept & (MRX_VIEW_KEPT_LATEST | MRX_VIEW_KEPT_EVIDENCE))
        for (session *o = zhashx_first(a->sessions); o; o = zhashx_next(a->sessions))
            if (o != s && o->ready && takes_part(a, ledger, o->peer))
                send_view(o, v);
    if (kept & MRX_VIEW_KEPT_EVIDENCE)
        mrxd_log(MRX_LOG_WARNING, "sync: case %.12s: node %.16s signed two views that cannot both "
                 "be true (%s); both kept as evidence",
                 m->case_id, mrx_view_node(v), why ? why : "see views/conflicts");
out:
    free(why);
    free(dir);
    mrx_case_destroy(&c);
    mrx_view_destroy(&v);
    mrx_ledger_destroy(&ledger);
}

static void
on_hello(actor *a, session *s, const mrx_wire_msg *m)
{
    mrx_cert *cert = NULL;

    /* the certificate we hold for the peer was checked when imported */
    if (mrx_node_peer_holds(a->node, s->peer, m->text, strlen(m->text)))
        goto greet;
    if (mrx_cert_parse(&cert, m->text, strlen(m->text), mrx_node_scratch(a->node)) < 0 ||
        strcmp(mrx_cert_fpr(cert), s->peer) != 0) {
        send_error(s, "HELLO", MRX_WIRE_EDENIED, "that certificate is not this connection's key");
        mrxd_log(MRX_LOG_WARNING, "sync: peer %.16s sent a certificate not its own", s->peer);
        mrx_cert_destroy(&cert);
        return;
    }
    /* a newer certificate of the peer replaces ours; an equal or older
     * one is simply what we have */
    mrx_cert_destroy(&cert);
    if (mrx_node_peer_add(a->node, NULL, m->text, strlen(m->text)) == 0) {
        a->keys_stale = 1;
        mrxd_log(MRX_LOG_INFO, "sync: peer %.16s renewed its certificate", s->peer);
    }
greet:
    if (!s->client)
        send_hello(a, s); /* a second HELLO starts the session again */
    if (!s->ready)
        mrxd_log(MRX_LOG_INFO, "sync: session with peer %.16s (%s)", s->peer,
                 s->client ? "we connected" : "it connected");
    /* a session new to us starts its bundles afresh; a HELLO on one in
     * progress (a new round) leaves transfers running, or a bundle sent
     * whole would be sent, and recorded as served, twice */
    if (!s->ready) {
        fetch_end(s);
        zlistx_purge(s->wants);
        zhashx_purge(s->refused);
        for (size_t i = 0; i < SENDS_MAX; i++)
            send_end(s, i);
        s->answered = s->asked; /* nothing is owed on a new session */
    }
    s->ready = 1;
    s->hello_wait = 0;
    s->redial_ms = REDIAL_FIRST_MS;
    /* and both pull */
    send_simple(s, MRX_WIRE_CASES, NULL);
}

/* Write down when the peer was last heard from (HOME/contacts/<FPR>),
 * for mrx status; at most once a minute. */
static void
note_contact(actor *a, session *s)
{
    char when[MRX_TIME_LEN + 2], *dir, *path = NULL;

    if (s->noted_at && s->heard_at - s->noted_at < 60000)
        return;
    s->noted_at = s->heard_at;
    if (!(dir = mrx_fs_join(mrx_node_home(a->node), MRXD_CONTACTS_DIR)))
        return;
    mrx_text_format_time(when, time(NULL));
    strcat(when, "\n");
    if (mrx_fs_mkdir_p(dir, 0700) == 0 && (path = mrx_fs_join(dir, s->peer)))
        mrx_fs_write_atomic(path, when, strlen(when), 0600);
    free(path);
    free(dir);
}

static void
handle(actor *a, session *s, zmsg_t *msg)
{
    mrx_wire_msg *m = NULL;
    mrx_wire_error code;

    s->heard_at = zclock_mono();
    if (mrx_wire_decode(&m, &code, msg) < 0) {
        zframe_t *command = zmsg_first(msg) ? zmsg_next(msg) : NULL;
        mrxd_log(MRX_LOG_WARNING, "sync: peer %.16s sent a bad message: %s", s->peer,
                 mrx_error_last());
        /* never an ERROR for an ERROR, even a bad one */
        if (!command || !zframe_streq(command, "ERROR"))
            send_error(s, "?", code, mrx_error_last());
        return;
    }
    /* an answer to one of our requests */
    if (s->asked > s->answered &&
        (m->command == MRX_WIRE_CASES_OK || m->command == MRX_WIRE_HEADS_OK ||
         m->command == MRX_WIRE_PACK ||
         (m->command == MRX_WIRE_ERROR &&
          (strcmp(m->error_command, "CASES") == 0 || strcmp(m->error_command, "HEADS") == 0 ||
           strcmp(m->error_command, "FEEDS") == 0))))
        s->answered++;
    if (s->ready || m->command == MRX_WIRE_HELLO)
        note_contact(a, s);
    if (m->command != MRX_WIRE_HELLO && m->command != MRX_WIRE_ERROR && !s->ready) {
        send_error(s, mrx_wire_command_name(m->command), MRX_WIRE_EORDER, "HELLO first");
        mrx_wire_msg_destroy(&m);
        return;
    }
    switch (m->command) {
    case MRX_WIRE_HELLO:
        on_hello(a, s, m);
        break;
    case MRX_WIRE_CASES:
        on_cases(a, s);
        break;
    case MRX_WIRE_CASES_OK:
        on_cases_ok(a, s, m);
        break;
    case MRX_WIRE_HEADS:
        on_heads(a, s, m);
        break;
    case MRX_WIRE_HEADS_OK:
        on_heads_ok(a, s, m);
        break;
    case MRX_WIRE_FEEDS:
        on_feeds(a, s, m);
        break;
    case MRX_WIRE_PACK:
        on_pack(a, s, m);
        break;
    case MRX_WIRE_NOTIFY:
        send_simple(s, MRX_WIRE_CASES, NULL);
        break;
    case MRX_WIRE_FETCH:
        on_fetch(a, s, m);
        break;
    case MRX_WIRE_CHUNK:
        on_chunk(a, s, m);
        break;
    case MRX_WIRE_CREDIT:
        on_credit(a, s, m);
        break;
    case MRX_WIRE_VIEW:
        on_view(a, s, m);
        break;
    case MRX_WIRE_ERROR:
        mrxd_log(MRX_LOG_INFO, "sync: peer %.16s refused %s (code %llu)", s->peer,
                 m->error_command, (unsigned long long)m->error_code);
        /* the bundle asked for is not to be had there: the next one */
        if (s->in && (strcmp(m->error_command, "FETCH") == 0 ||
                      strcmp(m->error_command, "CREDIT") == 0)) {
            fetch_end(s);
            fetch_next(a, s);
        }
        /* the peer lost our session (it restarted, or the connection was
         * made anew): greet it again */
        if (s->client && m->error_code == MRX_WIRE_EORDER) {
            s->ready = 0;
            send_hello(a, s);
        }
        break;
    }
    /* what each message cost us, to see where time goes */
    mrxd_log(MRX_LOG_DEBUG, "sync: peer %.16s: %s (%lld ms)", s->peer,
             mrx_wire_command_name(m->command), (long long)(zclock_mono() - s->heard_at));
    mrx_wire_msg_destroy(&m);
    round_check(a);
}

/* ---------------------------------------------------------------------
 * Sockets
 */

static int dial(actor *a, session *s);

/* A session to peer, which lists an endpoint, unless there is one. */
static void
dial_peer(actor *a, const mrx_cert *peer)
{
    char key[80];
    session *s;

    snprintf(key, sizeof key, "c:%s", mrx_cert_fpr(peer));
    if (mrx_cert_endpoint_count(peer) == 0 || zhashx_lookup(a->sessions, key) ||
        !(s = session_new(a, key, mrx_cert_fpr(peer))))
        return;
    snprintf(s->server_key, sizeof s->server_key, "%s", mrx_cert_curve(peer));
    snprintf(s->endpoint, sizeof s->endpoint, "%s", mrx_cert_endpoint(peer, 0));
    s->client = 1;
    s->redial_ms = REDIAL_FIRST_MS;
    if (dial(a, s) < 0) {
        mrxd_log(MRX_LOG_WARNING, "sync: cannot connect to peer %.16s", s->peer);
        void *item = s;
        session_destroy(&item);
        a->keys_stale = 1; /* tried again next second */
    } else {
        zhashx_insert(a->sessions, key, s);
    }
}

/* The imported peers, read again only when a peer was added or removed
 * (a control worker says so, or a HELLO renewed one here) or peers/
 * changed: their CURVE keys, for ZAP, and a session dialled to each that
 * lists an endpoint. Reading verifies each certificate with gpg, so it
 * must not follow what strangers do (ZAP asks for every connection
 * attempt, hostile ones included, and a flood of unknown keys costs a
 * stat each), nor the clock (the timer asks every second; under valgrind
 * a gpg fork of the daemon takes seconds). */
static void
read_peers(actor *a)
{
    char *dir = mrx_fs_join(mrx_node_home(a->node), "peers");
    mrx_cert **peers = NULL;
    struct stat st;
    size_t n = 0;

    if (!dir || stat(dir, &st) != 0) {
        free(dir);
        return;
    }
    free(dir);
    if (a->curve_keys && !a->keys_stale && st.st_mtim.tv_sec == a->peers_mtime.tv_sec &&
        st.st_mtim.tv_nsec == a->peers_mtime.tv_nsec)
        return;
    if (mrx_node_peer_list(a->node, &peers, &n) < 0) {
        mrxd_log(MRX_LOG_WARNING, "sync: cannot list the peers: %s", mrx_error_last());
        return;
    }
    a->keys_stale = 0;
    zhashx_destroy(&a->curve_keys);
    a->curve_keys = zhashx_new();
    zhashx_set_destructor(a->curve_keys, (zhashx_destructor_fn *)zstr_free);
    zhashx_set_duplicator(a->curve_keys, (zhashx_duplicator_fn *)strdup);
    for (size_t i = 0; i < n; i++) {
        zhashx_update(a->curve_keys, mrx_cert_curve(peers[i]), (void *)mrx_cert_fpr(peers[i]));
        dial_peer(a, peers[i]);
        mrx_cert_destroy(&peers[i]);
    }
    free(peers);
    a->peers_mtime = st.st_mtim;
    mrxd_log(MRX_LOG_DEBUG, "sync: read the CURVE keys of %zu peers", n);
}

/* Whether sock has a message now. zloop can call a reader whose socket
 * was remade (dial) by an earlier handler of the same poll, at the same
 * address; a receive there would hold the whole actor until the new
 * socket's first message. Each reader asks first; once a message is
 * there, all of its frames are, and the receive takes them whole. */
static int
readable(zsock_t *sock)
{
    return (zsock_events(sock) & ZMQ_POLLIN) != 0;
}

/* ZAP (RFC 27): admit a CURVE key only if it is an imported peer's. */
static int
on_zap(zloop_t *loop, zsock_t *zap, void *arg)
{
    actor *a = arg;
    zmsg_t *req = readable(zap) ? zmsg_recv(zap) : NULL, *reply;
    char *version, *id, *domain, *address, *identity, *mechanism, key[MRX_CURVE_Z85_LEN + 1];
    zframe_t *client_key;
    const char *user = NULL;

    (void)loop;
    if (!req)
        return 0;
    version = zmsg_popstr(req);
    id = zmsg_popstr(req);
    domain = zmsg_popstr(req);
    address = zmsg_popstr(req);
    identity = zmsg_popstr(req);
    mechanism = zmsg_popstr(req);
    client_key = zmsg_pop(req);
    key[0] = '\0';
    if (client_key && zframe_size(client_key) == 32)
        zmq_z85_encode(key, zframe_data(client_key), 32);
    /* only our own domain is ours to judge (the control socket uses none) */
    if (!domain || strcmp(domain, ZAP_DOMAIN) != 0)
        user = strdup("");
    else if (mechanism && strcmp(mechanism, "CURVE") == 0 && key[0]) {
        const char *fpr;
        read_peers(a);
        if (a->curve_keys && (fpr = zhashx_lookup(a->curve_keys, key)))
            user = strdup(fpr);
    }
    if (!user)
        mrxd_log(MRX_LOG_DEBUG, "sync: refused a connection from %s: not an imported peer's key",
                 address ? address : "?");
    reply = zmsg_new();
    zmsg_addstr(reply, "1.0");
    zmsg_addstr(reply, id ? id : "");
    zmsg_addstr(reply, user ? "200" : "400");
    zmsg_addstr(reply, user ? "OK" : "not an imported peer");
    zmsg_addstr(reply, user ? user : "");
    zmsg_addmem(reply, NULL, 0);
    zmsg_send(&reply, zap);
    free((char *)user);
    free(version);
    free(id);
    free(domain);
    free(address);
    free(identity);
    free(mechanism);
    zframe_destroy(&client_key);
    zmsg_destroy(&req);
    return 0;
}

/* Whether fpr is an imported peer now (its certificate is in peers/). */
static int
is_peer(actor *a, const char *fpr)
{
    char name[MRX_FPR_LEN + 16], *path;
    int yes;

    snprintf(name, sizeof name, "peers/%s.cert", fpr);
    path = mrx_fs_join(mrx_node_home(a->node), name);
    yes = path && access(path, F_OK) == 0;
    free(path);
    return yes;
}

static int
on_server(zloop_t *loop, zsock_t *router, void *arg)
{
    actor *a = arg;
    zmsg_t *msg = readable(router) ? zmsg_recv(router) : NULL;
    zframe_t *rid, *first;
    const char *user;
    session *s;
    char key[80];

    (void)loop;
    if (!msg)
        return 0;
    rid = zmsg_pop(msg);
    first = zmsg_first(msg);
    user = first ? zframe_meta(first, "User-Id") : NULL;
    /* ZAP admitted it, so User-Id is a peer's fingerprint; be sure */
    if (!rid || !user || !mrx_text_is_fpr(user) || zframe_size(rid) > 32) {
        zframe_destroy(&rid);
        zmsg_destroy(&msg);
        return 0;
    }
    snprintf(key, sizeof key, "s:");
    for (size_t i = 0; i < zframe_size(rid); i++)
        snprintf(key + 2 + 2 * i, sizeof key - 2 - 2 * i, "%02x", zframe_data(rid)[i]);
    if (!(s = zhashx_lookup(a->sessions, key))) {
        /* a connection admitted before its peer was removed gets nothing */
        if (!is_peer(a, user)) {
            zframe_destroy(&rid);
            zmsg_destroy(&msg);
            return 0;
        }
        if (!(s = session_new(a, key, user))) {
            zframe_destroy(&rid);
            zmsg_destroy(&msg);
            return 0;
        }
        s->sock = router;
        s->rid = rid;
        rid = NULL;
        zhashx_insert(a->sessions, key, s);
    }
    zframe_destroy(&rid);
    handle(a, s, msg);
    zmsg_destroy(&msg);
    return 0;
}

static int
on_client(zloop_t *loop, zsock_t *dealer, void *arg)
{
    actor *a = arg;
    zmsg_t *msg = readable(dealer) ? zmsg_recv(dealer) : NULL;
    session *s;

    (void)loop;
    if (!msg)
        return 0;
    for (s = zhashx_first(a->sessions); s; s = zhashx_next(a->sessions))
        if (s->client && s->sock == dealer)
            break;
    if (s)
        handle(a, s, msg);
    zmsg_destroy(&msg);
    return 0;
}

static void
set_common_options(zsock_t *sock)
{
    zsock_set_maxmsgsize(sock, MRX_WIRE_MSG_MAX);
    zsock_set_linger(sock, 0);
    zsock_set_heartbeat_ivl(sock, HEARTBEAT_IVL_MS);
    zsock_set_heartbeat_timeout(sock, HEARTBEAT_TIMEOUT_MS);
}

/* A client connection came up or went down. Either way the session
 * starts again: the peer may be a new process that knows nothing of it
 * (a peer that was killed and restarted), and a bundle on its way stalls
 * with the connection. Up, a HELLO goes out at once. */
static int
on_monitor(zloop_t *loop, zsock_t *pair, void *arg)
{
    session *s = arg;
    zmsg_t *msg = readable(pair) ? zmsg_recv(pair) : NULL;
    zframe_t *f = msg ? zmsg_first(msg) : NULL;
    uint16_t event = 0;

    (void)loop;
    if (f && zframe_size(f) == 6)
        memcpy(&event, zframe_data(f), sizeof event);
    zmsg_destroy(&msg);
    if (event != ZMQ_EVENT_HANDSHAKE_SUCCEEDED && event != ZMQ_EVENT_DISCONNECTED)
        return 0;
    mrxd_log(MRX_LOG_DEBUG, "sync: connection to peer %.16s %s", s->peer,
             event == ZMQ_EVENT_DISCONNECTED ? "lost" : "made");
    s->ready = 0;
    s->hello_at = 0;
    s->hello_wait = 0;
    s->answered = s->asked; /* nothing is owed on a new session */
    fetch_end(s);
    for (size_t i = 0; i < SENDS_MAX; i++)
        send_end(s, i);
    round_check(s->a);
    return 0;
}

/* (Re)make a client session's DEALER. libzmq reconnects by itself after
 * a lost connection, but not after a refused handshake (a peer that did
 * not know our key yet): so a peer that never answers is dialed afresh. */
static int
dial(actor *a, session *s)
{
    static unsigned monitors; /* each monitor needs an endpoint of its own */
    char endpoint[64];

    if (s->monitor) {
        zloop_reader_end(a->loop, s->monitor);
        zsock_destroy(&s->monitor);
    }
    if (s->sock) {
        zloop_reader_end(a->loop, s->sock);
        zsock_destroy(&s->sock);
    }
    s->ready = 0;
    s->hello_at = 0;
    s->dialed_at = zclock_mono();
    if (!(s->sock = zsock_new(ZMQ_DEALER)))
        return -1;
    set_common_options(s->sock);
    zsock_set_curve_serverkey(s->sock, s->server_key);
    zsock_set_curve_publickey(s->sock, a->curve_public);
    zsock_set_curve_secretkey(s->sock, a->curve_secret);
    zsock_set_immediate(s->sock, 1);
    zsock_set_reconnect_ivl(s->sock, 200);
    zsock_set_reconnect_ivl_max(s->sock, 30000);
    snprintf(endpoint, sizeof endpoint, "inproc://mrxd-monitor-%u", monitors++);
    if (zmq_socket_monitor(zsock_resolve(s->sock), endpoint,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED) != 0 ||
        !(s->monitor = zsock_new(ZMQ_PAIR)) || zsock_connect(s->monitor, "%s", endpoint) != 0 ||
        zsock_connect(s->sock, "%s", s->endpoint) != 0) {
        zsock_destroy(&s->monitor);
        zsock_destroy(&s->sock);
        return -1;
    }
    zloop_reader(a->loop, s->sock, on_client, a);
    zloop_reader(a->loop, s->monitor, on_monitor, s);
    mrxd_log(MRX_LOG_DEBUG, "sync: connecting to peer %.16s at %s", s->peer, s->endpoint);
    return 0;
}

/* A client session for each imported peer that lists an endpoint. */
/* Every second: say HELLO to peers not reached yet; every sync_interval:
 * a round with every peer; drop server sessions gone quiet. */
static int
on_tick(zloop_t *loop, int timer_id, void *arg)
{
    actor *a = arg;
    int64_t now = zclock_mono();
    long interval;
    session *s;
    int round;

    (void)loop;
    (void)timer_id;
    pthread_mutex_lock(a->info->config_lock);
    interval = a->info->config->sync_interval;
    pthread_mutex_unlock(a->info->config_lock);
    round = now - a->last_round >= interval * 1000;
    if (round) {
        a->last_round = now;
        for (s = zhashx_first(a->sessions); s; s = zhashx_next(a->sessions))
            zhashx_purge(s->refused);
    }
    read_peers(a); /* peers imported since */
    zlist_t *gone = zlist_new(), *stalled = zlist_new();
    zlist_autofree(gone);
    zlist_autofree(stalled);
    for (s = zhashx_first(a->sessions); s; s = zhashx_next(a->sessions)) {
        if (s->client && !s->ready && now - s->dialed_at >= s->redial_ms) {
            s->redial_ms = s->redial_ms * 2 > REDIAL_MAX_MS ? REDIAL_MAX_MS : s->redial_ms * 2;
            dial(a, s);
        }
        if (s->in && now - s->in->heard_at > FETCH_STALL_MS)
            zlist_append(stalled, s->key);
        if (s->client && s->sock && (round || (!s->ready && now - s->hello_at >= HELLO_RETRY_MS)))
            send_hello(a, s);
        else if (!s->client && now - s->heard_at > SERVER_IDLE_MS)
            zlist_append(gone, s->key);
    }
    /* not while iterating: the table may not change under its cursor,
     * and the next fetch may tell every session of the last one */
    for (char *key = zlist_first(gone); key; key = zlist_next(gone))
        zhashx_delete(a->sessions, key);
    /* A fetch with no chunk for a while: the peer is slow, or lost the
     * FETCH or its chunks. The peer answers in order, so a CASES sent now
     * is answered after any chunk it still has for us: once it is, and
     * no chunk came, the bundle is asked for again. A slow peer is waited
     * for (a dead connection ends by the heartbeat). */
    for (char *key = zlist_first(stalled); key; key = zlist_next(stalled)) {
        want *again;
        if (!(s = zhashx_lookup(a->sessions, key)) || !s->in)
            continue;
        if (!s->in->probe) {
            send_simple(s, MRX_WIRE_CASES, NULL);
            s->in->probe = s->asked;
            mrxd_log(MRX_LOG_DEBUG, "sync: peer %.16s: no chunk of bundle %.16s for %d s",
                     s->peer, s->in->what.bundle, FETCH_STALL_MS / 1000);
            continue;
        }
        if (s->answered < s->in->probe)
            continue;
        mrxd_log(MRX_LOG_INFO, "sync: peer %.16s: bundle %.16s stalled; asked again", s->peer,
                 s->in->what.bundle);
        /* asked again, after the others, from where its copy ends */
        if ((again = malloc(sizeof *again))) {
            *again = s->in->what;
            zlistx_add_end(s->wants, again);
        }
        fetch_end(s);
        fetch_next(a, s);
    }
    zlist_destroy(&gone);
    zlist_destroy(&stalled);
    round_check(a);
    return 0;
}

/* Say HELLO as soon as a new connection takes it, not a tick later. */
static int
on_greet(zloop_t *loop, int timer_id, void *arg)
{
    actor *a = arg;

    (void)loop;
    (void)timer_id;
    for (session *s = zhashx_first(a->sessions); s; s = zhashx_next(a->sessions))
        if (s->client && s->sock && !s->ready && s->hello_at == 0)
            send_hello(a, s);
    return 0;
}

/* A peer was removed: every session with it ends now (a server session
 * is forgotten; a new one needs ZAP, which refuses it from now on). */
static void
close_peer(actor *a, const char *fpr)
{
    zlist_t *gone = zlist_new();

    if (!gone)
        return;
    zlist_autofree(gone);
    for (session *s = zhashx_first(a->sessions); s; s = zhashx_next(a->sessions))
        if (strcmp(s->peer, fpr) == 0)
            zlist_append(gone, s->key);
    for (char *key = zlist_first(gone); key; key = zlist_next(gone)) {
        mrxd_log(MRX_LOG_INFO, "sync: peer %.16s removed: session closed", fpr);
        zhashx_delete(a->sessions, key);
    }
    zlist_destroy(&gone);
    a->keys_stale = 1;
}

/* A case changed here (a control worker said so): tell who takes part,
 * and stop what may no longer go on. Or a peer was added ("peers") or
 * removed ("peer:FPR"). */
static int
on_change(zloop_t *loop, zsock_t *pull, void *arg)
{
    actor *a = arg;
    char *what = readable(pull) ? zstr_recv(pull) : NULL;

    (void)loop;
    if (what && strncmp(what, "peer:", 5) == 0 && mrx_text_is_fpr(what + 5))
        close_peer(a, what + 5);
    else if (what && strcmp(what, "peers") == 0)
        a->keys_stale = 1; /* one was added: read peers/ again */
    else if (what && mrx_sha256_hex_valid(what)) {
        stop_sends(a, what);
        notify_peers(a, what, NULL);
    }
    zstr_free(&what);
    return 0;
}

/* ---------------------------------------------------------------------
 * Rounds asked for by mrx sync
 */

static void
waiter_destroy(void **item)
{
    waiter *w = *item;

    if (!w)
        return;
    zframe_destroy(&w->rid);
    json_decref(w->refused);
    free(w);
    *item = NULL;
}

/* Whether s's peer is in step with us: nothing asked of it unanswered,
 * no bundle coming from it or waiting to be asked for. */
static int
in_step(const session *s)
{
    return s->ready && !s->hello_wait && s->asked == s->answered && !s->in &&
           zlistx_size(s->wants) == 0;
}

/* Whether a round waits no more for s, CONNECT_GRACE_MS on: no session,
 * or quiet as long as the heartbeat allows (it may have been removed as
 * a peer on its side, or be gone); or our HELLO unanswered, and the peer
 * has said nothing since the round began (one that has, and is slow to
 * answer because it is busy, gets HELLO_WAIT_MAX_MS). */
static int
gone_quiet(const session *s, const waiter *w, int64_t now)
{
    if (now - w->started < CONNECT_GRACE_MS)
        return 0;
    if (!s->ready || now - s->heard_at >= HEARTBEAT_TIMEOUT_MS)
        return 1;
    return s->hello_wait && (s->heard_at < w->started || now - w->started >= HELLO_WAIT_MAX_MS);
}

/* Each peer once: in step, or not reached. */
static json_t *
round_peers(actor *a)
{
    json_t *peers = json_object();

    for (session *s = zhashx_first(a->sessions); s; s = zhashx_next(a->sessions)) {
        json_t *had = json_object_get(peers, s->peer);
        if (!had || !json_is_true(had))
            json_object_set_new(peers, s->peer, json_boolean(in_step(s)));
    }
    return peers;
}

static void
round_reply(actor *a, zframe_t *rid, json_t *result)
{
    char *text = json_dumps(result, JSON_COMPACT);
    zmsg_t *msg = zmsg_new();

    zmsg_addmem(msg, zframe_data(rid), zframe_size(rid));
    zmsg_addstr(msg, text ? text : "{}");
    zmsg_send(&msg, a->rounds);
    free(text);
}

/* Answer every waiter whose round is over: each session in step, or
 * (a peer we dial that never answered) given CONNECT_GRACE_MS. */
static void
round_check(actor *a)
{
    int64_t now = zclock_mono();
    waiter *w;

    if (!a->waiters || zlistx_size(a->waiters) == 0)
        return;
    w = zlistx_first(a->waiters);
    while (w) {
        int done = 1;
        for (session *s = zhashx_first(a->sessions); s && done; s = zhashx_next(a->sessions))
            done = in_step(s) || gone_quiet(s, w, now) || (!s->client && !s->ready);
        if (!done) {
            w = zlistx_next(a->waiters);
            continue;
        }
        json_t *peers = round_peers(a), *list = json_array(), *v;
        const char *fpr;
        json_object_foreach(peers, fpr, v) {
            char name[128];
            mrx_node_describe_key(a->node, name, sizeof name, fpr);
            json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "fingerprint", fpr, "name",
                                                  name, "state",
                                                  json_is_true(v) ? "in step" : "not reached"));
        }
        json_t *result = json_pack("{s:o,s:I,s:O,s:I}", "peers", list, "fetched",
                                   (json_int_t)w->fetched, "refused", w->refused, "ms",
                                   (json_int_t)(now - w->started));
        round_reply(a, w->rid, result);
        json_decref(result);
        json_decref(peers);
        zlistx_delete(a->waiters, zlistx_cursor(a->waiters));
        w = zlistx_first(a->waiters); /* the cursor is gone with it */
    }
}

/* mrx sync: a round with every peer now. A peer we dial is greeted
 * again (and dialed afresh if it never answered); one that dialed us is
 * asked for its cases. */
static int
on_round(zloop_t *loop, zsock_t *router, void *arg)
{
    actor *a = arg;
    zmsg_t *msg = readable(router) ? zmsg_recv(router) : NULL;
    zframe_t *rid = msg ? zmsg_pop(msg) : NULL;
    char *how = msg ? zmsg_popstr(msg) : NULL;
    zlist_t *dial_again = zlist_new();
    size_t n = 0;
    session *s;

    (void)loop;
    if (!rid || !how || !dial_again)
        goto out;
    zlist_autofree(dial_again);
    read_peers(a);
    for (s = zhashx_first(a->sessions); s; s = zhashx_next(a->sessions), n++) {
        if (s->client && !s->ready)
            zlist_append(dial_again, s->key);
        else if (s->client)
            send_hello(a, s);
        else if (s->ready)
            send_simple(s, MRX_WIRE_CASES, NULL);
    }
    for (char *key = zlist_first(dial_again); key; key = zlist_next(dial_again))
        if ((s = zhashx_lookup(a->sessions, key))) {
            s->redial_ms = REDIAL_FIRST_MS;
            dial(a, s);
        }
    mrxd_log(MRX_LOG_INFO, "sync: a round asked for, with %zu session%s", n, n == 1 ? "" : "s");
    if (strcmp(how, "wait") == 0) {
        waiter *w = calloc(1, sizeof *w);
        if (w && (w->refused = json_array())) {
            w->rid = rid;
            rid = NULL;
            w->started = zclock_mono();
            zlistx_add_end(a->waiters, w);
        } else {
            free(w);
        }
        round_check(a);
    } else {
        json_t *result = json_pack("{s:b,s:I}", "started", 1, "sessions", (json_int_t)n);
        round_reply(a, rid, result);
        json_decref(result);
    }
out:
    zlist_destroy(&dial_again);
    zframe_destroy(&rid);
    zstr_free(&how);
    zmsg_destroy(&msg);
    return 0;
}

static int
on_pipe(zloop_t *loop, zsock_t *pipe, void *arg)
{
    char *command = zstr_recv(pipe);
    int stop;

    if (!command && errno == EINTR)
        return 0; /* a signal meant for the main thread */
    stop = !command || strcmp(command, "$TERM") == 0;

    (void)loop;
    (void)arg;
    zstr_free(&command);
    return stop ? -1 : 0;
}

static int
actor_setup(actor *a)
{
    const mrx_config *config = mrx_node_config(a->node);
    char *path = mrx_fs_join(mrx_node_home(a->node), "curve.secret");
    int rc;

    if (!path)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    rc = mrx_curve_load(a->curve_public, a->curve_secret, path);
    free(path);
    if (rc < 0)
        return rc;
    a->zap = zsock_new(ZMQ_REP);
    a->changes = zsock_new(ZMQ_PULL);
    a->rounds = zsock_new(ZMQ_ROUTER);
    if (!a->zap || !a->changes || !a->rounds || zsock_bind(a->zap, ZAP_ENDPOINT) != 0 ||
        zsock_bind(a->changes, MRXD_SYNC_CHANGES) != 0 ||
        zsock_bind(a->rounds, MRXD_SYNC_ROUNDS) != 0)
        return mrx_error_set(MRX_EIO, "sync: cannot set up its inner sockets");
    for (size_t i = 0; i < config->n_listen; i++) {
        zsock_t *router = zsock_new(ZMQ_ROUTER);
        if (!router)
            return mrx_error_set(MRX_EIO, "sync: cannot make a socket");
        set_common_options(router);
        zsock_set_zap_domain(router, ZAP_DOMAIN);
        zsock_set_curve_server(router, 1);
        zsock_set_curve_secretkey(router, a->curve_secret);
        if (zsock_bind(router, "%s", config->listen[i]) < 0) {
            zsock_destroy(&router);
            return mrx_error_set(MRX_EIO, "cannot listen on %s: %s", config->listen[i],
                                 zmq_strerror(zmq_errno()));
        }
        a->servers[a->n_servers++] = router;
    }
    return 0;
}

static void
sync_actor(zsock_t *pipe, void *arg)
{
    actor a;
    int rc;

    memset(&a, 0, sizeof a);
    a.info = arg;
    a.pipe = pipe;
    a.sessions = zhashx_new();
    zhashx_set_destructor(a.sessions, session_destroy);
    a.fetching = zhashx_new();
    a.failed = zhashx_new();
    a.waiters = zlistx_new();
    if (a.waiters)
        zlistx_set_destructor(a.waiters, waiter_destroy);
    a.loop = zloop_new();
    zsock_signal(pipe, 0); /* zactor_new waits for this; then we say how it went */
    if (!a.fetching || !a.failed || !a.waiters) {
        zstr_send(pipe, "out of memory");
        goto out;
    }
    if ((rc = mrx_node_open(&a.node, a.info->home)) < 0 || (rc = actor_setup(&a)) < 0) {
        zstr_send(pipe, mrx_error_last());
        goto out;
    }
    zloop_reader(a.loop, pipe, on_pipe, &a);
    zloop_reader(a.loop, a.zap, on_zap, &a);
    zloop_reader(a.loop, a.changes, on_change, &a);
    zloop_reader(a.loop, a.rounds, on_round, &a);
    for (size_t i = 0; i < a.n_servers; i++)
        zloop_reader(a.loop, a.servers[i], on_server, &a);
    zloop_timer(a.loop, TICK_MS, 0, on_tick, &a);
    zloop_timer(a.loop, GREET_MS, 0, on_greet, &a);
    a.last_round = zclock_mono();
    read_peers(&a);
    zstr_send(pipe, "ok");
    for (size_t i = 0; i < a.n_servers; i++)
        mrxd_log(MRX_LOG_INFO, "sync: listening on %s", mrx_node_config(a.node)->listen[i]);
    /* a signal may interrupt the poll: only $TERM ends the actor */
    while (zloop_start(a.loop) == 0)
        ;
out:
    zhashx_destroy(&a.sessions);
    zhashx_destroy(&a.fetching);
    zhashx_destroy(&a.failed);
    zhashx_destroy(&a.curve_keys);
    zloop_destroy(&a.loop);
    for (size_t i = 0; i < a.n_servers; i++)
        zsock_destroy(&a.servers[i]);
    zsock_destroy(&a.zap);
    zsock_destroy(&a.changes);
    zsock_destroy(&a.rounds);
    zlistx_destroy(&a.waiters);
    explicit_bzero(a.curve_secret, sizeof a.curve_secret);
    mrx_node_destroy(&a.node);
}

int
mrxd_sync_new(mrxd_sync **out, const mrxd_info *info)
{
    mrxd_sync *self = calloc(1, sizeof *self);
    char *status = NULL;

    *out = NULL;
    if (!self)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    if (!(self->actor = zactor_new(sync_actor, (void *)info))) {
        free(self);
        return mrx_error_set(MRX_EIO, "cannot start sync");
    }
    status = zstr_recv(self->actor);
    if (!status || strcmp(status, "ok") != 0) {
        mrx_error_set(MRX_EIO, "%s", status ? status : "sync did not start");
        zstr_free(&status);
        zactor_destroy(&self->actor);
        free(self);
        return MRX_EIO;
    }
    zstr_free(&status);
    *out = self;
    return 0;
}

void
mrxd_sync_destroy(mrxd_sync **self_p)
{
    mrxd_sync *self = *self_p;

    if (!self)
        return;
    zactor_destroy(&self->actor);
    free(self);
    *self_p = NULL;
}

/* ---------------------------------------------------------------------
 * The sync request, on a control worker
 */

int
mrxd_op_sync(mrxd_job *job, json_t **result)
{
    static const mrx_control_param spec[] = {{"wait", MRX_PARAM_BOOL, 0}};
    int wait = 0, rc;
    zsock_t *round = NULL;
    char *reply = NULL;
    json_error_t jerr;

    if ((rc = mrxd_params(job, spec, 1)) < 0)
        return rc;
    wait = mrx_control_flag(mrxd_job_request(job), "wait");
    if (!(round = zsock_new(ZMQ_DEALER)) || zsock_connect(round, MRXD_SYNC_ROUNDS) != 0) {
        zsock_destroy(&round);
        return mrx_error_set(MRX_EIO, "cannot reach the sync actor");
    }
    zsock_set_rcvtimeo(round, 500);
    zstr_send(round, wait ? "wait" : "now");
    /* a round may take as long as its bundles; a stop ends the wait */
    while (!(reply = zstr_recv(round))) {
        if (mrx_bundle_interrupted()) {
            zsock_destroy(&round);
            return mrx_error_set(MRX_EUNAVAILABLE, "mrxd is stopping");
        }
    }
    zsock_destroy(&round);
    *result = json_loads(reply, 0, &jerr);
    zstr_free(&reply);
    return *result ? 0 : mrx_error_set(MRX_EIO, "the sync actor gave no result");
}
