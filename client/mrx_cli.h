/*
 * mrx_cli: what the command files of mrx(1) share: the global options,
 * the command signature, and the way results and errors are printed.
 */
#ifndef MRX_CLI_H
#define MRX_CLI_H

#include <getopt.h>
#include <jansson.h>

#include "mrx_ledger.h"
#include "mrx_node.h"

/* Exit codes of mrx(1); mrx_error_exit_code maps errors to these. */
#define MRX_EXIT_USAGE 2

typedef struct mrx_cli mrx_cli;
typedef int (*mrx_cli_fn)(mrx_cli *cli, int argc, char **argv);

typedef struct mrx_cli_command {
    const char *name;  /* as typed */
    mrx_cli_fn fn;     /* what runs */
    const char *usage; /* arguments, for --help */
    const char *help;  /* one line */
} mrx_cli_command;

struct mrx_cli {
    const char *home;           /* --home, or NULL for the default */
    int json;                   /* --json: one JSON document on stdout */
    const mrx_cli_command *cmd; /* the command running */
};

/* Options every command takes; append to each command's own table. */
#define MRX_CLI_COMMON_OPTIONS                                                                     \
    {"home", required_argument, NULL, 'H'}, {"json", no_argument, NULL, 'J'},                      \
        {"help", no_argument, NULL, 'h'}

/* Parse the next option of a command with getopt_long. Common options are
 * handled here. Returns the option character of a command option, -1 at
 * the end, or -2 when the command must exit now with *exit_code (after
 * --help, or a usage error already reported). */
int mrx_cli_next_option(mrx_cli *cli, int argc, char **argv, const struct option *options,
                        int *exit_code);

/* For commands that take only the common options: parse them. Returns -1
 * to go on, or the exit code (after --help or a usage error). */
int mrx_cli_no_arguments(mrx_cli *cli, int argc, char **argv);

/* For commands that take exactly n positional arguments and only the
 * common options: parse them. Returns -1 to go on (the arguments are
 * argv[optind...]), or the exit code. */
int mrx_cli_positional(mrx_cli *cli, int argc, char **argv, int n);

/* Report a usage error with the usage line; returns MRX_EXIT_USAGE. */
int mrx_cli_usage_error(mrx_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Report the current error (mrx_error_last) for rc and return the exit
 * code: a line on stderr, and with --json an error document on stdout. */
int mrx_cli_fail(mrx_cli *cli, int rc);

/* With --json print doc; always consumes the reference. */
void mrx_cli_print_json(json_t *doc);

/* Open the node this invocation works on (offline commands only). */
int mrx_cli_open_node(mrx_cli *cli, mrx_node **out);

/* Ask the node's mrxd (mrx_api.c): send request name with params (taken
 * over, may be NULL) and wait for its result, drawing progress on a
 * terminal. On success *result is the result object; on failure the
 * error is set (MRX_EUNAVAILABLE when mrxd does not run). */
int mrx_cli_request(mrx_cli *cli, const char *name, json_t *params, json_t **result);

/* Like mrx_cli_request, but a failure is reported (mrx_cli_fail) and its
 * exit code returned; 0 and *result on success. */
int mrx_cli_call(mrx_cli *cli, const char *name, json_t *params, json_t **result);

/* path made absolute against the working folder (symlinks kept, so a
 * bundle names files as given); malloc'd, NULL when out of memory. */
char *mrx_cli_absolute(const char *path);

/* A string member of a result, "" if absent. */
const char *mrx_cli_str(json_t *obj, const char *key);
/* An integer member of a result, 0 if absent. */
long long mrx_cli_int(json_t *obj, const char *key);

/* Commands. */
int cmd_init(mrx_cli *cli, int argc, char **argv);
int cmd_id(mrx_cli *cli, int argc, char **argv);
int cmd_status(mrx_cli *cli, int argc, char **argv);
int cmd_peer_add(mrx_cli *cli, int argc, char **argv);
int cmd_peer_list(mrx_cli *cli, int argc, char **argv);
int cmd_peer_remove(mrx_cli *cli, int argc, char **argv);
int cmd_bundle_create(mrx_cli *cli, int argc, char **argv);
int cmd_bundle_open(mrx_cli *cli, int argc, char **argv);
int cmd_case_new(mrx_cli *cli, int argc, char **argv);
int cmd_case_list(mrx_cli *cli, int argc, char **argv);
int cmd_case_show(mrx_cli *cli, int argc, char **argv);
int cmd_grant(mrx_cli *cli, int argc, char **argv);
int cmd_revoke(mrx_cli *cli, int argc, char **argv);
int cmd_add(mrx_cli *cli, int argc, char **argv);
int cmd_get(mrx_cli *cli, int argc, char **argv);
int cmd_export(mrx_cli *cli, int argc, char **argv);
int cmd_import(mrx_cli *cli, int argc, char **argv);
int cmd_sync(mrx_cli *cli, int argc, char **argv);
int cmd_audit(mrx_cli *cli, int argc, char **argv);




#endif
