/*
 * mrx init, mrx id, mrx status: create this node (offline), show its
 * certificate, and show the node, its daemon, peers and cases.
 */
#include "mrx_cli.h"
#include "mrx_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cmd_init(mrx_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {{"role", required_argument, NULL, 'r'},
                                            {"name", required_argument, NULL, 'n'},
                                            {"listen", required_argument, NULL, 'l'},
                                            MRX_CLI_COMMON_OPTIONS,
                                            {NULL, 0, NULL, 0}};
    const char *role_name = NULL, *name = NULL, *listen[MRX_CERT_ENDPOINTS_MAX];
    size_t n_listen = 0;
    mrx_node *node = NULL;
    mrx_role role;
    char *home = NULL;
    int opt, code, rc;

    while ((opt = mrx_cli_next_option(cli, argc, argv, options, &code)) != -1) {
        switch (opt) {
        case -2:
            return code;
        case 'r':
            role_name = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'l':
            if (n_listen == MRX_CERT_ENDPOINTS_MAX)
                return mrx_cli_usage_error(cli, "at most %d --listen endpoints",
                                           MRX_CERT_ENDPOINTS_MAX);
            listen[n_listen++] = optarg;
            break;
        default:
            return mrx_cli_usage_error(cli, "unexpected option");
        }
    }
    if (optind != argc)
        return mrx_cli_usage_error(cli, "unexpected argument \"%s\"", argv[optind]);
    if (!role_name || !name)
        return mrx_cli_usage_error(cli, "--role and --name are required");
    if ((rc = mrx_role_parse(&role, role_name)) < 0)
        return mrx_cli_fail(cli, rc);
    if ((rc = mrx_node_home_resolve(&home, cli->home)) < 0 ||
        (rc = mrx_node_init(home, name, role, listen, n_listen)) < 0 ||
        (rc = mrx_node_open(&node, home)) < 0) {
        free(home);
        return mrx_cli_fail(cli, rc);
    }
    if (cli->json) {
        json_t *eps = json_array();
        for (size_t i = 0; i < n_listen; i++)
            json_array_append_new(eps, json_string(listen[i]));
        mrx_cli_print_json(json_pack("{s:s,s:s,s:s,s:s,s:o}", "home", home, "name", name, "role",
                                     mrx_role_name(role), "fingerprint",
                                     mrx_node_config(node)->fpr, "listen", eps));
    } else {
        printf("created %s node \"%s\" in %s\n", mrx_role_name(role), name, home);
        printf("fingerprint %s\n", mrx_node_config(node)->fpr);
        printf("send 'mrx id' output to your peers; confirm this fingerprint with them by phone "
               "or in person\n");
    }
    mrx_node_destroy(&node);
    free(home);
    return 0;
}

int
cmd_id(mrx_cli *cli, int argc, char **argv)
{
    json_t *result = NULL;
    int code;

    if ((code = mrx_cli_no_arguments(cli, argc, argv)) >= 0)
        return code;
    if ((code = mrx_cli_call(cli, "id", NULL, &result)) != 0)
        return code;
    if (cli->json)
        mrx_cli_print_json(json_incref(result));
    else
        fputs(mrx_cli_str(result, "certificate"), stdout);
    json_decref(result);
    return 0;
}

/* "3 min" style durations for people. */
static void
human_duration(char buf[32], long long secs)
{
    if (secs < 120)
        snprintf(buf, 32, "%lld s", secs);
    else if (secs < 2 * 3600)
        snprintf(buf, 32, "%lld min", secs / 60);
    else if (secs < 2 * 86400)
        snprintf(buf, 32, "%lld h", secs / 3600);
    else
        snprintf(buf, 32, "%lld days", secs / 86400);
}

int
cmd_status(mrx_cli *cli, int argc, char **argv)
{
    json_t *result = NULL, *node, *daemon, *list, *item;
    char up[32];
    size_t i;
    int code;

    if ((code = mrx_cli_no_arguments(cli, argc, argv)) >= 0)
        return code;
    if ((code = mrx_cli_call(cli, "status", NULL, &result)) != 0)
        return code;
    if (cli->json) {
        mrx_cli_print_json(result);
        return 0;
    }
    node = json_object_get(result, "node");
    daemon = json_object_get(result, "daemon");
    printf("node         %s (%s)\n", mrx_cli_str(node, "name"), mrx_cli_str(node, "role"));
    printf("fingerprint  %s\n", mrx_cli_str(node, "fingerprint"));
    list = json_object_get(node, "listen");
    printf("listens on   %s", json_array_size(list) ? "" : "nothing (it reaches out to peers)");
    json_array_foreach(list, i, item) printf("%s%s", i ? ", " : "", json_string_value(item));
    human_duration(up, mrx_cli_int(daemon, "uptime"));
    printf("\nhome         %s\nmrxd         pid %lld, up %s, version %s, %lld workers\n",
           mrx_cli_str(node, "home"), mrx_cli_int(daemon, "pid"), up,
           mrx_cli_str(daemon, "version"), mrx_cli_int(daemon, "workers"));
    list = json_object_get(result, "peers");
    printf("\n%zu peer%s\n", json_array_size(list), json_array_size(list) == 1 ? "" : "s");
    json_array_foreach(list, i, item) {
        const char *last = json_string_value(json_object_get(item, "last_contact"));
        printf("  %-24.24s %-11s %s  last contact %s\n", mrx_cli_str(item, "name"),
               mrx_cli_str(item, "role"), mrx_cli_str(item, "fingerprint"), last ? last : "never");
    }
    list = json_object_get(result, "cases");
    printf("\n%zu case%s\n", json_array_size(list), json_array_size(list) == 1 ? "" : "s");
    json_array_foreach(list, i, item) {
        printf("  %.16s  %-30.30s  %s%s%s\n", mrx_cli_str(item, "id"),
               mrx_cli_str(item, "owner_name"), mrx_cli_str(item, "title"),
               json_is_true(json_object_get(item, "verified")) ? "" : "  REFUSED: ",
               mrx_cli_str(item, "problem"));
    }
    json_decref(result);
    return 0;
}
