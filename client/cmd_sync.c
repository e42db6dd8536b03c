/*
 * mrx sync [--wait]: a sync round with every peer now, instead of at the
 * next sync_interval. With --wait it returns once every peer it reaches
 * is in step (ledger, views and the bundles this node may hold), and says
 * which peers it could not reach and which bundles it refused.
 */
#include "mrx_cli.h"
#include "mrx_error.h"

#include <stdio.h>
#include <string.h>

int
cmd_sync(mrx_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {{"wait", no_argument, NULL, 'w'},
                                            MRX_CLI_COMMON_OPTIONS,
                                            {NULL, 0, NULL, 0}};
    json_t *result = NULL, *item;
    int opt, code, wait = 0;
    size_t i, reached = 0;

    while ((opt = mrx_cli_next_option(cli, argc, argv, options, &code)) != -1) {
        if (opt == -2)
            return code;
        if (opt != 'w')
            return mrx_cli_usage_error(cli, "unexpected option");
        wait = 1;
    }
    if (argc != optind)
        return mrx_cli_usage_error(cli, "sync takes no arguments");
    if ((code = mrx_cli_call(cli, "sync", json_pack("{s:b}", "wait", wait), &result)) != 0)
        return code;
    if (cli->json) {
        mrx_cli_print_json(result);
    } else if (!wait) {
        printf("sync started with %lld session%s; 'mrx sync --wait' waits for it\n",
               mrx_cli_int(result, "sessions"), mrx_cli_int(result, "sessions") == 1 ? "" : "s");
    } else {
        json_array_foreach(json_object_get(result, "peers"), i, item)
            reached += strcmp(mrx_cli_str(item, "state"), "in step") == 0;
        printf("in step with %zu of %zu peer%s; %lld bundle%s fetched (%.1f s)\n", reached,
               json_array_size(json_object_get(result, "peers")),
               json_array_size(json_object_get(result, "peers")) == 1 ? "" : "s",
               mrx_cli_int(result, "fetched"), mrx_cli_int(result, "fetched") == 1 ? "" : "s",
               (double)mrx_cli_int(result, "ms") / 1000);
        json_array_foreach(json_object_get(result, "peers"), i, item)
            printf("  %-40s %s\n", mrx_cli_str(item, "name"), mrx_cli_str(item, "state"));
    }
    /* a copy refused is a bundle this node still lacks: say so, and fail */
    json_array_foreach(json_object_get(result, "refused"), i, item)
        fprintf(stderr, "mrx: bundle %s: a copy that does not hash to its id was refused\n",
                json_string_value(item));
    code = json_array_size(json_object_get(result, "refused"))
               ? mrx_error_exit_code(MRX_ECRYPTO)
               : 0;
    json_decref(result);
    return code;
}
