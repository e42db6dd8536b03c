/*
 * mrxd_ops: the handlers of the control API's requests, one file per
 * group (mrxd_ops.c: the node and its peers; mrxd_cases.c: cases). Each
 * checks its parameters, works on its worker's node and returns a result
 * object; docs/control-api.md gives every request and result.
 */
#ifndef MRXD_OPS_H
#define MRXD_OPS_H

#include "mrxd_control.h"
#include "mrx_event.h"

/* One line of what an event did, for people. */
void mrxd_describe_event(char *buf, size_t len, mrx_node *node, const mrx_event *ev);

/* A key for people (mrx_node_describe_key) as a new JSON string. */
json_t *mrxd_key_name(mrx_node *node, const char *fpr);

/* Check the request's parameters; see mrx_control_check_params. */
int mrxd_params(mrxd_job *job, const mrx_control_param *spec, size_t n);

/* The cases on this node as status and case-list show them. */
int mrxd_case_summaries(json_t **out, mrx_node *node);

int mrxd_op_case_new(mrxd_job *job, json_t **result);
int mrxd_op_case_list(mrxd_job *job, json_t **result);
int mrxd_op_case_show(mrxd_job *job, json_t **result);
int mrxd_op_grant(mrxd_job *job, json_t **result);
int mrxd_op_revoke(mrxd_job *job, json_t **result);
int mrxd_op_add(mrxd_job *job, json_t **result);
int mrxd_op_get(mrxd_job *job, json_t **result);
/* mrxd_export.c */
int mrxd_op_export(mrxd_job *job, json_t **result);
int mrxd_op_import(mrxd_job *job, json_t **result);
int mrxd_op_audit(mrxd_job *job, json_t **result);

#endif
