/*
 * mrxd_export: the requests export and import, a whole case to one file
 * and back (docs/export-format.md). proto/mrx_export.c does the work and
 * every check; these handlers take the parameters, stream progress and
 * say what happened.
 */
#include "mrxd_ops.h"
#include "mrx_case.h"
#include "mrx_error.h"
#include "mrx_export.h"

#include <stdlib.h>
#include <string.h>

int
mrxd_op_export(mrxd_job *job, json_t **result)
{
    static const mrx_control_param spec[] = {{"case", MRX_PARAM_STRING, 1},
                                             {"path", MRX_PARAM_PATH, 1}};
    const mrx_control_request *req = mrxd_job_request(job);
    char id[MRX_SHA256_HEX_LEN + 1];
    mrx_export_info info;
    int rc;

    if ((rc = mrxd_params(job, spec, 2)) < 0 ||
        (rc = mrx_case_resolve(id, mrxd_job_node(job), mrx_control_string(req, "case"))) < 0 ||
        (rc = mrx_export_write(&info, mrxd_job_node(job), id, mrx_control_string(req, "path"),
                               mrxd_job_progress(job))) < 0)
        return rc;
    *result = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "case", info.case_id, "path",
                        mrx_control_string(req, "path"), "feeds", (json_int_t)info.feeds, "events",
                        (json_int_t)info.events, "bundles", (json_int_t)info.bundles,
                        "bundle_bytes", (json_int_t)info.bundle_bytes, "bundles_absent",
                        (json_int_t)info.bundles_absent, "size", (json_int_t)info.size);
    return *result ? 0 : mrx_error_set(MRX_ENOMEM, "out of memory");
}

/* The ids of the bundle entries with one outcome. */
static json_t *
bundles_json(const mrx_export_report *rep, mrx_import_outcome outcome)
{
    json_t *list = json_array();

    for (size_t i = 0; i < rep->n_bundles; i++)
        if (rep->bundles[i].outcome == outcome)
            json_array_append_new(list, json_string(rep->bundles[i].id));
    return list;
}

int
mrxd_op_import(mrxd_job *job, json_t **result)
{
    static const mrx_control_param spec[] = {{"path", MRX_PARAM_PATH, 1}};
    mrx_node *node = mrxd_job_node(job);
    const char *path = mrx_control_string(mrxd_job_request(job), "path");
    json_t *feeds = NULL, *refused = NULL;
    char exported[MRX_TIME_LEN + 1];
    mrx_export_report rep;
    int rc;

    if ((rc = mrxd_params(job, spec, 1)) < 0 ||
        (rc = mrx_export_import(&rep, node, path, mrxd_job_progress(job))) < 0)
        return rc;
    feeds = json_array();
    refused = json_array();
    for (size_t i = 0; i < rep.n_feeds; i++)
        json_array_append_new(feeds, json_pack("{s:s,s:o,s:I}", "fingerprint", rep.feeds[i].fpr,
                                               "name", mrxd_key_name(node, rep.feeds[i].fpr),
                                               "events", (json_int_t)rep.feeds[i].events));
    for (size_t i = 0; i < rep.n_refused; i++)
        json_array_append_new(refused, json_string(rep.refused[i]));
    mrx_text_format_time(exported, rep.exported);
    /* "case" also tells sync that the case may have changed here */
    *result = json_pack(
        "{s:s,s:s,s:s,s:o,s:s,s:o,s:s,s:b,s:o,s:o,s:o,s:o,s:o}", "case", rep.case_id, "path", path,
        "owner", rep.owner, "owner_name", mrxd_key_name(node, rep.owner), "from", rep.from,
        "from_name", mrxd_key_name(node, rep.from), "exported", exported, "new_case", rep.new_case,
        "feeds", feeds, "stored", bundles_json(&rep, MRX_IMPORT_STORED), "present",
        bundles_json(&rep, MRX_IMPORT_PRESENT), "skipped", bundles_json(&rep, MRX_IMPORT_SKIPPED),
        "refused", refused);
    mrx_export_report_release(&rep);
    return *result ? 0 : mrx_error_set(MRX_ENOMEM, "out of memory");
}
