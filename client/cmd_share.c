/*
 * mrx add, mrx get: bundles inside a case. mrxd packages the files for
 * the case's readers of the moment and records bundle-added; get has it
 * check a stored bundle against the event that added it, extract it and
 * record bundle-opened. Paths travel as absolute paths.
 */
#include "mrx_cli.h"
#include "mrx_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cmd_add(mrx_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {{"kind", required_argument, NULL, 'k'},
                                            MRX_CLI_COMMON_OPTIONS,
                                            {NULL, 0, NULL, 0}};
    const char *kind = NULL;
    json_t *paths, *result = NULL, *names, *item;
    char size[32];
    size_t i;
    int opt, code;

    while ((opt = mrx_cli_next_option(cli, argc, argv, options, &code)) != -1) {
        if (opt == -2)
            return code;
        if (opt != 'k')
            return mrx_cli_usage_error(cli, "unexpected option");
        kind = optarg;
    }
    if (!kind)
        return mrx_cli_usage_error(cli, "--kind is required");
    if (argc - optind < 2)
        return mrx_cli_usage_error(cli, "name the case and the files or folders to add");
    paths = json_array();
    for (int a = optind + 1; a < argc; a++) {
        char *abs = mrx_cli_absolute(argv[a]);
        if (!abs) {
            json_decref(paths);
            mrx_error_set(MRX_ENOMEM, "out of memory");
            return mrx_cli_fail(cli, MRX_ENOMEM);
        }
        json_array_append_new(paths, json_string(abs));
        free(abs);
    }
    if ((code = mrx_cli_call(cli, "add",
                             json_pack("{s:s,s:s,s:o}", "case", argv[optind], "kind", kind,
                                       "paths", paths),
                             &result)) != 0)
        return code;
    if (cli->json) {
        mrx_cli_print_json(result);
        return 0;
    }
    printf("bundle %s\n  %s, %lld file%s, %s, added to case %.16s\n  readable by: ",
           mrx_cli_str(result, "bundle"), mrx_cli_str(result, "kind"), mrx_cli_int(result, "files"),
           mrx_cli_int(result, "files") == 1 ? "" : "s",
           mrx_text_human_size(size, (unsigned long long)mrx_cli_int(result, "bytes")),
           mrx_cli_str(result, "case"));
    names = json_object_get(result, "reader_names");
    json_array_foreach(names, i, item) printf("%s%s", i ? ", " : "", json_string_value(item));
    printf("\n");
    json_decref(result);
    return 0;
}

int
cmd_get(mrx_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {{"out", required_argument, NULL, 'o'},
                                            MRX_CLI_COMMON_OPTIONS,
                                            {NULL, 0, NULL, 0}};
    const char *out = NULL;
    json_t *result = NULL;
    char size[32], *abs;
    int opt, code;

    while ((opt = mrx_cli_next_option(cli, argc, argv, options, &code)) != -1) {
        if (opt == -2)
            return code;
        if (opt != 'o')
            return mrx_cli_usage_error(cli, "unexpected option");
        out = optarg;
    }
    if (!out)
        return mrx_cli_usage_error(cli, "--out DIR is required");
    if (argc - optind != 2)
        return mrx_cli_usage_error(cli, "name the case and the bundle");
    if (!mrx_text_is_id_prefix(argv[optind + 1]))
        return mrx_cli_usage_error(cli, "\"%.70s\" is not a bundle id (at least %d lowercase hex "
                                        "digits)",
                                   argv[optind + 1], MRX_ID_PREFIX_MIN);
    if (!(abs = mrx_cli_absolute(out))) {
        mrx_error_set(MRX_ENOMEM, "out of memory");
        return mrx_cli_fail(cli, MRX_ENOMEM);
    }
    code = mrx_cli_call(cli, "get",
                        json_pack("{s:s,s:s,s:s}", "case", argv[optind], "bundle",
                                  argv[optind + 1], "out", abs),
                        &result);
    free(abs);
    if (code != 0)
        return code;
    if (cli->json) {
        mrx_cli_print_json(result);
        return 0;
    }
    printf("bundle %s\n  %s, %lld file%s, %s, signed by %s\n"
           "  every file matches the signed manifest; extracted to %s; %s\n",
           mrx_cli_str(result, "bundle"), mrx_cli_str(result, "kind"), mrx_cli_int(result, "files"),
           mrx_cli_int(result, "files") == 1 ? "" : "s",
           mrx_text_human_size(size, (unsigned long long)mrx_cli_int(result, "bytes")),
           mrx_cli_str(result, "author_name"), mrx_cli_str(result, "path"),
           json_is_true(json_object_get(result, "recorded"))
               ? "the opening is recorded in the case"
               : "not recorded: this node may no longer write to the case");
    json_decref(result);
    return 0;
}
