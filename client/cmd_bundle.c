/*
 * mrx bundle create, mrx bundle open: bundles as files, offline, with no
 * daemon involved.
 */
#include "mrx_bundle.h"
#include "mrx_cli.h"
#include "mrx_error.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECIPIENTS_MAX 64

static void
on_signal(int sig)
{
    (void)sig;
    mrx_bundle_interrupt();
}

/* Ctrl-C or a kill during a long create or open stops it cleanly: the
 * partial output (plaintext, for an open) is removed, not left behind. */
static void
catch_interrupts(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static json_t *
info_json(const mrx_bundle_info *info)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:b}", "id", info->id, "kind",
                     mrx_kind_name(info->kind), "author", info->author, "created", "",
                     "size", (json_int_t)info->size, "files", (json_int_t)info->files, "bytes",
                     (json_int_t)info->bytes, "compressed", info->compressed);
}

static void
set_created(json_t *doc, time_t created)
{
    char when[MRX_TIME_LEN + 1];

    mrx_text_format_time(when, created);
    json_object_set_new(doc, "created", json_string(when));
}

int
cmd_bundle_create(mrx_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {{"kind", required_argument, NULL, 'k'},
                                            {"to", required_argument, NULL, 't'},
                                            {"out", required_argument, NULL, 'o'},
                                            MRX_CLI_COMMON_OPTIONS,
                                            {NULL, 0, NULL, 0}};
    char recipients[RECIPIENTS_MAX][MRX_FPR_LEN + 1];
    const char *recipient_ptrs[RECIPIENTS_MAX];
    const char *kind_name = NULL, *out = NULL;
    size_t n_recipients = 0;
    mrx_bundle_spec spec;
    mrx_bundle_info info;
    mrx_node *node = NULL;
    char who[128], size[32];
    int opt, code, rc;

    while ((opt = mrx_cli_next_option(cli, argc, argv, options, &code)) != -1) {
        switch (opt) {
        case -2:
            return code;
        case 'k':
            kind_name = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 't':
            /* each --to takes one fingerprint, or several separated by commas */
            for (char *save = NULL, *tok = strtok_r(optarg, ",", &save); tok;
                 tok = strtok_r(NULL, ",", &save)) {
                if (n_recipients == RECIPIENTS_MAX)
                    return mrx_cli_usage_error(cli, "at most %d recipients", RECIPIENTS_MAX);
                if (mrx_text_normalize_fpr(recipients[n_recipients], tok) < 0)
                    return mrx_cli_usage_error(cli, "--to %s: not a fingerprint", tok);
                /* a reader named twice is one reader */
                size_t j = 0;
                while (j < n_recipients && strcmp(recipients[j], recipients[n_recipients]) != 0)
                    j++;
                if (j < n_recipients)
                    continue;
                recipient_ptrs[n_recipients] = recipients[n_recipients];
                n_recipients++;
            }
            break;
        default:
            return mrx_cli_usage_error(cli, "unexpected option");
        }
    }
    if (!kind_name || !out)
        return mrx_cli_usage_error(cli, "--kind and --out are required");
    if (optind == argc)
        return mrx_cli_usage_error(cli, "name the files or folders to bundle");
    memset(&spec, 0, sizeof spec);
    if ((rc = mrx_kind_parse(&spec.kind, kind_name)) < 0)
        return mrx_cli_fail(cli, rc);
    if ((rc = mrx_cli_open_node(cli, &node)) < 0)
        return mrx_cli_fail(cli, rc);
    for (size_t i = 0; i < n_recipients; i++)
        if (!mrx_node_knows(node, recipients[i])) {
            rc = mrx_error_set(MRX_ENOTFOUND, "recipient %s: not an imported peer (mrx peer add)",
                               recipients[i]);
            code = mrx_cli_fail(cli, rc);
            goto out;
        }
    spec.pgp = mrx_node_pgp(node);
    spec.author = mrx_node_config(node)->fpr;
    spec.recipients = recipient_ptrs;
    spec.n_recipients = n_recipients;
    spec.inputs = (const char *const *)argv + optind;
    spec.n_inputs = (size_t)(argc - optind);
    catch_interrupts();
    if ((rc = mrx_bundle_create(&info, &spec, out)) < 0) {
        code = mrx_cli_fail(cli, rc);
        goto out;
    }
    if (cli->json) {
        json_t *doc = info_json(&info), *readers = json_array();
        set_created(doc, info.created);
        json_array_append_new(readers, json_string(spec.author));
        for (size_t i = 0; i < n_recipients; i++)
            if (strcmp(recipients[i], spec.author) != 0)
                json_array_append_new(readers, json_string(recipients[i]));
        json_object_set_new(doc, "readers", readers);
        json_object_set_new(doc, "path", json_string(info.path));
        mrx_cli_print_json(doc);
    } else {
        printf("bundle %s\n", info.id);
        printf("  %s, %zu file%s, %s%s, written to %s\n", mrx_kind_name(info.kind), info.files,
               info.files == 1 ? "" : "s", mrx_text_human_size(size, info.bytes),
               info.compressed ? " (compressed)" : "", info.path);
        mrx_node_describe_key(node, who, sizeof who, spec.author);
        printf("  readable by: %s", who);
        for (size_t i = 0; i < n_recipients; i++)
            if (strcmp(recipients[i], spec.author) != 0) {
                mrx_node_describe_key(node, who, sizeof who, recipients[i]);
                printf(", %s", who);
            }
        printf("\n");
    }
    code = 0;
out:
    mrx_node_destroy(&node);
    return code;
}

int
cmd_bundle_open(mrx_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {{"out", required_argument, NULL, 'o'},
                                            {"signer", required_argument, NULL, 's'},
                                            MRX_CLI_COMMON_OPTIONS,
                                            {NULL, 0, NULL, 0}};
    char signer[MRX_FPR_LEN + 1] = "", who[128], size[32];
    const char *out = NULL;
    mrx_bundle_info info;
    mrx_node *node = NULL;
    int opt, code, rc;

    while ((opt = mrx_cli_next_option(cli, argc, argv, options, &code)) != -1) {
        switch (opt) {
        case -2:
            return code;
        case 'o':
            out = optarg;
            break;
        case 's':
            if (mrx_text_normalize_fpr(signer, optarg) < 0)
                return mrx_cli_usage_error(cli, "--signer %s: not a fingerprint", optarg);
            break;
        default:
            return mrx_cli_usage_error(cli, "unexpected option");
        }
    }
    if (!out)
        return mrx_cli_usage_error(cli, "--out DIR is required");
    if (argc - optind != 1)
        return mrx_cli_usage_error(cli, "name one bundle file");
    if ((rc = mrx_cli_open_node(cli, &node)) < 0)
        return mrx_cli_fail(cli, rc);
    if (signer[0] && !mrx_node_knows(node, signer)) {
        rc = mrx_error_set(MRX_ENOTFOUND, "signer %s: not an imported peer (mrx peer add)", signer);
        code = mrx_cli_fail(cli, rc);
        goto out;
    }
    /* without --signer, any key in the node keyring will do: it holds only
     * this node's key and those of peers imported with a verified
     * certificate */
    catch_interrupts();
    if ((rc = mrx_bundle_open(&info, mrx_node_pgp(node), signer[0] ? signer : NULL, NULL,
                              argv[optind], out, NULL)) < 0) {
        code = mrx_cli_fail(cli, rc);
        goto out;
    }
    if (cli->json) {
        json_t *doc = info_json(&info);
        set_created(doc, info.created);
        json_object_set_new(doc, "path", json_string(out));
        mrx_cli_print_json(doc);
    } else {
        mrx_node_describe_key(node, who, sizeof who, info.author);
        printf("bundle %s\n", info.id);
        printf("  %s, %zu file%s, %s, signed by %s\n", mrx_kind_name(info.kind), info.files,
               info.files == 1 ? "" : "s", mrx_text_human_size(size, info.bytes), who);
        printf("  every file matches the signed manifest; extracted to %s\n", out);
    }
    code = 0;
out:
    mrx_node_destroy(&node);
    return code;
}
