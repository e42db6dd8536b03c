/*
 * testlib: fixtures for the unit tests.
 */
#include "testlib.h"
#include "mrx_error.h"
#include "mrx_fs.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TRACKED 256

static char *tempdirs[MAX_TRACKED];
static size_t n_tempdirs;
static char *keyrings[MAX_TRACKED];
static size_t n_keyrings;

char *
t_tempdir(void)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = NULL;

    assert_true(asprintf(&dir, "%s/mrx-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp") > 0);
    assert_non_null(mkdtemp(dir));
    assert_true(n_tempdirs < MAX_TRACKED);
    tempdirs[n_tempdirs++] = dir;
    return dir;
}

mrx_pgp *
t_keyring(const char *dir, const char *name, char fpr[41])
{
    char *home = mrx_fs_join(dir, name), *userid = NULL;
    mrx_pgp *pgp = NULL;

    assert_non_null(home);
    assert_int_equal(mrx_fs_mkdir_p(home, 0700), 0);
    assert_true(n_keyrings < MAX_TRACKED);
    keyrings[n_keyrings++] = home;
    assert_int_equal(mrx_pgp_new(&pgp, home), 0);
    assert_true(asprintf(&userid, "%s (mrx test)", name) > 0);
    if (mrx_pgp_generate(pgp, fpr, userid) != 0)
        fail_msg("key generation: %s", mrx_error_last());
    free(userid);
    return pgp;
}

void
t_track_agent(const char *gnupghome)
{
    assert_true(n_keyrings < MAX_TRACKED);
    keyrings[n_keyrings] = strdup(gnupghome);
    assert_non_null(keyrings[n_keyrings]);
    n_keyrings++;
}

mrx_node *
t_node_new(const char *dir, const char *name, mrx_role role)
{
    char *home = mrx_fs_join(dir, name);
    mrx_node *n = NULL;

    if (!home || mrx_node_init(home, name, role, NULL, 0) != 0 || mrx_node_open(&n, home) != 0)
        fail_msg("node %s: %s", name, mrx_error_last());
    t_track_agent(mrx_node_gnupghome(n));
    free(home);
    return n;
}

void
t_introduce(mrx_node *a, mrx_node *b)
{
    const char *ta = mrx_cert_text(mrx_node_cert(a)), *tb = mrx_cert_text(mrx_node_cert(b));

    assert_int_equal(mrx_node_peer_add(b, NULL, ta, strlen(ta)), 0);
    assert_int_equal(mrx_node_peer_add(a, NULL, tb, strlen(tb)), 0);
}

const char *
t_fpr(mrx_node *n)
{
    return mrx_node_config(n)->fpr;
}

mrx_ledger_author
t_author(mrx_node *n)
{
    mrx_ledger_author a = {mrx_node_pgp(n), t_fpr(n), mrx_node_config(n)->name};
    return a;
}

void
t_share_key(mrx_pgp *from, mrx_pgp *to, const char *fpr)
{
    char *armored = NULL, got[41];
    size_t len = 0;

    assert_int_equal(mrx_pgp_export(from, &armored, &len, fpr), 0);
    if (mrx_pgp_import(to, got, armored, len) != 0)
        fail_msg("import: %s", mrx_error_last());
    assert_string_equal(got, fpr);
    free(armored);
}

char *
t_testdata(const char *rel)
{
    const char *base = getenv("MRX_TESTDATA");
    char *path = NULL;

    if (!base || !*base)
        fail_msg("MRX_TESTDATA is not set (run through tests/run)");
    assert_true(asprintf(&path, "%s/%s", base, rel) > 0);
    if (!t_exists(path))
        fail_msg("sample missing: %s", path);
    return path;
}

void
t_write_file(const char *path, const void *data, size_t len)
{
    char *dir = mrx_fs_dirname(path);
    FILE *f;

    assert_int_equal(mrx_fs_mkdir_p(dir, 0700), 0);
    free(dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

char *
t_read_file(const char *path, size_t *len)
{
    char *buf = NULL;

    if (mrx_fs_read_file(&buf, len, path, (size_t)1 << 31) != 0)
        fail_msg("read %s: %s", path, mrx_error_last());
    return buf;
}

int
t_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

int
t_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

int
t_sh(const char *fmt, ...)
{
    char *cmd = NULL;
    va_list ap;
    int status;

    va_start(ap, fmt);
    assert_true(vasprintf(&cmd, fmt, ap) > 0);
    va_end(ap);
    status = system(cmd);
    free(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void
t_cleanup(void)
{
    for (size_t i = 0; i < n_keyrings; i++) {
        mrx_pgp_stop_agent(keyrings[i]);
        free(keyrings[i]);
    }
    n_keyrings = 0;
    for (size_t i = 0; i < n_tempdirs; i++) {
        mrx_fs_remove_tree(tempdirs[i]);
        free(tempdirs[i]);
    }
    n_tempdirs = 0;
}

int
t_run(const struct CMUnitTest *tests, size_t n, const char *name, CMFixtureFunction setup,
      CMFixtureFunction teardown)
{
    int failed;

    if (mrx_pgp_global_init() != 0) {
        fprintf(stderr, "%s: %s\n", name, mrx_error_last());
        return 1;
    }
    failed = _cmocka_run_group_tests(name, tests, n, setup, teardown);
    t_cleanup();
    return failed;
}
