/*
 * mrx case new, list, show: cases and their verified history, on the
 * local node.
 */
#include "mrx_case.h"
#include "mrx_cli.h"
#include "mrx_error.h"
#include "mrx_fs.h"
#include "mrx_ledger.h"

#include <dirent.h>
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
    mrx_ledger_author author;
    mrx_ledger *ledger = NULL;
    mrx_node *node = NULL;
    int opt, code, rc;

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
    if ((rc = mrx_cli_open_node(cli, &node)) < 0)
        return mrx_cli_fail(cli, rc);
    if (mrx_node_config(node)->role != MRX_ROLE_PATIENT) {
        rc = mrx_error_set(MRX_EDENIED, "a case is owned by its patient: this node is a %s",
                           mrx_role_name(mrx_node_config(node)->role));
        code = mrx_cli_fail(cli, rc);
        goto out;
    }
    author = mrx_cli_author(node);
    if ((rc = mrx_ledger_create(&ledger, mrx_node_cases(node), &author, title)) < 0) {
        code = mrx_cli_fail(cli, rc);
        goto out;
    }
    if (cli->json)
        mrx_cli_print_json(json_pack("{s:s,s:s,s:s}", "id", mrx_ledger_case_id(ledger), "title",
                                     title, "owner", mrx_ledger_owner(ledger)));
    else
        printf("case %s\n  \"%s\", owned by this node; the title stays on this node\n",
               mrx_ledger_case_id(ledger), title);
    code = 0;
out:
    mrx_ledger_destroy(&ledger);
    mrx_node_destroy(&node);
    return code;
}

/* Count the events of a feed as they verify. */
static int
count_event(void *arg, const mrx_event *ev, const char *commit)
{
    (void)ev;
    (void)commit;
    (*(size_t *)arg)++;
    return 0;
}

/* The ids of the cases on this node, sorted; *out malloc'd. */
static int
case_ids(mrx_node *node, char (**out)[MRX_SHA256_HEX_LEN + 1], size_t *n)
{
    char (*ids)[MRX_SHA256_HEX_LEN + 1] = NULL;
    struct dirent *de;
    size_t count = 0;
    DIR *dir;

    *out = NULL;
    *n = 0;
    if (!(dir = opendir(mrx_node_cases(node))))
        return 0; /* no case yet */
    while ((de = readdir(dir))) {
        char (*grown)[MRX_SHA256_HEX_LEN + 1];
        if (!mrx_sha256_hex_valid(de->d_name))
            continue;
        if (!(grown = realloc(ids, (count + 1) * sizeof *ids))) {
            closedir(dir);
            free(ids);
            return mrx_error_set(MRX_ENOMEM, "out of memory");
        }
        ids = grown;
        strcpy(ids[count++], de->d_name);
    }
    closedir(dir);
    if (count)
        qsort(ids, count, sizeof *ids, (int (*)(const void *, const void *))strcmp);
    *out = ids;
    *n = count;
    return 0;
}

static int
open_case(mrx_ledger **out, mrx_node *node, const char *id)
{
    char *dir = mrx_fs_join(mrx_node_cases(node), id);
    int rc;

    if (!dir)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    rc = mrx_ledger_open(out, dir);
    free(dir);
    return rc;
}

int
cmd_case_list(mrx_cli *cli, int argc, char **argv)
{
    char (*ids)[MRX_SHA256_HEX_LEN + 1] = NULL, who[128];
    json_t *list = json_array();
    mrx_node *node = NULL;
    size_t n = 0;
    int code, rc;

    if ((code = mrx_cli_no_arguments(cli, argc, argv)) >= 0)
        return code;
    if ((rc = mrx_cli_open_node(cli, &node)) < 0 || (rc = case_ids(node, &ids, &n)) < 0) {
        code = mrx_cli_fail(cli, rc);
        goto out;
    }
    if (!cli->json && n == 0)
        printf("no cases yet: a patient starts one with 'mrx case new --title TITLE'\n");
    else if (!cli->json)
        printf("%-16s  %-7s  %-30s  %s\n", "CASE", "EVENTS", "OWNER", "TITLE");
    for (size_t i = 0; i < n; i++) {
        mrx_ledger *ledger = NULL;
        size_t events = 0;
        const char *problem = NULL;

        if ((rc = open_case(&ledger, node, ids[i])) < 0 ||
            (rc = mrx_ledger_read_feed(ledger, mrx_node_pgp(node), mrx_ledger_owner(ledger),
                                       count_event, &events)) < 0)
            problem = mrx_error_last();
        if (cli->json) {
            json_t *c = json_pack("{s:s,s:s,s:s,s:I,s:b}", "id", ids[i], "title",
                                  ledger ? mrx_ledger_title(ledger) : "", "owner",
                                  ledger ? mrx_ledger_owner(ledger) : "", "owner_events",
                                  (json_int_t)events, "verified", problem == NULL);
            if (problem)
                json_object_set_new(c, "problem", json_string(problem));
            json_array_append_new(list, c);
        } else {
            if (ledger)
                mrx_cli_describe_key(who, sizeof who, node, mrx_ledger_owner(ledger));
            printf("%.16s  %-7zu  %-30.30s  %s%s%s\n", ids[i], events, ledger ? who : "?",
                   ledger ? mrx_ledger_title(ledger) : "", problem ? "  REFUSED: " : "",
                   problem ? problem : "");
        }
        mrx_ledger_destroy(&ledger);
    }
    if (cli->json) {
        mrx_cli_print_json(json_pack("{s:O}", "cases", list));
    }
    code = 0;
out:
    json_decref(list);
    free(ids);
    mrx_node_destroy(&node);
    return code;
}

/* A case named by its id or a unique prefix of it. */
static int
resolve_case(char id[MRX_SHA256_HEX_LEN + 1], mrx_node *node, const char *arg)
{
    char (*ids)[MRX_SHA256_HEX_LEN + 1] = NULL;
    size_t n = 0, len = strlen(arg), found = 0;
    int rc;

    if (!mrx_cli_is_id_prefix(arg))
        return mrx_error_set(MRX_EINVAL, "\"%.70s\" is not a case id (at least %d lowercase hex "
                                         "digits)",
                             arg, MRX_CLI_ID_PREFIX_MIN);
    if ((rc = case_ids(node, &ids, &n)) < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (strncmp(ids[i], arg, len) == 0) {
            strcpy(id, ids[i]);
            found++;
        }
    free(ids);
    if (found == 0)
        return mrx_error_set(MRX_ENOTFOUND, "case %s: not on this node", arg);
    if (found > 1)
        return mrx_error_set(MRX_EINVAL, "case %s: ambiguous, give more digits", arg);
    return 0;
}

struct timeline {
    mrx_event *events;  /* every verified event of the case */
    size_t n, cap;
    const mrx_case *c;  /* the membership, to check each event against */
};

static int
add_event(void *arg, const mrx_event *ev, const char *commit)
{
    struct timeline *t = arg;
    int rc;

    /* signed is not enough: it must have been the author's to write */
    if (t->c && (rc = mrx_case_may_write_at(t->c, ev->author, ev->type, ev->kind, ev->time)) < 0)
        return mrx_error_wrap(rc, "event %s", commit);
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        mrx_event *grown = realloc(t->events, cap * sizeof *grown);
        if (!grown)
            return mrx_error_set(MRX_ENOMEM, "out of memory");
        t->events = grown;
        t->cap = cap;
    }
    t->events[t->n++] = *ev;
    return 0;
}

static int
by_time(const void *a, const void *b)
{
    const mrx_event *x = a, *y = b;
    int c;

    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    if ((c = strcmp(x->author, y->author)) != 0)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* One line of what an event did, for people. */
static void
describe_event(char *buf, size_t len, mrx_node *node, const mrx_event *ev)
{
    char who[128], size[32];

    switch (ev->type) {
    case MRX_EV_CASE_CREATED:
        snprintf(buf, len, "created the case");
        break;
    case MRX_EV_MEMBER_ADDED:
        mrx_cli_describe_key(who, sizeof who, node, ev->member);
        snprintf(buf, len, "added %s as %s", who, mrx_member_role_name(ev->role));
        break;
    case MRX_EV_MEMBER_REMOVED:
        mrx_cli_describe_key(who, sizeof who, node, ev->member);
        snprintf(buf, len, "removed %s", who);
        break;
    case MRX_EV_BUNDLE_ADDED:
        snprintf(buf, len, "added %s bundle %.12s (%s) for %zu reader%s",
                 mrx_kind_name(ev->kind), ev->bundle, mrx_cli_human_size(size, ev->size),
                 ev->n_readers, ev->n_readers == 1 ? "" : "s");
        break;
    case MRX_EV_BUNDLE_WITHDRAWN:
        snprintf(buf, len, "withdrew bundle %.12s", ev->bundle);
        break;
    case MRX_EV_BUNDLE_SERVED:
        mrx_cli_describe_key(who, sizeof who, node, ev->peer);
        snprintf(buf, len, "served bundle %.12s to %s", ev->bundle, who);
        break;
    case MRX_EV_BUNDLE_FETCHED:
        mrx_cli_describe_key(who, sizeof who, node, ev->peer);
        snprintf(buf, len, "fetched bundle %.12s from %s", ev->bundle, who);
        break;
    case MRX_EV_BUNDLE_OPENED:
        snprintf(buf, len, "opened bundle %.12s", ev->bundle);
        break;
    }
}

mrx_ledger_author
mrx_cli_author(mrx_node *node)
{
    mrx_ledger_author a = {mrx_node_pgp(node), mrx_node_config(node)->fpr,
                           mrx_node_config(node)->name};
    return a;
}

int
mrx_cli_open_case(mrx_ledger **out, mrx_node *node, const char *arg)
{
    char id[MRX_SHA256_HEX_LEN + 1];
    int rc;

    *out = NULL;
    if ((rc = resolve_case(id, node, arg)) < 0)
        return rc;
    return open_case(out, node, id);
}

int
cmd_case_show(mrx_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {MRX_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    char id[MRX_SHA256_HEX_LEN + 1], (*feeds)[MRX_FPR_LEN + 1] = NULL, who[128], what[256];
    char when[MRX_TIME_LEN + 1];
    struct timeline t = {NULL, 0, 0, NULL};
    mrx_case *c = NULL;
    json_t *events = json_array(), *problems = json_array();
    mrx_ledger *ledger = NULL;
    mrx_node *node = NULL;
    size_t n_feeds = 0;
    int opt, code, rc;

    while ((opt = mrx_cli_next_option(cli, argc, argv, options, &code)) != -1)
        if (opt == -2)
            goto done;
    if (argc - optind != 1) {
        code = mrx_cli_usage_error(cli, "name one case");
        goto done;
    }
    if ((rc = mrx_cli_open_node(cli, &node)) < 0 || (rc = resolve_case(id, node, argv[optind])) < 0 ||
        (rc = open_case(&ledger, node, id)) < 0 ||
        (rc = mrx_ledger_feeds(ledger, &feeds, &n_feeds)) < 0 ||
        (rc = mrx_case_load(&c, ledger, mrx_node_pgp(node))) < 0) {
        code = mrx_cli_fail(cli, rc);
        goto done;
    }
    t.c = c;
    /* each feed verifies on its own: a bad one is reported, the rest shown */
    for (size_t i = 0; i < n_feeds; i++) {
        size_t before = t.n;
        if ((rc = mrx_ledger_read_feed(ledger, mrx_node_pgp(node), feeds[i], add_event, &t)) < 0) {
            t.n = before;
            json_array_append_new(problems, json_pack("{s:s,s:s}", "feed", feeds[i], "problem",
                                                      mrx_error_last()));
        }
    }
    if (t.n)
        qsort(t.events, t.n, sizeof *t.events, by_time);
    mrx_cli_describe_key(who, sizeof who, node, mrx_ledger_owner(ledger));
    if (!cli->json) {
        printf("case %s\n  title: %s\n  owner: %s\n", id,
               mrx_ledger_title(ledger)[0] ? mrx_ledger_title(ledger) : "(not kept on this node)",
               who);
        for (size_t i = 0; i < mrx_case_member_count(c); i++) {
            const mrx_member *m = mrx_case_member_at(c, i);
            mrx_cli_describe_key(who, sizeof who, node, m->fpr);
            printf("  %-7s %s, %s%s\n", i ? "" : "members", who, mrx_member_role_name(m->role),
                   m->active ? "" : " (removed)");
        }
        printf("\n");
    }
    for (size_t i = 0; i < t.n; i++) {
        const mrx_event *ev = &t.events[i];
        mrx_text_format_time(when, ev->time);
        describe_event(what, sizeof what, node, ev);
        if (cli->json) {
            json_array_append_new(events,
                                  json_pack("{s:s,s:s,s:s,s:I,s:s}", "time", when, "type",
                                            mrx_event_type_name(ev->type), "author", ev->author,
                                            "seq", (json_int_t)ev->seq, "summary", what));
        } else {
            mrx_cli_describe_key(who, sizeof who, node, ev->author);
            printf("%s  %-36.36s  %s\n", when, who, what);
        }
    }
    if (cli->json) {
        json_t *members = json_array();
        for (size_t i = 0; i < mrx_case_member_count(c); i++) {
            const mrx_member *m = mrx_case_member_at(c, i);
            json_array_append_new(members, json_pack("{s:s,s:s,s:b}", "fingerprint", m->fpr,
                                                     "role", mrx_member_role_name(m->role),
                                                     "active", m->active));
        }
        mrx_cli_print_json(json_pack("{s:s,s:s,s:s,s:o,s:O,s:O}", "id", id, "title",
                                     mrx_ledger_title(ledger), "owner", mrx_ledger_owner(ledger),
                                     "members", members, "events", events, "problems",
                                     problems));
    } else {
        for (size_t i = 0; i < json_array_size(problems); i++)
            printf("REFUSED feed %s: %s\n",
                   json_string_value(json_object_get(json_array_get(problems, i), "feed")),
                   json_string_value(json_object_get(json_array_get(problems, i), "problem")));
    }
    code = json_array_size(problems) ? mrx_error_exit_code(MRX_ECRYPTO) : 0;
    if (code)
        fprintf(stderr, "mrx: case %.16s: %zu feed%s did not verify\n", id,
                json_array_size(problems), json_array_size(problems) == 1 ? "" : "s");
done:
    json_decref(events);
    json_decref(problems);
    free(t.events);
    free(feeds);
    mrx_case_destroy(&c);
    mrx_ledger_destroy(&ledger);
    mrx_node_destroy(&node);
    return code;
}
