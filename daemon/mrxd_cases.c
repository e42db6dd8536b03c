/*
 * mrxd_cases: the requests about cases: case-new, case-list, case-show,
 * grant, revoke, add, get. The ledger (proto/mrx_ledger.c) checks every
 * signature and serializes writers; these handlers decide who may do what
 * with mrx_case and say what happened.
 */
#include "mrxd_ops.h"
#include "mrx_bundle.h"
#include "mrx_case.h"
#include "mrx_store.h"
#include "mrx_error.h"
#include "mrx_fs.h"
#include "mrx_ledger.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static mrx_ledger_author
author_of(mrx_node *node)
{
    mrx_ledger_author a = {mrx_node_pgp(node), mrx_node_config(node)->fpr,
                           mrx_node_config(node)->name};
    return a;
}

/* The case named by its id or a unique prefix of it. */
static int
open_case(mrx_ledger **out, mrx_node *node, const char *arg)
{
    char id[MRX_SHA256_HEX_LEN + 1];
    int rc;

    *out = NULL;
    if ((rc = mrx_case_resolve(id, node, arg)) < 0)
        return rc;
    return mrx_case_open_ledger(out, node, id);
}

/* The case the request's "case" parameter names, and its membership. */
static int
load_case(mrx_ledger **ledger, mrx_case **c, mrxd_job *job)
{
    mrx_node *node = mrxd_job_node(job);
    int rc;

    *c = NULL;
    if ((rc = open_case(ledger, node, mrx_control_string(mrxd_job_request(job), "case"))) < 0 ||
        (rc = mrx_case_load(c, *ledger, mrx_node_pgp(node))) < 0)
        return rc;
    return 0;
}

static int
no_memory(void)
{
    return mrx_error_set(MRX_ENOMEM, "out of memory");
}

int
mrxd_op_case_new(mrxd_job *job, json_t **result)
{
    static const mrx_control_param spec[] = {{"title", MRX_PARAM_STRING, 1}};
    mrx_node *node = mrxd_job_node(job);
    mrx_ledger *ledger = NULL;
    mrx_ledger_author author = author_of(node);
    const char *title;
    int rc;

    if ((rc = mrxd_params(job, spec, 1)) < 0)
        return rc;
    title = mrx_control_string(mrxd_job_request(job), "title");
    if (mrx_node_config(node)->role != MRX_ROLE_PATIENT)
        return mrx_error_set(MRX_EDENIED, "a case is owned by its patient: this node is a %s",
                             mrx_role_name(mrx_node_config(node)->role));
    if ((rc = mrx_ledger_create(&ledger, mrx_node_cases(node), &author, title)) < 0)
        return rc;
    *result = json_pack("{s:s,s:s,s:s}", "id", mrx_ledger_case_id(ledger), "title", title,
                        "owner", mrx_ledger_owner(ledger));
    mrx_ledger_destroy(&ledger);
    return *result ? 0 : no_memory();
}

/* Count the events of a feed as they verify. */
static int
count_event(void *arg, const mrx_event *ev, const char *commit)
{
    (void)ev;
    (void)commit;
    (*(size_t *)arg)++;
    return 0;
}

int
mrxd_case_summaries(json_t **out, mrx_node *node)
{
    char (*ids)[MRX_SHA256_HEX_LEN + 1] = NULL;
    size_t n = 0;
    int rc;

    *out = NULL;
    if ((rc = mrx_case_ids(node, &ids, &n)) < 0)
        return rc;
    *out = json_array();
    for (size_t i = 0; i < n; i++) {
        mrx_ledger *ledger = NULL;
        size_t events = 0;
        const char *problem = NULL;
        json_t *c;

        if (mrx_case_open_ledger(&ledger, node, ids[i]) < 0 ||
            mrx_ledger_read_feed(ledger, mrx_node_pgp(node), mrx_ledger_owner(ledger), count_event,
                                 &events) < 0)
            problem = mrx_error_last();
        c = json_pack("{s:s,s:s,s:s,s:o,s:I,s:b}", "id", ids[i], "title",
                      ledger ? mrx_ledger_title(ledger) : "", "owner",
                      ledger ? mrx_ledger_owner(ledger) : "", "owner_name",
                      ledger ? mrxd_key_name(node, mrx_ledger_owner(ledger)) : json_string(""),
                      "owner_events", (json_int_t)events, "verified", problem == NULL);
        if (c && problem)
            json_object_set_new(c, "problem", json_string(problem));
        json_array_append_new(*out, c);
        mrx_ledger_destroy(&ledger);
    }
    free(ids);
    return 0;
}

int
mrxd_op_case_list(mrxd_job *job, json_t **result)
{
    json_t *cases = NULL;
    int rc;

    if ((rc = mrxd_params(job, NULL, 0)) < 0 ||
        (rc = mrxd_case_summaries(&cases, mrxd_job_node(job))) < 0)
        return rc;
    *result = json_pack("{s:o}", "cases", cases);
    return *result ? 0 : no_memory();
}

struct timeline {
    mrx_event *events; /* every verified event of the case */
    size_t n, cap;
    const mrx_case *c; /* the membership, to check each event against */
};

static int
add_event(void *arg, const mrx_event *ev, const char *commit)
{
    struct timeline *t = arg;
    int rc;

    /* signed is not enough: it must have been the author's to write */
    if ((rc = mrx_case_may_write_at(t->c, ev->author, ev->type, ev->kind, ev->time)) < 0)
        return mrx_error_wrap(rc, "event %s", commit);
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        mrx_event *grown = realloc(t->events, cap * sizeof *grown);
        if (!grown)
            return no_memory();
        t->events = grown;
        t->cap = cap;
    }
    t->events[t->n++] = *ev;
    return 0;
}

static int
by_time(const void *a, const void *b)
{
    const mrx_event *x = a, *y = b;
    int c;

    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    if ((c = strcmp(x->author, y->author)) != 0)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void
mrxd_describe_event(char *buf, size_t len, mrx_node *node, const mrx_event *ev)
{
    char who[128], size[32];

    switch (ev->type) {
    case MRX_EV_CASE_CREATED:
        snprintf(buf, len, "created the case");
        break;
    case MRX_EV_MEMBER_ADDED:
        mrx_node_describe_key(node, who, sizeof who, ev->member);
        snprintf(buf, len, "added %s as %s", who, mrx_member_role_name(ev->role));
        break;
    case MRX_EV_MEMBER_REMOVED:
        mrx_node_describe_key(node, who, sizeof who, ev->member);
        snprintf(buf, len, "removed %s", who);
        break;
    case MRX_EV_BUNDLE_ADDED:
        snprintf(buf, len, "added %s bundle %.12s (%s) for %zu reader%s",
                 mrx_kind_name(ev->kind), ev->bundle, mrx_text_human_size(size, ev->size), ev->n_readers,
                 ev->n_readers == 1 ? "" : "s");
        break;
    case MRX_EV_BUNDLE_WITHDRAWN:
        snprintf(buf, len, "withdrew bundle %.12s", ev->bundle);
        break;
    case MRX_EV_BUNDLE_SERVED:
        mrx_node_describe_key(node, who, sizeof who, ev->peer);
        snprintf(buf, len, "served bundle %.12s to %s", ev->bundle, who);
        break;
    case MRX_EV_BUNDLE_FETCHED:
        mrx_node_describe_key(node, who, sizeof who, ev->peer);
        snprintf(buf, len, "fetched bundle %.12s from %s", ev->bundle, who);
        break;
    case MRX_EV_BUNDLE_OPENED:
        snprintf(buf, len, "opened bundle %.12s", ev->bundle);
        break;
    }
}

/* Whether events[0..n) hold one of type by author about bundle. */
static int
has_event(const mrx_event *events, size_t n, mrx_event_type type, const char *author,
          const char *bundle)
{
    for (size_t i = 0; i < n; i++)
        if (events[i].type == type && strcmp(events[i].author, author) == 0 &&
            strcmp(events[i].bundle, bundle) == 0)
            return 1;
    return 0;
}

/* The sender's receipts: for each bundle this node added or served, who
 * fetched it (and from whom) and who opened it, by the events held. */
static json_t *
receipts(mrx_node *node, const mrx_event *events, size_t n)
{
    const char *me = mrx_node_config(node)->fpr;
    char when[MRX_TIME_LEN + 1];
    json_t *list = json_array();

    for (size_t i = 0; list && i < n; i++) {
        const mrx_event *added = &events[i];
        json_t *r, *fetched, *opened;
        int ours;
        if (added->type != MRX_EV_BUNDLE_ADDED)
            continue;
        ours = strcmp(added->author, me) == 0;
        if (!ours && !has_event(events, n, MRX_EV_BUNDLE_SERVED, me, added->bundle))
            continue;
        fetched = json_array();
        opened = json_array();
        for (size_t j = 0; j < n; j++) {
            const mrx_event *ev = &events[j];
            if (strcmp(ev->bundle, added->bundle) != 0 ||
                (ev->type != MRX_EV_BUNDLE_FETCHED && ev->type != MRX_EV_BUNDLE_OPENED))
                continue;
            mrx_text_format_time(when, ev->time);
            json_t *who = json_pack("{s:s,s:o,s:s}", "fingerprint", ev->author, "name",
                                    mrxd_key_name(node, ev->author), "time", when);
            if (who && ev->type == MRX_EV_BUNDLE_FETCHED) {
                json_object_set_new(who, "from", json_string(ev->peer));
                json_object_set_new(who, "from_name", mrxd_key_name(node, ev->peer));
            }
            json_array_append_new(ev->type == MRX_EV_BUNDLE_FETCHED ? fetched : opened, who);
        }
        r = json_pack("{s:s,s:s,s:I,s:s,s:o,s:o}", "bundle", added->bundle, "kind",
                      mrx_kind_name(added->kind), "size", (json_int_t)added->size, "sent",
                      ours ? "added" : "served", "fetched", fetched, "opened", opened);
        json_array_append_new(list, r);
    }
    return list;
}

int
mrxd_op_case_show(mrxd_job *job, json_t **result)
{
    static const mrx_control_param spec[] = {{"case", MRX_PARAM_STRING, 1}};
    mrx_node *node = mrxd_job_node(job);
    char (*feeds)[MRX_FPR_LEN + 1] = NULL, what[256], when[MRX_TIME_LEN + 1];
    struct timeline t = {NULL, 0, 0, NULL};
    json_t *events = NULL, *problems = NULL, *members = NULL;
    mrx_ledger *ledger = NULL;
    mrx_case *c = NULL;
    size_t n_feeds = 0;
    int rc;

    if ((rc = mrxd_params(job, spec, 1)) < 0 || (rc = load_case(&ledger, &c, job)) < 0 ||
        (rc = mrx_ledger_feeds(ledger, &feeds, &n_feeds)) < 0)
        goto out;
    events = json_array();
    problems = json_array();
    members = json_array();
    t.c = c;
    /* each feed verifies on its own: a bad one is reported, the rest shown */
    for (size_t i = 0; i < n_feeds; i++) {
        size_t before = t.n;
        if (mrx_ledger_read_feed(ledger, mrx_node_pgp(node), feeds[i], add_event, &t) < 0) {
            t.n = before;
            json_array_append_new(problems, json_pack("{s:s,s:s}", "feed", feeds[i], "problem",
                                                      mrx_error_last()));
        }
    }
    if (t.n)
        qsort(t.events, t.n, sizeof *t.events, by_time);
    for (size_t i = 0; i < t.n; i++) {
        const mrx_event *ev = &t.events[i];
        mrx_text_format_time(when, ev->time);
        mrxd_describe_event(what, sizeof what, node, ev);
        json_t *e = json_pack("{s:s,s:s,s:s,s:o,s:I,s:s}", "time", when, "type",
                              mrx_event_type_name(ev->type), "author", ev->author, "author_name",
                              mrxd_key_name(node, ev->author), "seq", (json_int_t)ev->seq,
                              "summary", what);
        /* the event's own fields, for programs */
        if (e && ev->member[0])
            json_object_set_new(e, "member", json_string(ev->member));
        if (e && ev->bundle[0])
            json_object_set_new(e, "bundle", json_string(ev->bundle));
        if (e && ev->peer[0])
            json_object_set_new(e, "peer", json_string(ev->peer));
        if (e && ev->type == MRX_EV_BUNDLE_ADDED) {
            json_object_set_new(e, "kind", json_string(mrx_kind_name(ev->kind)));
            json_object_set_new(e, "size", json_integer((json_int_t)ev->size));
            json_object_set_new(e, "held", json_boolean(mrx_store_has(node, mrx_ledger_case_id(ledger),
                                                                      ev->bundle)));
        }
        json_array_append_new(events, e);
    }
    for (size_t i = 0; i < mrx_case_member_count(c); i++) {
        const mrx_member *m = mrx_case_member_at(c, i);
        json_array_append_new(members, json_pack("{s:s,s:o,s:s,s:b}", "fingerprint", m->fpr,
                                                 "name", mrxd_key_name(node, m->fpr), "role",
                                                 mrx_member_role_name(m->role), "active",
                                                 m->active));
    }
    *result = json_pack("{s:s,s:s,s:s,s:o,s:O,s:O,s:O,s:o}", "id", mrx_ledger_case_id(ledger),
                        "title", mrx_ledger_title(ledger), "owner", mrx_ledger_owner(ledger),
                        "owner_name", mrxd_key_name(node, mrx_ledger_owner(ledger)), "members",
                        members, "events", events, "problems", problems, "receipts",
                        receipts(node, t.events, t.n));
    rc = *result ? 0 : no_memory();
out:
    json_decref(events);
    json_decref(problems);
    json_decref(members);
    free(t.events);
    free(feeds);
    mrx_case_destroy(&c);
    mrx_ledger_destroy(&ledger);
    return rc;
}

/* The node must own the case to change its members. */
static int
must_own(mrx_node *node, mrx_ledger *ledger)
{
    if (strcmp(mrx_node_config(node)->fpr, mrx_ledger_owner(ledger)) != 0)
        return mrx_error_set(MRX_EDENIED, "only the case's owner (%s) grants and revokes",
                             mrx_ledger_owner(ledger));
    return 0;
}

/* The "member" parameter as a fingerprint. */
static int
member_param(char fpr[MRX_FPR_LEN + 1], mrxd_job *job)
{
    const char *arg = mrx_control_string(mrxd_job_request(job), "member");

    if (mrx_text_normalize_fpr(fpr, arg) < 0)
        return mrx_error_set(MRX_EINVAL, "\"%.60s\" is not a fingerprint", arg);
    return 0;
}

int
mrxd_op_grant(mrxd_job *job, json_t **result)
{
    static const mrx_control_param spec[] = {{"case", MRX_PARAM_STRING, 1},
                                             {"member", MRX_PARAM_STRING, 1},
                                             {"role", MRX_PARAM_STRING, 1}};
    mrx_node *node = mrxd_job_node(job);
    mrx_ledger_author author = author_of(node);
    char fpr[MRX_FPR_LEN + 1];
    mrx_ledger *ledger = NULL;
    mrx_case *c = NULL;
    mrx_cert *cert = NULL;
    const mrx_member *m;
    mrx_member_role role;
    mrx_event ev;
    int rc;

    if ((rc = mrxd_params(job, spec, 3)) < 0 || (rc = member_param(fpr, job)) < 0 ||
        (rc = mrx_member_role_parse(&role, mrx_control_string(mrxd_job_request(job), "role"))) <
            0 ||
        (rc = load_case(&ledger, &c, job)) < 0 || (rc = must_own(node, ledger)) < 0)
        goto out;
    if (strcmp(fpr, mrx_ledger_owner(ledger)) == 0) {
        rc = mrx_error_set(MRX_EINVAL, "the owner is not a member of its own case");
        goto out;
    }
    /* the member's certificate goes into the ledger, so it must be known */
    if ((rc = mrx_node_peer_get(node, &cert, fpr)) < 0)
        goto out;
    if ((m = mrx_case_member(c, fpr)) && m->active && m->role == role) {
        rc = mrx_error_set(MRX_EEXIST, "%s is already a %s of this case", fpr,
                           mrx_member_role_name(role));
        goto out;
    }
    memset(&ev, 0, sizeof ev);
    ev.type = MRX_EV_MEMBER_ADDED;
    strcpy(ev.member, fpr);
    ev.role = role;
    if ((rc = mrx_ledger_append(ledger, &author, &ev, mrx_cert_text(cert), NULL)) < 0)
        goto out;
    *result = json_pack("{s:s,s:s,s:o,s:s,s:I}", "case", mrx_ledger_case_id(ledger), "member", fpr,
                        "member_name", mrxd_key_name(node, fpr), "role",
                        mrx_member_role_name(role), "seq", (json_int_t)ev.seq);
    rc = *result ? 0 : no_memory();
out:
    mrx_cert_destroy(&cert);
    mrx_case_destroy(&c);
    mrx_ledger_destroy(&ledger);
    return rc;
}

int
mrxd_op_revoke(mrxd_job *job, json_t **result)
{
    static const mrx_control_param spec[] = {{"case", MRX_PARAM_STRING, 1},
                                             {"member", MRX_PARAM_STRING, 1}};
    mrx_node *node = mrxd_job_node(job);
    mrx_ledger_author author = author_of(node);
    char fpr[MRX_FPR_LEN + 1];
    mrx_ledger *ledger = NULL;
    mrx_case *c = NULL;
    const mrx_member *m;
    mrx_event ev;
    int rc;

    if ((rc = mrxd_params(job, spec, 2)) < 0 || (rc = member_param(fpr, job)) < 0 ||
        (rc = load_case(&ledger, &c, job)) < 0 || (rc = must_own(node, ledger)) < 0)
        goto out;
    if (!(m = mrx_case_member(c, fpr)) || !m->active) {
        rc = mrx_error_set(MRX_ENOTFOUND, "%s is not a member of this case", fpr);
        goto out;
    }
    memset(&ev, 0, sizeof ev);
    ev.type = MRX_EV_MEMBER_REMOVED;
    strcpy(ev.member, fpr);
    if ((rc = mrx_ledger_append(ledger, &author, &ev, NULL, NULL)) < 0)
        goto out;
    *result = json_pack("{s:s,s:s,s:o,s:I}", "case", mrx_ledger_case_id(ledger), "member", fpr,
                        "member_name", mrxd_key_name(node, fpr), "seq", (json_int_t)ev.seq);
    rc = *result ? 0 : no_memory();
out:
    mrx_case_destroy(&c);
    mrx_ledger_destroy(&ledger);
    return rc;
}

int
mrxd_op_add(mrxd_job *job, json_t **result)
{
    static const mrx_control_param spec[] = {{"case", MRX_PARAM_STRING, 1},
                                             {"kind", MRX_PARAM_STRING, 1},
                                             {"paths", MRX_PARAM_PATHS, 1}};
    mrx_node *node = mrxd_job_node(job);
    mrx_ledger_author author = author_of(node);
    char readers[MRX_EVENT_READERS_MAX][MRX_FPR_LEN + 1];
    const char *reader_ptrs[MRX_EVENT_READERS_MAX], **inputs = NULL;
    json_t *paths, *list = NULL, *names = NULL;
    size_t n_readers = 0;
    char *store = NULL;
    mrx_ledger *ledger = NULL;
    mrx_bundle_spec bspec;
    mrx_bundle_info info;
    mrx_case *c = NULL;
    mrx_event ev;
    int rc;

    memset(&bspec, 0, sizeof bspec);
    if ((rc = mrxd_params(job, spec, 3)) < 0 ||
        (rc = mrx_kind_parse(&bspec.kind, mrx_control_string(mrxd_job_request(job), "kind"))) <
            0 ||
        (rc = load_case(&ledger, &c, job)) < 0 ||
        (rc = mrx_case_may_write(c, mrx_node_config(node)->fpr, MRX_EV_BUNDLE_ADDED, bspec.kind)) <
            0 ||
        (rc = mrx_case_readers(c, mrx_node_config(node)->fpr, readers, &n_readers)) < 0 ||
        (rc = mrx_case_import_member_keys(c, node)) < 0)
        goto out;
    paths = mrx_control_array(mrxd_job_request(job), "paths");
    if (!(store = mrx_store_dir(node, mrx_ledger_case_id(ledger))) ||
        !(inputs = calloc(json_array_size(paths), sizeof *inputs))) {
        rc = no_memory();
        goto out;
    }
    if ((rc = mrx_fs_mkdir_p(store, 0700)) < 0)
        goto out;
    for (size_t i = 0; i < json_array_size(paths); i++)
        inputs[i] = json_string_value(json_array_get(paths, i));
    for (size_t i = 0; i < n_readers; i++)
        reader_ptrs[i] = readers[i];
    bspec.pgp = mrx_node_pgp(node);
    bspec.author = mrx_node_config(node)->fpr;
    bspec.recipients = reader_ptrs;
    bspec.n_recipients = n_readers;
    bspec.inputs = inputs;
    bspec.n_inputs = json_array_size(paths);
    bspec.progress = mrxd_job_progress(job);
    /* the bundle is in the store, fsynced, before the event names it */
    if ((rc = mrx_bundle_create(&info, &bspec, store)) < 0)
        goto out;
    memset(&ev, 0, sizeof ev);
    ev.type = MRX_EV_BUNDLE_ADDED;
    strcpy(ev.bundle, info.id);
    ev.size = info.size;
    ev.kind = info.kind;
    memcpy(ev.readers, readers, sizeof readers);
    ev.n_readers = n_readers;
    if ((rc = mrx_ledger_append(ledger, &author, &ev, NULL, NULL)) < 0)
        goto out;
    list = json_array();
    names = json_array();
    for (size_t i = 0; i < n_readers; i++) {
        json_array_append_new(list, json_string(readers[i]));
        json_array_append_new(names, mrxd_key_name(node, readers[i]));
    }
    *result = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:b,s:O,s:O}", "case",
                        mrx_ledger_case_id(ledger), "bundle", info.id, "kind",
                        mrx_kind_name(info.kind), "size", (json_int_t)info.size, "bytes",
                        (json_int_t)info.bytes, "files", (json_int_t)info.files, "compressed",
                        info.compressed, "readers", list, "reader_names", names);
    rc = *result ? 0 : no_memory();
out:
    json_decref(list);
    json_decref(names);
    free(inputs);
    free(store);
    mrx_case_destroy(&c);
    mrx_ledger_destroy(&ledger);
    return rc;
}

/* Finds the bundle-added event of a bundle named by id or prefix. */
struct finder {
    const char *prefix; /* what was asked for */
    mrx_event found;    /* the matching event */
    int matches;        /* how many bundles matched */
};

static int
find_bundle(void *arg, const mrx_event *ev, const char *commit)
{
    struct finder *f = arg;

    (void)commit;
    if (ev->type == MRX_EV_BUNDLE_ADDED && strncmp(ev->bundle, f->prefix, strlen(f->prefix)) == 0 &&
        (f->matches == 0 || strcmp(f->found.bundle, ev->bundle) != 0)) {
        f->found = *ev;
        f->matches++;
    }
    return 0;
}

int
mrxd_op_get(mrxd_job *job, json_t **result)
{
    static const mrx_control_param spec[] = {{"case", MRX_PARAM_STRING, 1},
                                             {"bundle", MRX_PARAM_STRING, 1},
                                             {"out", MRX_PARAM_PATH, 1}};
    mrx_node *node = mrxd_job_node(job);
    mrx_ledger_author author = author_of(node);
    char (*feeds)[MRX_FPR_LEN + 1] = NULL;
    const char *arg, *out;
    char *store = NULL, *path = NULL;
    size_t n_feeds = 0;
    mrx_ledger *ledger = NULL;
    mrx_bundle_info info;
    mrx_case *c = NULL;
    struct finder f;
    mrx_event ev;
    int rc, bad_feeds = 0, recorded = 0;

    if ((rc = mrxd_params(job, spec, 3)) < 0)
        return rc;
    arg = mrx_control_string(mrxd_job_request(job), "bundle");
    out = mrx_control_string(mrxd_job_request(job), "out");
    if (!mrx_text_is_id_prefix(arg))
        return mrx_error_set(MRX_EINVAL, "\"%.70s\" is not a bundle id (at least %d lowercase hex "
                                         "digits)",
                             arg, MRX_ID_PREFIX_MIN);
    memset(&f, 0, sizeof f);
    f.prefix = arg;
    if ((rc = load_case(&ledger, &c, job)) < 0 ||
        (rc = mrx_ledger_feeds(ledger, &feeds, &n_feeds)) < 0)
        goto out;
    /* only verified events count: a feed that does not verify names
     * nothing, and does not keep the others from being used */
    for (size_t i = 0; i < n_feeds; i++)
        if (mrx_ledger_read_feed(ledger, mrx_node_pgp(node), feeds[i], find_bundle, &f) < 0)
            bad_feeds++;
    if (f.matches != 1) {
        rc = f.matches ? mrx_error_set(MRX_EINVAL, "bundle %s: ambiguous, give more digits", arg)
                       : mrx_error_set(MRX_ENOTFOUND, "bundle %s: no such bundle in this case%s",
                                       arg, bad_feeds ? " (some feeds did not verify)" : "");
        goto out;
    }
    if (!(store = mrx_store_dir(node, mrx_ledger_case_id(ledger))) ||
        asprintf(&path, "%s/%s.mrx", store, f.found.bundle) < 0) {
        path = NULL;
        rc = no_memory();
        goto out;
    }
    if (access(path, F_OK) != 0) {
        rc = mrx_error_set(MRX_ENOTFOUND, "bundle %.16s: not on this node yet", f.found.bundle);
        goto out;
    }
    /* the bytes must be the ones the ledger names, signed by who added them */
    if ((rc = mrx_bundle_open(&info, mrx_node_pgp(node), f.found.author, f.found.bundle, path, out,
                              mrxd_job_progress(job))) < 0)
        goto out;
    /* an opening the ledger cannot hold is no opening: the files go */
    if ((recorded = mrx_case_may_write(c, mrx_node_config(node)->fpr, MRX_EV_BUNDLE_OPENED,
                                       info.kind) == 0)) {
        memset(&ev, 0, sizeof ev);
        ev.type = MRX_EV_BUNDLE_OPENED;
        strcpy(ev.bundle, info.id);
        if ((rc = mrx_ledger_append(ledger, &author, &ev, NULL, NULL)) < 0) {
            mrx_fs_remove_tree(out);
            goto out;
        }
    }
    *result = json_pack("{s:s,s:s,s:s,s:s,s:o,s:I,s:I,s:s,s:b}", "case",
                        mrx_ledger_case_id(ledger), "bundle", info.id, "kind",
                        mrx_kind_name(info.kind), "author", info.author, "author_name",
                        mrxd_key_name(node, info.author), "files", (json_int_t)info.files, "bytes",
                        (json_int_t)info.bytes, "path", out, "recorded", recorded);
    rc = *result ? 0 : no_memory();
out:
    free(store);
    free(path);
    free(feeds);
    mrx_case_destroy(&c);
    mrx_ledger_destroy(&ledger);
    return rc;
}
