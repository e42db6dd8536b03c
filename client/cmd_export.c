/*
 * mrx export, mrx import: a whole case to one file and back, for a USB
 * stick or an air-gapped node (docs/export-format.md). mrxd does the
 * work; the file travels as an absolute path.
 */
#include "mrx_cli.h"
#include "mrx_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* FILE made absolute, or the exit code after reporting. */
static int
absolute(mrx_cli *cli, char **out, const char *file)
{
    if (!(*out = mrx_cli_absolute(file))) {
        mrx_error_set(MRX_ENOMEM, "out of memory");
        return mrx_cli_fail(cli, MRX_ENOMEM);
    }
    return 0;
}

int
cmd_export(mrx_cli *cli, int argc, char **argv)
{
    json_t *result = NULL;
    char size[32], bytes[32], *path = NULL;
    long long absent;
    int code;

    if ((code = mrx_cli_positional(cli, argc, argv, 2)) >= 0 ||
        (code = absolute(cli, &path, argv[optind + 1])) != 0)
        return code;
    code = mrx_cli_call(cli, "export", json_pack("{s:s,s:s}", "case", argv[optind], "path", path),
                        &result);
    free(path);
    if (code != 0)
        return code;
    if (cli->json) {
        mrx_cli_print_json(result);
        return 0;
    }
    absent = mrx_cli_int(result, "bundles_absent");
    printf("case %s\n  exported to %s (%s)\n  %lld feed%s, %lld events; %lld bundle%s, %s\n",
           mrx_cli_str(result, "case"), mrx_cli_str(result, "path"),
           mrx_text_human_size(size, (unsigned long long)mrx_cli_int(result, "size")),
           mrx_cli_int(result, "feeds"), mrx_cli_int(result, "feeds") == 1 ? "" : "s",
           mrx_cli_int(result, "events"), mrx_cli_int(result, "bundles"),
           mrx_cli_int(result, "bundles") == 1 ? "" : "s",
           mrx_text_human_size(bytes, (unsigned long long)mrx_cli_int(result, "bundle_bytes")));
    if (absent)
        printf("  %lld bundle%s of the case %s not on this node, so not in the file\n", absent,
               absent == 1 ? "" : "s", absent == 1 ? "is" : "are");
    json_decref(result);
    return 0;
}

/* One line per id in a result's list, under a heading. */
static void
print_ids(json_t *result, const char *key, const char *what)
{
    json_t *list = json_object_get(result, key), *item;
    size_t i;

    json_array_foreach(list, i, item) printf("  %s %.16s\n", what, json_string_value(item));
}

int
cmd_import(mrx_cli *cli, int argc, char **argv)
{
    json_t *result = NULL, *feeds, *refused, *item;
    long long events = 0;
    char *path = NULL;
    size_t i;
    int code;

    if ((code = mrx_cli_positional(cli, argc, argv, 1)) >= 0 ||
        (code = absolute(cli, &path, argv[optind])) != 0)
        return code;
    code = mrx_cli_call(cli, "import", json_pack("{s:s}", "path", path), &result);
    free(path);
    if (code != 0)
        return code;
    feeds = json_object_get(result, "feeds");
    refused = json_object_get(result, "refused");
    if (cli->json) {
        mrx_cli_print_json(json_incref(result));
    } else {
        json_array_foreach(feeds, i, item) events += mrx_cli_int(item, "events");
        printf("case %s%s\n  from %s, exported by %s at %s\n", mrx_cli_str(result, "case"),
               json_is_true(json_object_get(result, "new_case")) ? " (new on this node)" : "",
               mrx_cli_str(result, "path"), mrx_cli_str(result, "from_name"),
               mrx_cli_str(result, "exported"));
        if (json_array_size(feeds))
            printf("  ledger: %lld new event%s in %zu feed%s\n", events, events == 1 ? "" : "s",
                   json_array_size(feeds), json_array_size(feeds) == 1 ? "" : "s");
        else
            printf("  ledger: nothing new\n");
        json_array_foreach(feeds, i, item)
            printf("    %s: %lld\n", mrx_cli_str(item, "name"), mrx_cli_int(item, "events"));
        printf("  bundles: %zu stored, %zu already here, %zu not for this node\n",
               json_array_size(json_object_get(result, "stored")),
               json_array_size(json_object_get(result, "present")),
               json_array_size(json_object_get(result, "skipped")));
        print_ids(result, "stored", "stored ");
        print_ids(result, "skipped", "skipped");
        json_array_foreach(refused, i, item) printf("  REFUSED %s\n", json_string_value(item));
    }
    /* what was refused is not taken; the rest is, and the exit says so */
    code = json_array_size(refused) ? mrx_error_exit_code(MRX_EDENIED) : 0;
    if (code)
        fprintf(stderr, "mrx: %s (%zu refused in all)\n",
                json_string_value(json_array_get(refused, 0)), json_array_size(refused));
    json_decref(result);
    return code;
}
