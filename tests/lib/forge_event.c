/*
 * forge_event: what a dishonest node does with its own keys and mrx's own
 * ledger code, past every check mrx and mrxd make before they write: it
 * signs, in its own feed of a case, an event it may not write. For the
 * integration tests (t_audit.sh), run while the node's mrxd is stopped.
 *
 *   forge_event HOME CASE bundle-withdrawn|bundle-opened BUNDLE
 *
 * Prints the new event's commit id.
 */
#include "mrx_case.h"
#include "mrx_error.h"
#include "mrx_ledger.h"
#include "mrx_node.h"

#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
    char commit[MRX_COMMIT_HEX_LEN + 1];
    mrx_ledger *ledger = NULL;
    mrx_node *node = NULL;
    mrx_event ev;
    int rc;

    if (argc != 5 || (strcmp(argv[3], "bundle-withdrawn") != 0 &&
                      strcmp(argv[3], "bundle-opened") != 0)) {
        fprintf(stderr, "usage: forge_event HOME CASE bundle-withdrawn|bundle-opened BUNDLE\n");
        return 2;
    }
    memset(&ev, 0, sizeof ev);
    ev.type = strcmp(argv[3], "bundle-opened") == 0 ? MRX_EV_BUNDLE_OPENED : MRX_EV_BUNDLE_WITHDRAWN;
    snprintf(ev.bundle, sizeof ev.bundle, "%s", argv[4]);
    if ((rc = mrx_ledger_global_init()) < 0 || (rc = mrx_pgp_global_init()) < 0 ||
        (rc = mrx_node_open(&node, argv[1])) < 0 ||
        (rc = mrx_case_open_ledger(&ledger, node, argv[2])) < 0) {
        fprintf(stderr, "forge_event: %s\n", mrx_error_last());
        mrx_node_destroy(&node);
        return 1;
    }
    mrx_ledger_author author = {mrx_node_pgp(node), mrx_node_config(node)->fpr,
                                mrx_node_config(node)->name};
    if ((rc = mrx_ledger_append(ledger, &author, &ev, NULL, commit)) < 0)
        fprintf(stderr, "forge_event: %s\n", mrx_error_last());
    else
        printf("%s\n", commit);
    mrx_ledger_destroy(&ledger);
    mrx_node_destroy(&node);
    return rc < 0 ? 1 : 0;
}
