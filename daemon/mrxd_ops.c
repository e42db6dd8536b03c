/*
 * mrxd_ops: the request table, and the requests about the node itself:
 * status, id, peer-add, peer-list.
 */
#include "mrxd_ops.h"
#include "mrx_error.h"
#include "mrx_fs.h"
#include "mrxd_sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int op_status(mrxd_job *job, json_t **result);
static int op_id(mrxd_job *job, json_t **result);
static int op_peer_add(mrxd_job *job, json_t **result);
static int op_peer_list(mrxd_job *job, json_t **result);
static int op_peer_remove(mrxd_job *job, json_t **result);

static const mrxd_op ops[] = {
    {"status", op_status},
    {"id", op_id},
    {"peer-add", op_peer_add},
    {"peer-list", op_peer_list},
    {"peer-remove", op_peer_remove},
    {"case-new", mrxd_op_case_new},
    {"case-list", mrxd_op_case_list},
    {"case-show", mrxd_op_case_show},
    {"grant", mrxd_op_grant},
    {"revoke", mrxd_op_revoke},
    {"add", mrxd_op_add},
    {"get", mrxd_op_get},
    {"sync", mrxd_op_sync},
    {"export", mrxd_op_export},
    {"import", mrxd_op_import},
    {"audit", mrxd_op_audit},
};

const mrxd_op *
mrxd_op_find(const char *name)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(ops[i].name, name) == 0)
            return &ops[i];
    return NULL;
}

int
mrxd_params(mrxd_job *job, const mrx_control_param *spec, size_t n)
{
    return mrx_control_check_params(mrxd_job_request(job), spec, n);
}

json_t *
mrxd_key_name(mrx_node *node, const char *fpr)
{
    char buf[128];

    mrx_node_describe_key(node, buf, sizeof buf, fpr);
    return json_string(buf);
}

static json_t *
endpoints(const mrx_cert *cert)
{
    json_t *list = json_array();

    for (size_t i = 0; i < mrx_cert_endpoint_count(cert); i++)
        json_array_append_new(list, json_string(mrx_cert_endpoint(cert, i)));
    return list;
}

/* When sync last heard from a peer (as mrxd_sync.c wrote it down), or
 * JSON null if never. */
static json_t *
last_contact(mrx_node *node, const char *fpr)
{
    char *path = NULL, *text = NULL;
    json_t *when = NULL;
    size_t len = 0;

    if (asprintf(&path, "%s/" MRXD_CONTACTS_DIR "/%s", mrx_node_home(node), fpr) >= 0 &&
        mrx_fs_read_file(&text, &len, path, 64) == 0) {
        text[strcspn(text, "\n")] = '\0';
        if (mrx_text_is_single_line(text, MRX_TIME_LEN))
            when = json_string(text);
    }
    free(text);
    free(path);
    return when ? when : json_null();
}

/* A peer as status and peer-list show it. */
static json_t *
peer_json(mrx_node *node, const mrx_cert *cert)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:o}", "name", mrx_cert_name(cert), "role",
                     mrx_role_name(mrx_cert_role(cert)), "fingerprint", mrx_cert_fpr(cert),
                     "endpoints", endpoints(cert), "last_contact",
                     last_contact(node, mrx_cert_fpr(cert)));
}

static int
peers_json(json_t **out, mrx_node *node)
{
    mrx_cert **peers = NULL;
    size_t n = 0;
    int rc;

    *out = NULL;
    if ((rc = mrx_node_peer_list(node, &peers, &n)) < 0)
        return rc;
    *out = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(*out, peer_json(node, peers[i]));
        mrx_cert_destroy(&peers[i]);
    }
    free(peers);
    return 0;
}

static int
op_status(mrxd_job *job, json_t **result)
{
    const mrxd_info *info = mrxd_job_info(job);
    mrx_node *node = mrxd_job_node(job);
    const mrx_cert *cert = mrx_node_cert(node);
    json_t *peers = NULL, *cases = NULL, *daemon;
    char started[MRX_TIME_LEN + 1];
    int rc;

    if ((rc = mrxd_params(job, NULL, 0)) < 0 || (rc = peers_json(&peers, node)) < 0 ||
        (rc = mrxd_case_summaries(&cases, node)) < 0) {
        json_decref(peers);
        return rc;
    }
    mrx_text_format_time(started, info->started);
    pthread_mutex_lock(info->config_lock);
    daemon = json_pack("{s:s,s:I,s:s,s:I,s:s,s:I,s:I,s:s}", "version", PACKAGE_VERSION, "pid",
                       (json_int_t)info->pid, "started", started, "uptime",
                       (json_int_t)(time(NULL) - info->started), "config", info->config_path,
                       "workers", (json_int_t)info->config->workers, "sync_interval",
                       (json_int_t)info->config->sync_interval, "log_level",
                       mrx_log_level_name(info->config->log_level));
    pthread_mutex_unlock(info->config_lock);
    *result = json_pack("{s:{s:s,s:s,s:s,s:o,s:s},s:o,s:o,s:o}", "node", "name",
                        mrx_cert_name(cert), "role", mrx_role_name(mrx_cert_role(cert)),
                        "fingerprint", mrx_cert_fpr(cert), "listen", endpoints(cert), "home",
                        info->home, "daemon", daemon, "peers", peers, "cases", cases);
    return *result ? 0 : mrx_error_set(MRX_ENOMEM, "out of memory");
}

static int
op_id(mrxd_job *job, json_t **result)
{
    const mrx_cert *cert = mrx_node_cert(mrxd_job_node(job));
    int rc;

    if ((rc = mrxd_params(job, NULL, 0)) < 0)
        return rc;
    *result = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s}", "name", mrx_cert_name(cert), "role",
                        mrx_role_name(mrx_cert_role(cert)), "fingerprint", mrx_cert_fpr(cert),
                        "curve", mrx_cert_curve(cert), "endpoints", endpoints(cert),
                        "certificate", mrx_cert_text(cert));
    return *result ? 0 : mrx_error_set(MRX_ENOMEM, "out of memory");
}

static int
op_peer_add(mrxd_job *job, json_t **result)
{
    static const mrx_control_param spec[] = {{"certificate", MRX_PARAM_DOCUMENT, 1}};
    const char *text;
    mrx_cert *cert = NULL;
    int rc;

    if ((rc = mrxd_params(job, spec, 1)) < 0)
        return rc;
    text = mrx_control_string(mrxd_job_request(job), "certificate");
    if ((rc = mrx_node_peer_add(mrxd_job_node(job), &cert, text, strlen(text))) < 0)
        return rc;
    *result = peer_json(mrxd_job_node(job), cert);
    mrx_cert_destroy(&cert);
    return *result ? 0 : mrx_error_set(MRX_ENOMEM, "out of memory");
}

static int
op_peer_remove(mrxd_job *job, json_t **result)
{
    static const mrx_control_param spec[] = {{"fingerprint", MRX_PARAM_STRING, 1}};
    const char *fpr;
    json_t *name;
    int rc;

    if ((rc = mrxd_params(job, spec, 1)) < 0)
        return rc;
    fpr = mrx_control_string(mrxd_job_request(job), "fingerprint");
    name = mrxd_key_name(mrxd_job_node(job), fpr);
    if ((rc = mrx_node_peer_remove(mrxd_job_node(job), fpr)) < 0) {
        json_decref(name);
        return rc;
    }
    *result = json_pack("{s:s,s:o}", "fingerprint", fpr, "name", name);
    return *result ? 0 : mrx_error_set(MRX_ENOMEM, "out of memory");
}

static int
op_peer_list(mrxd_job *job, json_t **result)
{
    json_t *peers = NULL;
    int rc;

    if ((rc = mrxd_params(job, NULL, 0)) < 0 || (rc = peers_json(&peers, mrxd_job_node(job))) < 0)
        return rc;
    *result = json_pack("{s:o}", "peers", peers);
    return *result ? 0 : mrx_error_set(MRX_ENOMEM, "out of memory");
}
