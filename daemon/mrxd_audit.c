/*
 * mrxd_audit: the request audit, the patient's verified timeline of a
 * case (docs/audit.md). proto/mrx_audit.c judges every line; this
 * handler names the keys and writes the result.
 */
#include "mrxd_ops.h"
#include "mrx_audit.h"
#include "mrx_case.h"
#include "mrx_error.h"

#include <stdlib.h>
#include <string.h>

/* {"fingerprint", "name"} of a key. */
static json_t *
key_json(mrx_node *node, const char *fpr)
{
    return json_pack("{s:s,s:o}", "fingerprint", fpr, "name", mrxd_key_name(node, fpr));
}

/* The line as an event again, to describe it as mrx case show does. */
static void
line_event(mrx_event *ev, const mrx_audit_line *l)
{
    memset(ev, 0, sizeof *ev);
    ev->type = l->type;
    memcpy(ev->author, l->who, sizeof ev->author);
    memcpy(ev->member, l->member, sizeof ev->member);
    ev->role = l->role;
    memcpy(ev->bundle, l->bundle, sizeof ev->bundle);
    memcpy(ev->peer, l->peer, sizeof ev->peer);
    ev->kind = l->bundle_kind;
    ev->size = l->bundle_size;
    ev->n_readers = l->bundle_readers;
}

static json_t *
line_json(mrx_node *node, const mrx_audit_line *l)
{
    char when[MRX_TIME_LEN + 1], what[256];
    json_t *j, *flags = json_array();
    mrx_event ev;

    mrx_text_format_time(when, l->time);
    for (unsigned bit = 1; bit <= MRX_AUDIT_FLAG_LAST; bit <<= 1)
        if (l->flags & bit)
            json_array_append_new(flags, json_string(mrx_audit_flag_name(bit)));
    j = json_pack("{s:s,s:s,s:b,s:o}", "time", when, "kind", mrx_audit_kind_name(l->kind),
                  "verified", !l->flags, "flags", flags);
    if (!j)
        return NULL;
    if (l->who[0]) {
        json_object_set_new(j, "who", key_json(node, l->who));
        json_object_set_new(j, "standing", json_string(mrx_audit_standing_name(l->standing)));
        if (l->standing == MRX_AUDIT_ROLE_MEMBER)
            json_object_set_new(j, "role", json_string(mrx_member_role_name(l->member_role)));
    }
    if (l->problem[0])
        json_object_set_new(j, "problem", json_string(l->problem));
    if (l->commit[0])
        json_object_set_new(j, "commit", json_string(l->commit));
    if (l->kind == MRX_AUDIT_REQUEST) {
        char server[128];
        mrx_node_describe_key(node, server, sizeof server, l->peer);
        snprintf(what, sizeof what, "asked %s for bundle %.12s (its signed request, kept there)",
                 server, l->bundle);
        json_object_set_new(j, "summary", json_string(what));
    } else if (l->kind == MRX_AUDIT_EVENT) {
        line_event(&ev, l);
        mrxd_describe_event(what, sizeof what, node, &ev);
        json_object_set_new(j, "type", json_string(mrx_event_type_name(l->type)));
        json_object_set_new(j, "seq", json_integer((json_int_t)l->seq));
        json_object_set_new(j, "summary", json_string(what));
    }
    if (l->member[0]) {
        json_t *m = key_json(node, l->member);
        if (m && l->type == MRX_EV_MEMBER_ADDED)
            json_object_set_new(m, "role", json_string(mrx_member_role_name(l->role)));
        json_object_set_new(j, "member", m);
    }
    if (l->peer[0])
        json_object_set_new(j, "peer", key_json(node, l->peer));
    if (l->bundle[0]) {
        json_t *b = json_pack("{s:s}", "id", l->bundle);
        if (b && l->bundle_known) {
            json_object_set_new(b, "kind", json_string(mrx_kind_name(l->bundle_kind)));
            json_object_set_new(b, "size", json_integer((json_int_t)l->bundle_size));
            json_object_set_new(b, "readers", json_integer((json_int_t)l->bundle_readers));
        }
        json_object_set_new(j, "bundle", b);
    }
    return j;
}

int
mrxd_op_audit(mrxd_job *job, json_t **result)
{
    static const mrx_control_param spec[] = {{"case", MRX_PARAM_STRING, 1}};
    const mrxd_info *info = mrxd_job_info(job);
    mrx_node *node = mrxd_job_node(job);
    char id[MRX_SHA256_HEX_LEN + 1], at[MRX_TIME_LEN + 1];
    mrx_ledger *ledger = NULL;
    mrx_audit *audit = NULL;
    json_t *lines = NULL;
    long interval;
    int rc;

    if ((rc = mrxd_params(job, spec, 1)) < 0 ||
        (rc = mrx_case_resolve(id, node, mrx_control_string(mrxd_job_request(job), "case"))) < 0 ||
        (rc = mrx_case_open_ledger(&ledger, node, id)) < 0)
        goto out;
    pthread_mutex_lock(info->config_lock);
    interval = info->config->report_interval;
    pthread_mutex_unlock(info->config_lock);
    if ((rc = mrx_audit_make(&audit, ledger, node, time(NULL), interval)) < 0)
        goto out;
    lines = json_array();
    for (size_t i = 0; lines && i < audit->n; i++)
        if (json_array_append_new(lines, line_json(node, &audit->lines[i])) < 0) {
            rc = mrx_error_set(MRX_ENOMEM, "out of memory");
            goto out;
        }
    mrx_text_format_time(at, audit->at);
    *result = json_pack("{s:s,s:s,s:s,s:o,s:s,s:I,s:I,s:I,s:b,s:O}", "case", audit->case_id,
                        "title", mrx_ledger_title(ledger), "owner", audit->owner, "owner_name",
                        mrxd_key_name(node, audit->owner), "at", at, "report_interval",
                        (json_int_t)audit->report_interval, "events", (json_int_t)audit->events,
                        "flagged", (json_int_t)audit->flagged, "verified", audit->flagged == 0,
                        "lines", lines);
    rc = *result ? 0 : mrx_error_set(MRX_ENOMEM, "out of memory");
out:
    json_decref(lines);
    mrx_audit_destroy(&audit);
    mrx_ledger_destroy(&ledger);
    return rc;
}
