/*
 * testlib: fixtures shared by the unit tests: temporary folders that are
 * removed afterwards, keyrings with fresh node keys whose gpg-agents are
 * stopped, and the paths of the shared sample files.
 */
#ifndef MRX_TESTLIB_H
#define MRX_TESTLIB_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mrx_ledger.h"
#include "mrx_node.h"
#include "mrx_pgp.h"

/* A new empty folder under $TMPDIR; removed by t_cleanup. */
char *t_tempdir(void);

/* A keyring folder dir/name holding a new node key; fpr receives it.
 * Its agent is stopped by t_cleanup. */
mrx_pgp *t_keyring(const char *dir, const char *name, char fpr[41]);

/* Stop the gpg-agent of gnupghome at t_cleanup (for keyrings made
 * elsewhere, such as node homes). */
void t_track_agent(const char *gnupghome);

/* A new node home dir/name (role, no endpoint), opened; its agent is
 * stopped by t_cleanup. */
mrx_node *t_node_new(const char *dir, const char *name, mrx_role role);

/* Nodes a and b import each other's certificates. */
void t_introduce(mrx_node *a, mrx_node *b);

/* A node's fingerprint, and its ledger author (keyring, key, name). */
const char *t_fpr(mrx_node *n);
mrx_ledger_author t_author(mrx_node *n);

/* Copy the public key of fpr from one keyring into another. */
void t_share_key(mrx_pgp *from, mrx_pgp *to, const char *fpr);

/* Path of a sample under $MRX_TESTDATA (../shared/testdata); malloc'd. */
char *t_testdata(const char *rel);

/* Write len bytes to path (creating parents). */
void t_write_file(const char *path, const void *data, size_t len);

/* Read a whole file; malloc'd, NUL-terminated. */
char *t_read_file(const char *path, size_t *len);

/* True if path exists. */
int t_exists(const char *path);

/* Number of entries in a folder (not counting . and ..), -1 if absent. */
int t_count_entries(const char *dir);

/* Run a shell command (printf-style); its exit status, -1 if killed. */
int t_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Remove every folder made by t_tempdir and stop every agent started. */
void t_cleanup(void);

/* Run the tests with pgp initialised, cleaning up afterwards; with a group
 * setup and teardown (e.g. keyrings made once for all the tests). */
int t_run(const struct CMUnitTest *tests, size_t n, const char *name, CMFixtureFunction setup,
          CMFixtureFunction teardown);
#define T_RUN(tests) t_run(tests, sizeof(tests) / sizeof((tests)[0]), __FILE__, NULL, NULL)
#define T_RUN_GROUP(tests, setup, teardown)                                                     \
    t_run(tests, sizeof(tests) / sizeof((tests)[0]), __FILE__, setup, teardown)

#endif
