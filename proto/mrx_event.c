/*
 * mrx_event: print and parse ledger events.
 */
#include "mrx_event.h"
#include "mrx_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_VERSION "1"

static const char *const type_names[] = {
    "case-created",   "member-added",   "member-removed", "bundle-added",
    "bundle-withdrawn", "bundle-served", "bundle-fetched", "bundle-opened",
};

static const char *const member_role_names[] = {"contributor", "reviewer", "relay"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

int
mrx_event_type_parse(mrx_event_type *out, const char *name)
{
    for (size_t i = 0; i < COUNT(type_names); i++)
        if (strcmp(name, type_names[i]) == 0) {
            *out = (mrx_event_type)i;
            return 0;
        }
    return mrx_error_set(MRX_EFORMAT, "unknown event type \"%.32s\"", name);
}

const char *
mrx_event_type_name(mrx_event_type type)
{
    return (unsigned)type < COUNT(type_names) ? type_names[type] : "?";
}

int
mrx_member_role_parse(mrx_member_role *out, const char *name)
{
    for (size_t i = 0; i < COUNT(member_role_names); i++)
        if (strcmp(name, member_role_names[i]) == 0) {
            *out = (mrx_member_role)i;
            return 0;
        }
    return mrx_error_set(MRX_EINVAL, "unknown member role \"%.32s\" (contributor, reviewer or "
                                     "relay)",
                         name);
}

const char *
mrx_member_role_name(mrx_member_role role)
{
    return (unsigned)role < COUNT(member_role_names) ? member_role_names[role] : "?";
}

static int
is_nonce(const char *s)
{
    size_t i;

    for (i = 0; i < MRX_NONCE_HEX_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[i] == '\0';
}

/* Every rule an event must satisfy, whether made here or read. */
static int
validate(const mrx_event *ev)
{
    if ((unsigned)ev->type >= COUNT(type_names))
        return mrx_error_set(MRX_EFORMAT, "bad event type");
    if (!mrx_text_is_fpr(ev->author))
        return mrx_error_set(MRX_EFORMAT, "event author is not a fingerprint");
    if (ev->type == MRX_EV_CASE_CREATED) {
        if (ev->seq != 0 || ev->case_id[0])
            return mrx_error_set(MRX_EFORMAT, "case-created must be the first event and name no "
                                              "case");
        if (!is_nonce(ev->nonce))
            return mrx_error_set(MRX_EFORMAT, "case-created needs a 32-digit hex nonce");
    } else if (!mrx_sha256_hex_valid(ev->case_id)) {
        return mrx_error_set(MRX_EFORMAT, "%s names no valid case", mrx_event_type_name(ev->type));
    }
    if (ev->seq == 0 ? ev->prev[0] != '\0' : !mrx_sha256_hex_valid(ev->prev))
        return mrx_error_set(MRX_EFORMAT, "event %llu: prev must be absent at seq 0 and a "
                                          "SHA-256 after",
                             (unsigned long long)ev->seq);
    switch (ev->type) {
    case MRX_EV_MEMBER_ADDED:
        if ((unsigned)ev->role >= COUNT(member_role_names))
            return mrx_error_set(MRX_EFORMAT, "member-added: bad role");
        /* fall through */
    case MRX_EV_MEMBER_REMOVED:
        if (!mrx_text_is_fpr(ev->member))
            return mrx_error_set(MRX_EFORMAT, "%s: member is not a fingerprint",
                                 mrx_event_type_name(ev->type));
        if (strcmp(ev->member, ev->author) == 0)
            return mrx_error_set(MRX_EFORMAT, "%s: the author cannot name itself",
                                 mrx_event_type_name(ev->type));
        break;
    case MRX_EV_BUNDLE_ADDED:
        if (ev->n_readers == 0 || ev->n_readers > MRX_EVENT_READERS_MAX)
            return mrx_error_set(MRX_EFORMAT, "bundle-added names %zu readers (1-%d)",
                                 ev->n_readers, MRX_EVENT_READERS_MAX);
        for (size_t i = 0; i < ev->n_readers; i++) {
            if (!mrx_text_is_fpr(ev->readers[i]))
                return mrx_error_set(MRX_EFORMAT, "bundle-added: reader is not a fingerprint");
            for (size_t j = 0; j < i; j++)
                if (strcmp(ev->readers[i], ev->readers[j]) == 0)
                    return mrx_error_set(MRX_EFORMAT, "bundle-added names reader %s twice",
                                         ev->readers[i]);
        }
        if (strcmp(mrx_kind_name(ev->kind), "?") == 0)
            return mrx_error_set(MRX_EFORMAT, "bundle-added: bad kind");
        /* fall through */
    case MRX_EV_BUNDLE_WITHDRAWN:
    case MRX_EV_BUNDLE_OPENED:
    case MRX_EV_BUNDLE_SERVED:
    case MRX_EV_BUNDLE_FETCHED:
        if (!mrx_sha256_hex_valid(ev->bundle))
            return mrx_error_set(MRX_EFORMAT, "%s: bundle is not a SHA-256",
                                 mrx_event_type_name(ev->type));
        if ((ev->type == MRX_EV_BUNDLE_SERVED || ev->type == MRX_EV_BUNDLE_FETCHED) &&
            (!mrx_text_is_fpr(ev->peer) || strcmp(ev->peer, ev->author) == 0))
            return mrx_error_set(MRX_EFORMAT, "%s: peer must be another node's fingerprint",
                                 mrx_event_type_name(ev->type));
        break;
    case MRX_EV_CASE_CREATED:
        break;
    }
    return 0;
}

int
mrx_event_format(const mrx_event *ev, char **out, size_t *out_len)
{
    char when[MRX_TIME_LEN + 1];
    char *buf = NULL;
    size_t len = 0;
    FILE *f;
    int rc;

    *out = NULL;
    if ((rc = validate(ev)) < 0)
        return mrx_error_set(MRX_EINVAL, "%s", mrx_error_last());
    if (!(f = open_memstream(&buf, &len)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    mrx_text_format_time(when, ev->time);
    fprintf(f, "mrx-event: " EVENT_VERSION "\ntype: %s\n", mrx_event_type_name(ev->type));
    if (ev->type != MRX_EV_CASE_CREATED)
        fprintf(f, "case: %s\n", ev->case_id);
    fprintf(f, "author: %s\nseq: %llu\ntime: %s\n", ev->author, (unsigned long long)ev->seq,
            when);
    if (ev->seq > 0)
        fprintf(f, "prev: %s\n", ev->prev);
    switch (ev->type) {
    case MRX_EV_CASE_CREATED:
        fprintf(f, "nonce: %s\n", ev->nonce);
        break;
    case MRX_EV_MEMBER_ADDED:
        fprintf(f, "member: %s\nrole: %s\n", ev->member, mrx_member_role_name(ev->role));
        break;
    case MRX_EV_MEMBER_REMOVED:
        fprintf(f, "member: %s\n", ev->member);
        break;
    case MRX_EV_BUNDLE_ADDED:
        fprintf(f, "bundle: %s\nsize: %llu\nkind: %s\n", ev->bundle,
                (unsigned long long)ev->size, mrx_kind_name(ev->kind));
        for (size_t i = 0; i < ev->n_readers; i++)
            fprintf(f, "reader: %s\n", ev->readers[i]);
        break;
    case MRX_EV_BUNDLE_SERVED:
        fprintf(f, "bundle: %s\nto: %s\n", ev->bundle, ev->peer);
        break;
    case MRX_EV_BUNDLE_FETCHED:
        fprintf(f, "bundle: %s\nfrom: %s\n", ev->bundle, ev->peer);
        break;
    case MRX_EV_BUNDLE_WITHDRAWN:
    case MRX_EV_BUNDLE_OPENED:
        fprintf(f, "bundle: %s\n", ev->bundle);
        break;
    }
    if (fclose(f) != 0) {
        free(buf);
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    }
    *out = buf;
    if (out_len)
        *out_len = len;
    return 0;
}

/* A cursor over event text, one "key: value" line at a time. */
struct cursor {
    char *next;    /* the rest of the text */
    size_t line;   /* line number, for messages */
};

/* Take the next line, which must be "key: value" with this key. */
static int
take(char **value, struct cursor *c, const char *key)
{
    char *line = c->next, *nl, *k;

    c->line++;
    if (!*line)
        return mrx_error_set(MRX_EFORMAT, "event line %zu: missing \"%s\"", c->line, key);
    if (!(nl = strchr(line, '\n')))
        return mrx_error_set(MRX_EFORMAT, "event line %zu: missing end of line", c->line);
    *nl = '\0';
    c->next = nl + 1;
    if (mrx_text_split_field(&k, value, line) < 0 || strcmp(k, key) != 0)
        return mrx_error_set(MRX_EFORMAT, "event line %zu: expected \"%s: ...\"", c->line, key);
    return 0;
}

static int
take_copy(char *dst, size_t cap, struct cursor *c, const char *key)
{
    char *value;
    int rc;

    if ((rc = take(&value, c, key)) < 0)
        return rc;
    if (strlen(value) >= cap)
        return mrx_error_set(MRX_EFORMAT, "event line %zu: \"%s\" too long", c->line, key);
    strcpy(dst, value);
    return 0;
}

static int
take_u64(uint64_t *out, struct cursor *c, const char *key)
{
    unsigned long long v;
    char *value;
    int rc;

    if ((rc = take(&value, c, key)) < 0)
        return rc;
    if (mrx_text_parse_u64(&v, value) < 0)
        return mrx_error_set(MRX_EFORMAT, "event line %zu: bad %s", c->line, key);
    *out = v;
    return 0;
}

int
mrx_event_parse(mrx_event *out, const char *text, size_t len)
{
    struct cursor c = {NULL, 0};
    char *copy = NULL, *value;
    mrx_event ev;
    int rc;

    memset(out, 0, sizeof *out);
    memset(&ev, 0, sizeof ev);
    if (len > MRX_EVENT_MAX)
        return mrx_error_set(MRX_ELIMIT, "event larger than %d bytes", MRX_EVENT_MAX);
    if (memchr(text, '\0', len))
        return mrx_error_set(MRX_EFORMAT, "event holds a NUL byte");
    if (!(copy = strndup(text, len)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    c.next = copy;
    if ((rc = take(&value, &c, "mrx-event")) < 0)
        goto out;
    if (strcmp(value, EVENT_VERSION) != 0) {
        rc = mrx_error_set(MRX_EFORMAT, "event version \"%.8s\" not supported", value);
        goto out;
    }
    if ((rc = take(&value, &c, "type")) < 0 || (rc = mrx_event_type_parse(&ev.type, value)) < 0)
        goto out;
    if (ev.type != MRX_EV_CASE_CREATED &&
        (rc = take_copy(ev.case_id, sizeof ev.case_id, &c, "case")) < 0)
        goto out;
    if ((rc = take_copy(ev.author, sizeof ev.author, &c, "author")) < 0 ||
        (rc = take_u64(&ev.seq, &c, "seq")) < 0 || (rc = take(&value, &c, "time")) < 0)
        goto out;
    if (mrx_text_parse_time(&ev.time, value) < 0) {
        rc = mrx_error_set(MRX_EFORMAT, "event line %zu: bad time", c.line);
        goto out;
    }
    if (ev.seq > 0 && (rc = take_copy(ev.prev, sizeof ev.prev, &c, "prev")) < 0)
        goto out;
    switch (ev.type) {
    case MRX_EV_CASE_CREATED:
        rc = take_copy(ev.nonce, sizeof ev.nonce, &c, "nonce");
        break;
    case MRX_EV_MEMBER_ADDED:
        if ((rc = take_copy(ev.member, sizeof ev.member, &c, "member")) < 0 ||
            (rc = take(&value, &c, "role")) < 0)
            break;
        if ((rc = mrx_member_role_parse(&ev.role, value)) < 0)
            rc = mrx_error_set(MRX_EFORMAT, "%s", mrx_error_last());
        break;
    case MRX_EV_MEMBER_REMOVED:
        rc = take_copy(ev.member, sizeof ev.member, &c, "member");
        break;
    case MRX_EV_BUNDLE_ADDED:
        if ((rc = take_copy(ev.bundle, sizeof ev.bundle, &c, "bundle")) < 0 ||
            (rc = take_u64(&ev.size, &c, "size")) < 0 || (rc = take(&value, &c, "kind")) < 0)
            break;
        if ((rc = mrx_kind_parse(&ev.kind, value)) < 0) {
            rc = mrx_error_set(MRX_EFORMAT, "%s", mrx_error_last());
            break;
        }
        do {
            if (ev.n_readers == MRX_EVENT_READERS_MAX) {
                rc = mrx_error_set(MRX_EFORMAT, "bundle-added names more than %d readers",
                                   MRX_EVENT_READERS_MAX);
                break;
            }
            rc = take_copy(ev.readers[ev.n_readers], sizeof ev.readers[0], &c, "reader");
            if (rc == 0)
                ev.n_readers++;
        } while (rc == 0 && *c.next);
        break;
    case MRX_EV_BUNDLE_SERVED:
        if ((rc = take_copy(ev.bundle, sizeof ev.bundle, &c, "bundle")) == 0)
            rc = take_copy(ev.peer, sizeof ev.peer, &c, "to");
        break;
    case MRX_EV_BUNDLE_FETCHED:
        if ((rc = take_copy(ev.bundle, sizeof ev.bundle, &c, "bundle")) == 0)
            rc = take_copy(ev.peer, sizeof ev.peer, &c, "from");
        break;
    case MRX_EV_BUNDLE_WITHDRAWN:
    case MRX_EV_BUNDLE_OPENED:
        rc = take_copy(ev.bundle, sizeof ev.bundle, &c, "bundle");
        break;
    }
    if (rc < 0)
        goto out;
    if (*c.next) {
        rc = mrx_error_set(MRX_EFORMAT, "event line %zu: unexpected text after the last field",
                           c.line + 1);
        goto out;
    }
    if ((rc = validate(&ev)) < 0)
        goto out;
    *out = ev;
out:
    free(copy);
    return rc;
}
