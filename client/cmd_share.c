/*
 * mrx add, mrx get: bundles inside a case. add packages files for the
 * case's readers of the moment, stores the bundle under its id beside the
 * ledger and records bundle-added; get checks a stored bundle against the
 * event that added it, extracts it and records bundle-opened.
 */
#include "mrx_bundle.h"
#include "mrx_case.h"
#include "mrx_cli.h"
#include "mrx_error.h"
#include "mrx_fs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUNDLES_DIR "bundles"

/* The case's bundle store: cases/<id>/bundles. */
static char *
store_dir(mrx_node *node, mrx_ledger *ledger)
{
    char *dir = NULL;

    if (asprintf(&dir, "%s/%s/" BUNDLES_DIR, mrx_node_cases(node), mrx_ledger_case_id(ledger)) < 0)
        return NULL;
    return dir;
}

int
cmd_add(mrx_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {{"kind", required_argument, NULL, 'k'},
                                            MRX_CLI_COMMON_OPTIONS,
                                            {NULL, 0, NULL, 0}};
    char readers[MRX_EVENT_READERS_MAX][MRX_FPR_LEN + 1], who[128], size[32];
    const char *reader_ptrs[MRX_EVENT_READERS_MAX];
    const char *kind_name = NULL;
    char *store = NULL;
    size_t n_readers = 0;
    mrx_ledger_author author;
    mrx_ledger *ledger = NULL;
    mrx_bundle_spec spec;
    mrx_bundle_info info;
    mrx_case *c = NULL;
    mrx_node *node = NULL;
    mrx_event ev;
    int opt, code, rc;

    memset(&spec, 0, sizeof spec);
    while ((opt = mrx_cli_next_option(cli, argc, argv, options, &code)) != -1) {
        if (opt == -2)
            return code;
        if (opt != 'k')
            return mrx_cli_usage_error(cli, "unexpected option");
        kind_name = optarg;
    }
    if (!kind_name)
        return mrx_cli_usage_error(cli, "--kind is required");
    if (argc - optind < 2)
        return mrx_cli_usage_error(cli, "name the case and the files or folders to add");
    if ((rc = mrx_kind_parse(&spec.kind, kind_name)) < 0)
        return mrx_cli_fail(cli, rc);
    if ((rc = mrx_cli_open_node(cli, &node)) < 0 ||
        (rc = mrx_cli_open_case(&ledger, node, argv[optind])) < 0 ||
        (rc = mrx_case_load(&c, ledger, mrx_node_pgp(node))) < 0 ||
        (rc = mrx_case_may_write(c, mrx_node_config(node)->fpr, MRX_EV_BUNDLE_ADDED,
                                 spec.kind)) < 0 ||
        (rc = mrx_case_readers(c, mrx_node_config(node)->fpr, readers, &n_readers)) < 0 ||
        (rc = mrx_case_import_member_keys(c, node)) < 0)
        goto fail;
    if (!(store = store_dir(node, ledger))) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = mrx_fs_mkdir_p(store, 0700)) < 0)
        goto fail;
    for (size_t i = 0; i < n_readers; i++)
        reader_ptrs[i] = readers[i];
    spec.pgp = mrx_node_pgp(node);
    spec.author = mrx_node_config(node)->fpr;
    spec.recipients = reader_ptrs;
    spec.n_recipients = n_readers;
    spec.inputs = (const char *const *)argv + optind + 1;
    spec.n_inputs = (size_t)(argc - optind - 1);
    /* the bundle is in the store, fsynced, before the event names it */
    if ((rc = mrx_bundle_create(&info, &spec, store)) < 0)
        goto fail;
    memset(&ev, 0, sizeof ev);
    ev.type = MRX_EV_BUNDLE_ADDED;
    strcpy(ev.bundle, info.id);
    ev.size = info.size;
    ev.kind = info.kind;
    memcpy(ev.readers, readers, sizeof readers);
    ev.n_readers = n_readers;
    author = mrx_cli_author(node);
    if ((rc = mrx_ledger_append(ledger, &author, &ev, NULL, NULL)) < 0)
        goto fail;
    if (cli->json) {
        json_t *list = json_array();
        for (size_t i = 0; i < n_readers; i++)
            json_array_append_new(list, json_string(readers[i]));
        mrx_cli_print_json(json_pack("{s:s,s:s,s:s,s:I,s:I,s:o}", "case",
                                     mrx_ledger_case_id(ledger), "bundle", info.id, "kind",
                                     mrx_kind_name(info.kind), "size", (json_int_t)info.size,
                                     "files", (json_int_t)info.files, "readers", list));
    } else {
        printf("bundle %s\n  %s, %zu file%s, %s, added to case %.16s\n  readable by: ", info.id,
               mrx_kind_name(info.kind), info.files, info.files == 1 ? "" : "s",
               mrx_cli_human_size(size, info.bytes), mrx_ledger_case_id(ledger));
        for (size_t i = 0; i < n_readers; i++) {
            mrx_cli_describe_key(who, sizeof who, node, readers[i]);
            printf("%s%s", i ? ", " : "", who);
        }
        printf("\n");
    }
    code = 0;
    goto out;
fail:
    code = mrx_cli_fail(cli, rc);
out:
    free(store);
    mrx_case_destroy(&c);
    mrx_ledger_destroy(&ledger);
    mrx_node_destroy(&node);
    return code;
}

/* Finds the bundle-added event of a bundle named by id or prefix. */
struct finder {
    const char *prefix; /* what was asked for */
    mrx_event found;    /* the matching event */
    int matches;        /* how many bundles matched */
};

static int
find_bundle(void *arg, const mrx_event *ev, const char *commit)
{
    struct finder *f = arg;

    (void)commit;
    if (ev->type == MRX_EV_BUNDLE_ADDED &&
        strncmp(ev->bundle, f->prefix, strlen(f->prefix)) == 0 &&
        (f->matches == 0 || strcmp(f->found.bundle, ev->bundle) != 0)) {
        f->found = *ev;
        f->matches++;
    }
    return 0;
}

int
cmd_get(mrx_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {{"out", required_argument, NULL, 'o'},
                                            MRX_CLI_COMMON_OPTIONS,
                                            {NULL, 0, NULL, 0}};
    char (*feeds)[MRX_FPR_LEN + 1] = NULL, who[128], size[32];
    const char *out = NULL, *arg;
    char *store = NULL, *path = NULL;
    size_t n_feeds = 0;
    mrx_ledger_author author;
    mrx_ledger *ledger = NULL;
    mrx_bundle_info info;
    mrx_case *c = NULL;
    mrx_node *node = NULL;
    struct finder f;
    mrx_event ev;
    int opt, code, rc, bad_feeds = 0;

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
    arg = argv[optind + 1];
    if (!mrx_cli_is_id_prefix(arg))
        return mrx_cli_usage_error(cli, "\"%.70s\" is not a bundle id (at least %d lowercase hex "
                                        "digits)",
                                   arg, MRX_CLI_ID_PREFIX_MIN);
    memset(&f, 0, sizeof f);
    f.prefix = arg;
    if ((rc = mrx_cli_open_node(cli, &node)) < 0 ||
        (rc = mrx_cli_open_case(&ledger, node, argv[optind])) < 0 ||
        (rc = mrx_case_load(&c, ledger, mrx_node_pgp(node))) < 0 ||
        (rc = mrx_ledger_feeds(ledger, &feeds, &n_feeds)) < 0)
        goto fail;
    /* only verified events count: a feed that does not verify names
     * nothing, and does not keep the others from being used */
    for (size_t i = 0; i < n_feeds; i++)
        if (mrx_ledger_read_feed(ledger, mrx_node_pgp(node), feeds[i], find_bundle, &f) < 0) {
            fprintf(stderr, "mrx: warning: %s\n", mrx_error_last());
            bad_feeds++;
        }
    if (f.matches != 1) {
        rc = f.matches ? mrx_error_set(MRX_EINVAL, "bundle %s: ambiguous, give more digits", arg)
                       : mrx_error_set(MRX_ENOTFOUND, "bundle %s: no such bundle in this case%s",
                                       arg, bad_feeds ? " (some feeds did not verify)" : "");
        goto fail;
    }
    if (!(store = store_dir(node, ledger)) ||
        asprintf(&path, "%s/%s.mrx", store, f.found.bundle) < 0) {
        path = NULL;
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto fail;
    }
    if (access(path, F_OK) != 0) {
        rc = mrx_error_set(MRX_ENOTFOUND, "bundle %.16s: not on this node yet", f.found.bundle);
        goto fail;
    }
    /* the bytes must be the ones the ledger names, signed by who added them */
    if ((rc = mrx_bundle_open(&info, mrx_node_pgp(node), f.found.author, f.found.bundle, path,
                              out)) < 0)
        goto fail;
    if (mrx_case_may_write(c, mrx_node_config(node)->fpr, MRX_EV_BUNDLE_OPENED, info.kind) == 0) {
        memset(&ev, 0, sizeof ev);
        ev.type = MRX_EV_BUNDLE_OPENED;
        strcpy(ev.bundle, info.id);
        author = mrx_cli_author(node);
        if ((rc = mrx_ledger_append(ledger, &author, &ev, NULL, NULL)) < 0)
            goto fail;
    }
    mrx_cli_describe_key(who, sizeof who, node, info.author);
    if (cli->json)
        mrx_cli_print_json(json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "case",
                                     mrx_ledger_case_id(ledger), "bundle", info.id, "kind",
                                     mrx_kind_name(info.kind), "author", info.author, "files",
                                     (json_int_t)info.files, "path", out));
    else
        printf("bundle %s\n  %s, %zu file%s, %s, signed by %s\n"
               "  every file matches the signed manifest; extracted to %s; the opening is "
               "recorded in the case\n",
               info.id, mrx_kind_name(info.kind), info.files, info.files == 1 ? "" : "s",
               mrx_cli_human_size(size, info.bytes), who, out);
    code = 0;
    goto out;
fail:
    code = mrx_cli_fail(cli, rc);
out:
    free(store);
    free(path);
    free(feeds);
    mrx_case_destroy(&c);
    mrx_ledger_destroy(&ledger);
    mrx_node_destroy(&node);
    return code;
}
