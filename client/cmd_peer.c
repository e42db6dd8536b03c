/*
 * mrx peer add, mrx peer list: the nodes this one knows.
 */
#include "mrx_cli.h"
#include "mrx_error.h"
#include "mrx_fs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Read a certificate from FILE or "-" (stdin), bounded. */
static int
read_cert_text(char **out, size_t *len, const char *path)
{
    if (strcmp(path, "-") != 0)
        return mrx_fs_read_file(out, len, path, MRX_CERT_MAX);
    char *buf = malloc(MRX_CERT_MAX + 2);
    size_t got;

    if (!buf)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    got = fread(buf, 1, MRX_CERT_MAX + 1, stdin);
    if (got > MRX_CERT_MAX) {
        free(buf);
        return mrx_error_set(MRX_ELIMIT, "certificate larger than %d bytes", MRX_CERT_MAX);
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

static void
print_fpr_groups(const char *fpr)
{
    for (int i = 0; i < MRX_FPR_LEN; i += 4)
        printf("%.4s%s", fpr + i, i + 4 < MRX_FPR_LEN ? (i == 16 ? "  " : " ") : "\n");
}

int
cmd_peer_add(mrx_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {MRX_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    mrx_node *node = NULL;
    mrx_cert *cert = NULL;
    char *text = NULL;
    size_t len = 0;
    int opt, code, rc;

    while ((opt = mrx_cli_next_option(cli, argc, argv, options, &code)) != -1)
        if (opt == -2)
            return code;
    if (argc - optind != 1)
        return mrx_cli_usage_error(cli, "name one certificate file");
    if ((rc = mrx_cli_open_node(cli, &node)) < 0) {
        code = mrx_cli_fail(cli, rc);
        goto out;
    }
    if ((rc = read_cert_text(&text, &len, argv[optind])) < 0) {
        code = mrx_cli_fail(cli, rc);
        goto out;
    }
    if ((rc = mrx_node_peer_add(node, &cert, text, len)) < 0) {
        mrx_error_wrap(rc, "%s", argv[optind]);
        code = mrx_cli_fail(cli, rc);
        goto out;
    }
    if (cli->json) {
        mrx_cli_print_json(json_pack("{s:s,s:s,s:s}", "name", mrx_cert_name(cert), "role",
                                     mrx_role_name(mrx_cert_role(cert)), "fingerprint",
                                     mrx_cert_fpr(cert)));
    } else {
        printf("imported %s \"%s\"\nfingerprint ", mrx_role_name(mrx_cert_role(cert)),
               mrx_cert_name(cert));
        print_fpr_groups(mrx_cert_fpr(cert));
        printf("confirm this fingerprint with %s by phone or in person before trusting it\n",
               mrx_cert_name(cert));
    }
    code = 0;
out:
    mrx_cert_destroy(&cert);
    mrx_node_destroy(&node);
    free(text);
    return code;
}

int
cmd_peer_list(mrx_cli *cli, int argc, char **argv)
{
    mrx_node *node = NULL;
    mrx_cert **peers = NULL;
    size_t n = 0;
    int code, rc;

    if ((code = mrx_cli_no_arguments(cli, argc, argv)) >= 0)
        return code;
    if ((rc = mrx_cli_open_node(cli, &node)) < 0 ||
        (rc = mrx_node_peer_list(node, &peers, &n)) < 0) {
        code = mrx_cli_fail(cli, rc);
        goto out;
    }
    if (cli->json) {
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *eps = json_array();
            for (size_t j = 0; j < mrx_cert_endpoint_count(peers[i]); j++)
                json_array_append_new(eps, json_string(mrx_cert_endpoint(peers[i], j)));
            json_array_append_new(list,
                                  json_pack("{s:s,s:s,s:s,s:o}", "name", mrx_cert_name(peers[i]),
                                            "role", mrx_role_name(mrx_cert_role(peers[i])),
                                            "fingerprint", mrx_cert_fpr(peers[i]), "endpoints",
                                            eps));
        }
        mrx_cli_print_json(json_pack("{s:o}", "peers", list));
    } else if (n == 0) {
        printf("no peers yet: import one with 'mrx peer add FILE'\n");
    } else {
        int width = 4;
        for (size_t i = 0; i < n; i++)
            if ((int)strlen(mrx_cert_name(peers[i])) > width)
                width = (int)strlen(mrx_cert_name(peers[i]));
        printf("%-*s  %-11s  %-40s  %s\n", width, "NAME", "ROLE", "FINGERPRINT", "ENDPOINT");
        for (size_t i = 0; i < n; i++)
            printf("%-*s  %-11s  %-40s  %s\n", width, mrx_cert_name(peers[i]),
                   mrx_role_name(mrx_cert_role(peers[i])), mrx_cert_fpr(peers[i]),
                   mrx_cert_endpoint_count(peers[i]) ? mrx_cert_endpoint(peers[i], 0) : "-");
    }
    code = 0;
out:
    for (size_t i = 0; i < n; i++)
        mrx_cert_destroy(&peers[i]);
    free(peers);
    mrx_node_destroy(&node);
    return code;
}
