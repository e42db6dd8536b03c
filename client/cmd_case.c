/*
 * mrx case new, list, show: cases and their verified history, as the
 * node's mrxd reads them.
 */
#include "mrx_cli.h"
#include "mrx_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cmd_case_new(mrx_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {{"title", required_argument, NULL, 't'},
                                            MRX_CLI_COMMON_OPTIONS,
                                            {NULL, 0, NULL, 0}};
    const char *title = NULL;
    json_t *result = NULL;
    int opt, code;

    while ((opt = mrx_cli_next_option(cli, argc, argv, options, &code)) != -1) {
        if (opt == -2)
            return code;
        if (opt == 't')
            title = optarg;
        else
            return mrx_cli_usage_error(cli, "unexpected option");
    }
    if (optind != argc)
        return mrx_cli_usage_error(cli, "unexpected argument \"%s\"", argv[optind]);
    if (!title)
        return mrx_cli_usage_error(cli, "--title is required");
    if ((code = mrx_cli_call(cli, "case-new", json_pack("{s:s}", "title", title), &result)) != 0)
        return code;
    if (cli->json) {
        mrx_cli_print_json(result);
        return 0;
    }
    printf("case %s\n  \"%s\", owned by this node; the title stays on this node\n",
           mrx_cli_str(result, "id"), mrx_cli_str(result, "title"));
    json_decref(result);
    return 0;
}

int
cmd_case_list(mrx_cli *cli, int argc, char **argv)
{
    json_t *result = NULL, *cases, *c;
    size_t i;
    int code;

    if ((code = mrx_cli_no_arguments(cli, argc, argv)) >= 0)
        return code;
    if ((code = mrx_cli_call(cli, "case-list", NULL, &result)) != 0)
        return code;
    if (cli->json) {
        mrx_cli_print_json(result);
        return 0;
    }
    cases = json_object_get(result, "cases");
    if (json_array_size(cases) == 0)
        printf("no cases yet: a patient starts one with 'mrx case new --title TITLE'\n");
    else
        printf("%-16s  %-7s  %-30s  %s\n", "CASE", "EVENTS", "OWNER", "TITLE");
    json_array_foreach(cases, i, c) {
        int ok = json_is_true(json_object_get(c, "verified"));
        printf("%.16s  %-7lld  %-30.30s  %s%s%s\n", mrx_cli_str(c, "id"),
               mrx_cli_int(c, "owner_events"), ok ? mrx_cli_str(c, "owner_name") : "?",
               mrx_cli_str(c, "title"), ok ? "" : "  REFUSED: ", mrx_cli_str(c, "problem"));
    }
    json_decref(result);
    return 0;
}

/* For each bundle this node sent: who fetched it, from whom, and who
 * opened it. */
static void
print_receipts(json_t *receipts)
{
    json_t *r, *who;
    size_t i, j;
    char size[32];

    if (!json_array_size(receipts))
        return;
    printf("\nreceipts for the bundles this node sent\n");
    json_array_foreach(receipts, i, r) {
        json_t *fetched = json_object_get(r, "fetched"), *opened = json_object_get(r, "opened");
        printf("  %s bundle %.12s (%s, %s by this node)%s\n", mrx_cli_str(r, "kind"),
               mrx_cli_str(r, "bundle"), mrx_text_human_size(size, (unsigned long long)mrx_cli_int(r, "size")),
               mrx_cli_str(r, "sent"),
               json_array_size(fetched) || json_array_size(opened) ? "" : ": nobody yet");
        json_array_foreach(fetched, j, who) {
            printf("    %s  fetched by %s, from %s\n", mrx_cli_str(who, "time"),
                   mrx_cli_str(who, "name"), mrx_cli_str(who, "from_name"));
        }
        json_array_foreach(opened, j, who) {
            printf("    %s  opened by %s\n", mrx_cli_str(who, "time"), mrx_cli_str(who, "name"));
        }
    }
}

int
cmd_case_show(mrx_cli *cli, int argc, char **argv)
{
    json_t *result = NULL, *members, *events, *problems, *item;
    const char *title;
    size_t i;
    int code;

    if ((code = mrx_cli_positional(cli, argc, argv, 1)) >= 0)
        return code;
    if ((code = mrx_cli_call(cli, "case-show", json_pack("{s:s}", "case", argv[optind]),
                             &result)) != 0)
        return code;
    members = json_object_get(result, "members");
    events = json_object_get(result, "events");
    problems = json_object_get(result, "problems");
    if (cli->json) {
        mrx_cli_print_json(json_incref(result));
    } else {
        title = mrx_cli_str(result, "title");
        printf("case %s\n  title: %s\n  owner: %s\n", mrx_cli_str(result, "id"),
               title[0] ? title : "(not kept on this node)", mrx_cli_str(result, "owner_name"));
        json_array_foreach(members, i, item) {
            printf("  %-7s %s, %s%s\n", i ? "" : "members", mrx_cli_str(item, "name"),
                   mrx_cli_str(item, "role"),
                   json_is_true(json_object_get(item, "active")) ? "" : " (removed)");
        }
        printf("\n");
        json_array_foreach(events, i, item) {
            printf("%s  %-36.36s  %s\n", mrx_cli_str(item, "time"),
                   mrx_cli_str(item, "author_name"), mrx_cli_str(item, "summary"));
        }
        json_array_foreach(problems, i, item) {
            printf("REFUSED feed %s: %s\n", mrx_cli_str(item, "feed"),
                   mrx_cli_str(item, "problem"));
        }
        print_receipts(json_object_get(result, "receipts"));
    }
    code = json_array_size(problems) ? mrx_error_exit_code(MRX_ECRYPTO) : 0;
    if (code)
        fprintf(stderr, "mrx: case %.16s: %zu feed%s did not verify\n", mrx_cli_str(result, "id"),
                json_array_size(problems), json_array_size(problems) == 1 ? "" : "s");
    json_decref(result);
    return code;
}
