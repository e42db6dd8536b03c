/*
 * mrx grant, mrx revoke: the owner decides who takes part in a case.
 */
#include "mrx_cli.h"
#include "mrx_error.h"

#include <stdio.h>
#include <string.h>

int
cmd_grant(mrx_cli *cli, int argc, char **argv)
{
    json_t *result = NULL;
    const char *role;
    int code;

    if ((code = mrx_cli_positional(cli, argc, argv, 3)) >= 0)
        return code;
    if ((code = mrx_cli_call(cli, "grant",
                             json_pack("{s:s,s:s,s:s}", "case", argv[optind], "member",
                                       argv[optind + 1], "role", argv[optind + 2]),
                             &result)) != 0)
        return code;
    if (cli->json) {
        mrx_cli_print_json(result);
        return 0;
    }
    role = mrx_cli_str(result, "role");
    printf("%s is now a %s of case %.16s\n%s\n", mrx_cli_str(result, "member_name"), role,
           mrx_cli_str(result, "case"),
           strcmp(role, "relay") == 0      ? "  it stores and forwards ciphertext and reads none of it"
           : strcmp(role, "reviewer") == 0 ? "  bundles added from now on are encrypted to it too"
                                           : "  it may add bundles; it reads only its own");
    json_decref(result);
    return 0;
}

int
cmd_revoke(mrx_cli *cli, int argc, char **argv)
{
    json_t *result = NULL;
    int code;

    if ((code = mrx_cli_positional(cli, argc, argv, 2)) >= 0)
        return code;
    if ((code = mrx_cli_call(cli, "revoke",
                             json_pack("{s:s,s:s}", "case", argv[optind], "member",
                                       argv[optind + 1]),
                             &result)) != 0)
        return code;
    if (cli->json) {
        mrx_cli_print_json(result);
        return 0;
    }
    printf("%s is no longer a member of case %.16s\n"
           "  no later bundle is encrypted to it; what it already fetched, it keeps\n",
           mrx_cli_str(result, "member_name"), mrx_cli_str(result, "case"));
    json_decref(result);
    return 0;
}
