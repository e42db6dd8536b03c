/*
 * mrx: the command-line client. A table of commands; each group lives in
 * its own file (cmd_node.c, cmd_peer.c, cmd_bundle.c, ...). Apart from
 * init and the offline bundle tools, every command is a request to the
 * node's mrxd (mrx_api.c) and prints its result.
 */
#include "mrx_cli.h"
#include "mrx_error.h"
#include "mrx_ledger.h"
#include "mrx_pgp.h"
#include "mrx_sha256.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mrx_cli_command commands[] = {
    {"init", cmd_init, "--role ROLE --name NAME [--listen tcp://HOST:PORT]...",
     "create this node: its keys, configuration and certificate"},
    {"id", cmd_id, "", "print this node's certificate, to send to peers"},
    {"status", cmd_status, "", "show the node, its daemon, its peers and its cases"},
    {"peer add", cmd_peer_add, "FILE", "verify and import a peer's certificate (- for stdin)"},
    {"peer list", cmd_peer_list, "", "list the imported peers"},
    {"peer remove", cmd_peer_remove, "FINGERPRINT",
     "forget a peer: it is no longer admitted, and its live sessions end"},
    {"bundle create", cmd_bundle_create,
     "--kind KIND [--to FINGERPRINT]... --out FILE|DIR PATH...",
     "package files into a signed, encrypted bundle (offline)"},
    {"bundle open", cmd_bundle_open, "FILE --out DIR [--signer FINGERPRINT]",
     "check and extract a bundle (offline)"},
    {"case new", cmd_case_new, "--title TITLE", "start a second-opinion case owned by this node"},
    {"case list", cmd_case_list, "", "list the cases on this node"},
    {"case show", cmd_case_show, "CASE", "show a case's verified history"},
    {"audit", cmd_audit, "CASE [--html FILE]",
     "the case's verified timeline: who was given, served, fetched and opened what"},
    {"grant", cmd_grant, "CASE FINGERPRINT contributor|reviewer|relay",
     "make an imported peer a member of a case you own"},
    {"revoke", cmd_revoke, "CASE FINGERPRINT", "end a member's access to later bundles"},
    {"add", cmd_add, "CASE --kind KIND PATH...",
     "add files to a case as a bundle for its readers"},
    {"get", cmd_get, "CASE BUNDLE --out DIR", "check and extract a case's bundle"},
    {"sync", cmd_sync, "[--wait]", "sync with every peer now (and wait until in step)"},
    {"export", cmd_export, "CASE FILE", "write a whole case to one file, for offline transfer"},
    {"import", cmd_import, "FILE", "take in a case from an export file, with every check of sync"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void
print_help(FILE *f)
{
    fprintf(f, "usage: mrx [--home DIR] [--json] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'mrx COMMAND --help' describes a command; mrx(1) describes them all.\n");
}

int
mrx_cli_usage_error(mrx_cli *cli, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mrx_error_set(MRX_EINVAL, "%s", msg);
    mrx_cli_fail(cli, MRX_EINVAL);
    fprintf(stderr, "usage: mrx %s %s\n", cli->cmd->name, cli->cmd->usage);
    return MRX_EXIT_USAGE;
}

int
mrx_cli_next_option(mrx_cli *cli, int argc, char **argv, const struct option *options,
                    int *exit_code)
{
    for (;;) {
        int opt = getopt_long(argc, argv, ":", options, NULL);
        switch (opt) {
        case 'H':
            cli->home = optarg;
            continue;
        case 'J':
            cli->json = 1;
            continue;
        case 'h':
            printf("usage: mrx %s %s\n%s\n\ncommon options: --home DIR, --json, --help\n",
                   cli->cmd->name, cli->cmd->usage, cli->cmd->help);
            *exit_code = 0;
            return -2;
        case ':':
            *exit_code = mrx_cli_usage_error(cli, "option %s needs a value", argv[optind - 1]);
            return -2;
        case '?':
            *exit_code = mrx_cli_usage_error(cli, "unknown option %s", argv[optind - 1]);
            return -2;
        default:
            return opt;
        }
    }
}

int
mrx_cli_positional(mrx_cli *cli, int argc, char **argv, int n)
{
    static const struct option options[] = {MRX_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    int opt, code;

    while ((opt = mrx_cli_next_option(cli, argc, argv, options, &code)) != -1) {
        if (opt == -2)
            return code;
        return mrx_cli_usage_error(cli, "unexpected option");
    }
    if (argc - optind != n)
        return n == 0 ? mrx_cli_usage_error(cli, "unexpected argument \"%s\"", argv[optind])
                      : mrx_cli_usage_error(cli, "expected %d argument%s", n, n == 1 ? "" : "s");
    return -1;
}

int
mrx_cli_no_arguments(mrx_cli *cli, int argc, char **argv)
{
    return mrx_cli_positional(cli, argc, argv, 0);
}

int
mrx_cli_fail(mrx_cli *cli, int rc)
{
    fprintf(stderr, "mrx: %s\n", mrx_error_last());
    if (cli->json) {
        json_t *doc = json_pack("{s:{s:s,s:s,s:i}}", "error", "kind", mrx_error_name(rc),
                                "message", mrx_error_last(), "exit", mrx_error_exit_code(rc));
        mrx_cli_print_json(doc);
    }
    return mrx_error_exit_code(rc);
}

void
mrx_cli_print_json(json_t *doc)
{
    if (!doc)
        return;
    json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(doc);
}

int
mrx_cli_call(mrx_cli *cli, const char *name, json_t *params, json_t **result)
{
    int rc = mrx_cli_request(cli, name, params, result);

    return rc < 0 ? mrx_cli_fail(cli, rc) : 0;
}

const char *
mrx_cli_str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s ? s : "";
}

long long
mrx_cli_int(json_t *obj, const char *key)
{
    return (long long)json_integer_value(json_object_get(obj, key));
}

int
mrx_cli_open_node(mrx_cli *cli, mrx_node **out)
{
    char *home = NULL;
    int rc;

    if ((rc = mrx_node_home_resolve(&home, cli->home)) < 0)
        return rc;
    rc = mrx_node_open(out, home);
    free(home);
    return rc;
}

int
main(int argc, char **argv)
{
    static const struct option options[] = {MRX_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    mrx_cli cli = {NULL, 0, NULL};
    const mrx_cli_command *cmd = NULL;
    char name[64];
    int opt, consumed = 1, rc;

    while ((opt = getopt_long(argc, argv, "+", options, NULL)) != -1) {
        if (opt == 'h') {
            print_help(stdout);
            return 0;
        }
        if (opt == 'H')
            cli.home = optarg;
        else if (opt == 'J')
            cli.json = 1;
        else {
            print_help(stderr);
            return MRX_EXIT_USAGE;
        }
    }
    argc -= optind;
    argv += optind;
    if (argc == 0) {
        print_help(stderr);
        return MRX_EXIT_USAGE;
    }
    /* a command is one word or two ("peer add") */
    for (size_t i = 0; i < N_COMMANDS && !cmd; i++) {
        if (strcmp(commands[i].name, argv[0]) == 0) {
            cmd = &commands[i];
            consumed = 1;
        } else if (argc > 1) {
            snprintf(name, sizeof name, "%s %s", argv[0], argv[1]);
            if (strcmp(commands[i].name, name) == 0) {
                cmd = &commands[i];
                consumed = 2;
            }
        }
    }
    if (!cmd) {
        fprintf(stderr, "mrx: unknown command \"%s\"\n", argv[0]);
        print_help(stderr);
        return MRX_EXIT_USAGE;
    }
    cli.cmd = cmd;
    if ((rc = mrx_pgp_global_init()) < 0 || (rc = mrx_ledger_global_init()) < 0)
        return mrx_cli_fail(&cli, rc);
    /* the command sees its own name as argv[0], then its arguments */
    argv += consumed - 1;
    argc -= consumed - 1;
    optind = 0;
    opterr = 0;
    return cmd->fn(&cli, argc, argv);
}
