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
    json_t *result = NULL;
    char *text = NULL;
    size_t len = 0;
    int code, rc;

    if ((code = mrx_cli_positional(cli, argc, argv, 1)) >= 0)
        return code;
    if ((rc = read_cert_text(&text, &len, argv[optind])) < 0)
        return mrx_cli_fail(cli, rc);
    if (strlen(text) != len) {
        free(text);
        mrx_error_set(MRX_EFORMAT, "%s: not a certificate (holds a NUL byte)", argv[optind]);
        return mrx_cli_fail(cli, MRX_EFORMAT);
    }
    rc = mrx_cli_request(cli, "peer-add", json_pack("{s:s}", "certificate", text), &result);
    free(text);
    if (rc < 0) {
        mrx_error_wrap(rc, "%s", argv[optind]);
        return mrx_cli_fail(cli, rc);
    }
    if (cli->json) {
        mrx_cli_print_json(result);
        return 0;
    }
    printf("imported %s \"%s\"\nfingerprint ", mrx_cli_str(result, "role"),
           mrx_cli_str(result, "name"));
    print_fpr_groups(mrx_cli_str(result, "fingerprint"));
    printf("confirm this fingerprint with %s by phone or in person before trusting it\n",
           mrx_cli_str(result, "name"));
    json_decref(result);
    return 0;
}

int
cmd_peer_list(mrx_cli *cli, int argc, char **argv)
{
    json_t *result = NULL, *peers, *p;
    int code, width = 4;
    size_t i;

    if ((code = mrx_cli_no_arguments(cli, argc, argv)) >= 0)
        return code;
    if ((code = mrx_cli_call(cli, "peer-list", NULL, &result)) != 0)
        return code;
    if (cli->json) {
        mrx_cli_print_json(result);
        return 0;
    }
    peers = json_object_get(result, "peers");
    if (json_array_size(peers) == 0)
        printf("no peers yet: import one with 'mrx peer add FILE'\n");
    json_array_foreach(peers, i, p) {
        if ((int)strlen(mrx_cli_str(p, "name")) > width)
            width = (int)strlen(mrx_cli_str(p, "name"));
    }
    if (json_array_size(peers))
        printf("%-*s  %-11s  %-40s  %s\n", width, "NAME", "ROLE", "FINGERPRINT", "ENDPOINT");
    json_array_foreach(peers, i, p) {
        json_t *eps = json_object_get(p, "endpoints");
        printf("%-*s  %-11s  %-40s  %s\n", width, mrx_cli_str(p, "name"), mrx_cli_str(p, "role"),
               mrx_cli_str(p, "fingerprint"),
               json_array_size(eps) ? json_string_value(json_array_get(eps, 0)) : "-");
    }
    json_decref(result);
    return 0;
}

int
cmd_peer_remove(mrx_cli *cli, int argc, char **argv)
{
    json_t *result = NULL;
    int code;

    if ((code = mrx_cli_positional(cli, argc, argv, 1)) >= 0)
        return code;
    if ((code = mrx_cli_call(cli, "peer-remove", json_pack("{s:s}", "fingerprint", argv[optind]),
                             &result)) != 0)
        return code;
    if (cli->json)
        mrx_cli_print_json(result);
    else
        printf("removed peer %s\n  it is no longer admitted; its signed events stay valid\n",
               mrx_cli_str(result, "name"));
    json_decref(result);
    return 0;
}
