/*
 * mrx init, mrx id: create this node and show its certificate.
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
    mrx_node *node = NULL;
    const mrx_cert *cert;
    int code, rc;

    if ((code = mrx_cli_no_arguments(cli, argc, argv)) >= 0)
        return code;
    if ((rc = mrx_cli_open_node(cli, &node)) < 0)
        return mrx_cli_fail(cli, rc);
    cert = mrx_node_cert(node);
    if (cli->json) {
        json_t *eps = json_array();
        for (size_t i = 0; i < mrx_cert_endpoint_count(cert); i++)
            json_array_append_new(eps, json_string(mrx_cert_endpoint(cert, i)));
        mrx_cli_print_json(json_pack("{s:s,s:s,s:s,s:s,s:o,s:s}", "name", mrx_cert_name(cert),
                                     "role", mrx_role_name(mrx_cert_role(cert)), "fingerprint",
                                     mrx_cert_fpr(cert), "curve", mrx_cert_curve(cert),
                                     "endpoints", eps, "certificate", mrx_cert_text(cert)));
    } else {
        fputs(mrx_cert_text(cert), stdout);
    }
    mrx_node_destroy(&node);
    return 0;
}
