/*
 * mrx audit CASE: the patient's verified timeline of a case, every grant,
 * revocation and bundle added, served, fetched and opened, each line
 * verified or marked with what is wrong (docs/audit.md). Exit status 5
 * if any line is marked. --html FILE also writes it as a page
 * (audit_html.c), with or without --json.
 */
#include "audit_html.h"
#include "mrx_cli.h"
#include "mrx_error.h"

#include <stdio.h>
#include <string.h>

/* "Ada Okafor (reviewer)", "Pat (this node, owner)": a line's actor. */
static void
actor(char *buf, size_t len, json_t *line)
{
    json_t *who = json_object_get(line, "who");
    const char *standing = mrx_cli_str(line, "standing"), *name, *what;
    size_t n;

    if (!who) {
        snprintf(buf, len, "-");
        return;
    }
    name = mrx_cli_str(who, "name");
    n = strlen(name);
    what = strcmp(standing, "member") == 0 ? mrx_cli_str(line, "role") : standing;
    if (n && name[n - 1] == ')')
        snprintf(buf, len, "%.*s, %s)", (int)(n - 1), name, what);
    else
        snprintf(buf, len, "%s (%s)", name, what);
}

int
cmd_audit(mrx_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {{"html", required_argument, NULL, 'w'},
                                            MRX_CLI_COMMON_OPTIONS,
                                            {NULL, 0, NULL, 0}};
    json_t *result = NULL, *line;
    const char *html = NULL;
    char who[160];
    size_t i;
    int opt, code, rc;

    while ((opt = mrx_cli_next_option(cli, argc, argv, options, &code)) != -1) {
        if (opt == -2)
            return code;
        if (opt == 'w')
            html = optarg;
        else
            return mrx_cli_usage_error(cli, "unexpected option");
    }
    if (argc - optind != 1)
        return mrx_cli_usage_error(cli, "expected 1 argument");
    if (html && !html[0])
        return mrx_cli_usage_error(cli, "--html needs a file name");
    if ((code = mrx_cli_call(cli, "audit", json_pack("{s:s}", "case", argv[optind]), &result)) !=
        0)
        return code;
    /* the page first: if it cannot be written, that is the one error told
     * (and with --json the one document printed) */
    if (html && (rc = audit_html_write(html, result)) < 0) {
        json_decref(result);
        return mrx_cli_fail(cli, rc);
    }
    if (cli->json) {
        mrx_cli_print_json(json_incref(result));
    } else {
        printf("audit of case %.16s, owned by %s, at %s\n\n", mrx_cli_str(result, "case"),
               mrx_cli_str(result, "owner_name"), mrx_cli_str(result, "at"));
        json_array_foreach(json_object_get(result, "lines"), i, line) {
            int ok = json_is_true(json_object_get(line, "verified"));
            const char *summary = mrx_cli_str(line, "summary");
            actor(who, sizeof who, line);
            printf("%s  %-8s  %-44.44s  %s\n", mrx_cli_str(line, "time"), ok ? "verified" : "FLAGGED",
                   who, summary[0] ? summary : mrx_cli_str(line, "kind"));
            if (!ok)
                printf("%22s%-8s  %s\n", "", "", mrx_cli_str(line, "problem"));
        }
        printf("\n%lld events; %lld line%s flagged\n", mrx_cli_int(result, "events"),
               mrx_cli_int(result, "flagged"), mrx_cli_int(result, "flagged") == 1 ? "" : "s");
        if (html)
            printf("the audit as a page: %s\n", html);
    }
    code = mrx_cli_int(result, "flagged") ? mrx_error_exit_code(MRX_ECRYPTO) : 0;
    if (code)
        fprintf(stderr, "mrx: case %.16s: %lld line%s of the audit flagged\n",
                mrx_cli_str(result, "case"), mrx_cli_int(result, "flagged"),
                mrx_cli_int(result, "flagged") == 1 ? "" : "s");
    json_decref(result);
    return code;
}
