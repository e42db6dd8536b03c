/*
 * mrx grant, mrx revoke: the owner decides who takes part in a case.
 */
#include "mrx_case.h"
#include "mrx_cli.h"
#include "mrx_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The node must own the case to change its members. */
static int
must_own(mrx_node *node, mrx_ledger *ledger)
{
    if (strcmp(mrx_node_config(node)->fpr, mrx_ledger_owner(ledger)) != 0)
        return mrx_error_set(MRX_EDENIED, "only the case's owner (%s) grants and revokes",
                             mrx_ledger_owner(ledger));
    return 0;
}

int
cmd_grant(mrx_cli *cli, int argc, char **argv)
{
    char fpr[MRX_FPR_LEN + 1], who[128];
    mrx_ledger_author author;
    mrx_ledger *ledger = NULL;
    mrx_case *c = NULL;
    mrx_cert *cert = NULL;
    mrx_node *node = NULL;
    const mrx_member *m;
    mrx_member_role role;
    mrx_event ev;
    int code, rc;

    if ((code = mrx_cli_positional(cli, argc, argv, 3)) >= 0)
        return code;
    if (mrx_text_normalize_fpr(fpr, argv[optind + 1]) < 0)
        return mrx_cli_usage_error(cli, "%s: not a fingerprint", argv[optind + 1]);
    if ((rc = mrx_member_role_parse(&role, argv[optind + 2])) < 0)
        return mrx_cli_usage_error(cli, "%s", mrx_error_last());
    if ((rc = mrx_cli_open_node(cli, &node)) < 0 ||
        (rc = mrx_cli_open_case(&ledger, node, argv[optind])) < 0 ||
        (rc = must_own(node, ledger)) < 0 || (rc = mrx_case_load(&c, ledger, mrx_node_pgp(node))) < 0)
        goto fail;
    if (strcmp(fpr, mrx_ledger_owner(ledger)) == 0) {
        rc = mrx_error_set(MRX_EINVAL, "the owner is not a member of its own case");
        goto fail;
    }
    /* the member's certificate goes into the ledger, so it must be known */
    if ((rc = mrx_node_peer_get(node, &cert, fpr)) < 0)
        goto fail;
    if ((m = mrx_case_member(c, fpr)) && m->active && m->role == role) {
        rc = mrx_error_set(MRX_EEXIST, "%s is already a %s of this case", fpr,
                           mrx_member_role_name(role));
        goto fail;
    }
    memset(&ev, 0, sizeof ev);
    ev.type = MRX_EV_MEMBER_ADDED;
    strcpy(ev.member, fpr);
    ev.role = role;
    author = mrx_cli_author(node);
    if ((rc = mrx_ledger_append(ledger, &author, &ev, mrx_cert_text(cert), NULL)) < 0)
        goto fail;
    mrx_cli_describe_key(who, sizeof who, node, fpr);
    if (cli->json)
        mrx_cli_print_json(json_pack("{s:s,s:s,s:s,s:I}", "case", mrx_ledger_case_id(ledger),
                                     "member", fpr, "role", mrx_member_role_name(role), "seq",
                                     (json_int_t)ev.seq));
    else
        printf("%s is now a %s of case %.16s\n%s\n", who, mrx_member_role_name(role),
               mrx_ledger_case_id(ledger),
               role == MRX_MEMBER_RELAY ? "  it stores and forwards ciphertext and reads none of it"
               : role == MRX_MEMBER_REVIEWER
                   ? "  bundles added from now on are encrypted to it too"
                   : "  it may add bundles; it reads only its own");
    code = 0;
    goto out;
fail:
    code = mrx_cli_fail(cli, rc);
out:
    mrx_cert_destroy(&cert);
    mrx_case_destroy(&c);
    mrx_ledger_destroy(&ledger);
    mrx_node_destroy(&node);
    return code;
}

int
cmd_revoke(mrx_cli *cli, int argc, char **argv)
{
    char fpr[MRX_FPR_LEN + 1], who[128];
    mrx_ledger_author author;
    mrx_ledger *ledger = NULL;
    mrx_case *c = NULL;
    mrx_node *node = NULL;
    const mrx_member *m;
    mrx_event ev;
    int code, rc;

    if ((code = mrx_cli_positional(cli, argc, argv, 2)) >= 0)
        return code;
    if (mrx_text_normalize_fpr(fpr, argv[optind + 1]) < 0)
        return mrx_cli_usage_error(cli, "%s: not a fingerprint", argv[optind + 1]);
    if ((rc = mrx_cli_open_node(cli, &node)) < 0 ||
        (rc = mrx_cli_open_case(&ledger, node, argv[optind])) < 0 ||
        (rc = must_own(node, ledger)) < 0 || (rc = mrx_case_load(&c, ledger, mrx_node_pgp(node))) < 0)
        goto fail;
    if (!(m = mrx_case_member(c, fpr)) || !m->active) {
        rc = mrx_error_set(MRX_ENOTFOUND, "%s is not a member of this case", fpr);
        goto fail;
    }
    memset(&ev, 0, sizeof ev);
    ev.type = MRX_EV_MEMBER_REMOVED;
    strcpy(ev.member, fpr);
    author = mrx_cli_author(node);
    if ((rc = mrx_ledger_append(ledger, &author, &ev, NULL, NULL)) < 0)
        goto fail;
    mrx_cli_describe_key(who, sizeof who, node, fpr);
    if (cli->json)
        mrx_cli_print_json(json_pack("{s:s,s:s,s:I}", "case", mrx_ledger_case_id(ledger),
                                     "member", fpr, "seq", (json_int_t)ev.seq));
    else
        printf("%s is no longer a member of case %.16s\n"
               "  no later bundle is encrypted to it; what it already fetched, it keeps\n",
               who, mrx_ledger_case_id(ledger));
    code = 0;
    goto out;
fail:
    code = mrx_cli_fail(cli, rc);
out:
    mrx_case_destroy(&c);
    mrx_ledger_destroy(&ledger);
    mrx_node_destroy(&node);
    return code;
}
