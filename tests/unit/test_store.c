/*
 * test_store: proto/mrx_store.c, a case's bundle store and bundles
 * arriving in it whole or not at all: written a chunk at a time to
 * bundles/.partial-<id>, made <id>.mrx only when their SHA-256 is their
 * id, and taken up again after an interruption from the last whole chunk.
 * Bundle bytes are pseudo-random, made from a seed and their position, so
 * that big ones can be made on the fly.
 */
#include "testlib.h"
#include "mrx_error.h"
#include "mrx_fs.h"
#include "mrx_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK ((size_t)MRX_STORE_CHUNK)

static char *dir;
static mrx_node *node;

/* One bundle arriving in a case of its own, and where it goes. */
typedef struct {
    char case_id[MRX_SHA256_HEX_LEN + 1];
    char id[MRX_SHA256_HEX_LEN + 1];
    unsigned char *data; /* NULL for bundles made on the fly */
    size_t len;
    uint64_t seed;
    char *store;   /* cases/<case>/bundles */
    char *partial; /* its .partial-<id> */
    char *final;   /* its <id>.mrx */
} fixture;

static uint64_t
mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* The len bytes at offset (a multiple of 8) of the bundle made from seed. */
static void
fill(unsigned char *buf, uint64_t offset, size_t len, uint64_t seed)
{
    assert_int_equal(offset % 8, 0);
    for (size_t i = 0; i < len; i += 8) {
        uint64_t w = mix(seed ^ mix((offset + i) / 8));
        memcpy(buf + i, &w, len - i < 8 ? len - i : 8);
    }
}

static void
paths(fixture *fx)
{
    assert_true(asprintf(&fx->store, "%s/%s/bundles", mrx_node_cases(node), fx->case_id) > 0);
    assert_true(asprintf(&fx->partial, "%s/.partial-%s", fx->store, fx->id) > 0);
    assert_true(asprintf(&fx->final, "%s/%s.mrx", fx->store, fx->id) > 0);
}

/* A bundle of len bytes, held in memory, in the case named name. */
static void
fx_init(fixture *fx, const char *name, size_t len, uint64_t seed)
{
    memset(fx, 0, sizeof *fx);
    assert_int_equal(mrx_sha256_hex(fx->case_id, name, strlen(name)), 0);
    fx->len = len;
    fx->seed = seed;
    fx->data = malloc(len ? len : 1);
    assert_non_null(fx->data);
    fill(fx->data, 0, len, seed);
    assert_int_equal(mrx_sha256_hex(fx->id, fx->data, len), 0);
    paths(fx);
}

static void
fx_free(fixture *fx)
{
    free(fx->data);
    free(fx->store);
    free(fx->partial);
    free(fx->final);
}

static int
fsize(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return (int)st.st_size;
}

static mrx_store_partial *
open_at(fixture *fx, uint64_t expect)
{
    mrx_store_partial *p = NULL;
    uint64_t offset = 12345;

    if (mrx_store_partial_open(&p, &offset, node, fx->case_id, fx->id, fx->len) != 0)
        fail_msg("open: %s", mrx_error_last());
    assert_non_null(p);
    assert_int_equal(offset, expect);
    assert_int_equal(mrx_store_partial_offset(p), expect);
    return p;
}

/* Write the bundle's bytes [from, to) in chunks, as a sender would. */
static void
write_range(mrx_store_partial *p, fixture *fx, size_t from, size_t to)
{
    for (size_t off = from; off < to; off += CHUNK) {
        size_t n = to - off < CHUNK ? to - off : CHUNK;
        if (mrx_store_partial_write(p, off, fx->data + off, n) != 0)
            fail_msg("write at %zu: %s", off, mrx_error_last());
        assert_int_equal(mrx_store_partial_offset(p), off + n);
    }
}

/* The store holds the bundle as <id>.mrx, just its bytes, mode 0600,
 * and no partial file is left. */
static void
assert_stored(fixture *fx)
{
    char hex[MRX_SHA256_HEX_LEN + 1];
    struct stat st;
    size_t len = 0;
    char *got;

    assert_true(mrx_store_has(node, fx->case_id, fx->id));
    assert_int_equal(stat(fx->final, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    got = t_read_file(fx->final, &len);
    assert_int_equal(len, fx->len);
    assert_memory_equal(got, fx->data, fx->len);
    assert_int_equal(mrx_sha256_hex(hex, got, len), 0);
    assert_string_equal(hex, fx->id);
    free(got);
    assert_false(t_exists(fx->partial));
    assert_int_equal(t_count_entries(fx->store), 1);
}

/* Nothing of the bundle is in the store: no <id>.mrx, no partial file. */
static void
assert_absent(fixture *fx)
{
    assert_false(mrx_store_has(node, fx->case_id, fx->id));
    assert_false(t_exists(fx->final));
    assert_false(t_exists(fx->partial));
}

/* Write what is missing from the current offset and commit. */
static void
finish(mrx_store_partial *p, fixture *fx)
{
    write_range(p, fx, (size_t)mrx_store_partial_offset(p), fx->len);
    assert_true(mrx_store_partial_complete(p));
    if (mrx_store_partial_commit(&p) != 0)
        fail_msg("commit: %s", mrx_error_last());
    assert_null(p);
    assert_stored(fx);
}

static void
append_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "ab");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static int
setup_group(void **state)
{
    char *home;

    (void)state;
    dir = t_tempdir();
    home = mrx_fs_join(dir, "node");
    if (mrx_node_init(home, "node", MRX_ROLE_CLINIC, NULL, 0) != 0 ||
        mrx_node_open(&node, home) != 0)
        fail_msg("node: %s", mrx_error_last());
    t_track_agent(mrx_node_gnupghome(node));
    free(home);
    return 0;
}

static int
teardown_group(void **state)
{
    (void)state;
    mrx_node_destroy(&node);
    return 0;
}

static void
store_dir_and_path_are_the_case_bundles_folder(void **state)
{
    fixture fx;
    char *d, *p;

    (void)state;
    fx_init(&fx, "layout", 10, 1);
    d = mrx_store_dir(node, fx.case_id);
    p = mrx_store_path(node, fx.case_id, fx.id);
    assert_string_equal(d, fx.store);
    assert_string_equal(p, fx.final);
    assert_false(mrx_store_has(node, fx.case_id, fx.id));
    free(d);
    free(p);
    fx_free(&fx);
}

static void
store_commit_keeps_whole_chunks_and_a_short_last_one_as_id_mrx(void **state)
{
    mrx_store_partial *p;
    fixture fx;

    (void)state;
    fx_init(&fx, "commit", 3 * CHUNK + 1234, 2);
    p = open_at(&fx, 0);
    assert_true(t_exists(fx.partial));
    assert_false(mrx_store_partial_complete(p));
    write_range(p, &fx, 0, 3 * CHUNK);
    assert_false(mrx_store_partial_complete(p));
    /* whole chunks may still be on their way to the file (a writer
     * thread); the short last one waits for them */
    assert_true((size_t)fsize(fx.partial) <= 3 * CHUNK);
    assert_false(t_exists(fx.final));
    finish(p, &fx);
    fx_free(&fx);
}

static void
store_commit_keeps_a_bundle_of_exactly_whole_chunks(void **state)
{
    mrx_store_partial *p;
    fixture fx;

    (void)state;
    fx_init(&fx, "exact", 2 * CHUNK, 3);
    p = open_at(&fx, 0);
    finish(p, &fx);
    fx_free(&fx);
}

static void
store_commit_keeps_a_bundle_shorter_than_a_chunk(void **state)
{
    mrx_store_partial *p;
    fixture fx;

    (void)state;
    fx_init(&fx, "small", 100, 4);
    p = open_at(&fx, 0);
    finish(p, &fx);
    fx_free(&fx);
}

static void
store_commit_refuses_bytes_whose_sha256_is_not_the_id(void **state)
{
    mrx_store_partial *p;
    fixture fx;

    (void)state;
    fx_init(&fx, "mismatch", 2 * CHUNK + 7, 5);
    p = open_at(&fx, 0);
    fx.data[CHUNK + 3] ^= 0x01; /* one bit changed on the way */
    write_range(p, &fx, 0, fx.len);
    assert_true(mrx_store_partial_complete(p));
    assert_int_equal(mrx_store_partial_commit(&p), MRX_ECRYPTO);
    assert_null(p);
    assert_non_null(strstr(mrx_error_last(), fx.id));
    assert_absent(&fx);
    assert_int_equal(t_count_entries(fx.store), 0);
    fx_free(&fx);
}

static void
store_destroy_keeps_the_partial_file_for_a_resume(void **state)
{
    mrx_store_partial *p;
    fixture fx;

    (void)state;
    fx_init(&fx, "destroy", 3 * CHUNK + 9, 6);
    p = open_at(&fx, 0);
    write_range(p, &fx, 0, 2 * CHUNK);
    mrx_store_partial_destroy(&p);
    assert_null(p);
    assert_int_equal(fsize(fx.partial), 2 * CHUNK);
    assert_false(t_exists(fx.final));
    p = open_at(&fx, 2 * CHUNK);
    finish(p, &fx);
    fx_free(&fx);
}

static void
store_resume_goes_on_from_the_last_whole_chunk_at_the_end_of_the_file(void **state)
{
    unsigned char garbage[1000];
    mrx_store_partial *p;
    fixture fx;

    (void)state;
    fx_init(&fx, "resume", 5 * CHUNK + 777, 7);
    p = open_at(&fx, 0);
    write_range(p, &fx, 0, 2 * CHUNK);
    mrx_store_partial_destroy(&p);
    /* part of a third chunk arrived before the interruption */
    memset(garbage, 0xa5, sizeof garbage);
    append_file(fx.partial, garbage, sizeof garbage);
    assert_int_equal(fsize(fx.partial), 2 * CHUNK + sizeof garbage);
    p = open_at(&fx, 2 * CHUNK);
    assert_int_equal(fsize(fx.partial), 2 * CHUNK);
    assert_false(mrx_store_partial_complete(p));
    /* the rest goes after what was kept, not over it */
    finish(p, &fx);
    fx_free(&fx);
}

static void
store_resume_twice_still_commits_the_right_bytes(void **state)
{
    unsigned char garbage[CHUNK / 2];
    mrx_store_partial *p;
    fixture fx;

    (void)state;
    fx_init(&fx, "resume-twice", 4 * CHUNK + 1, 8);
    memset(garbage, 0x5a, sizeof garbage);
    p = open_at(&fx, 0);
    write_range(p, &fx, 0, CHUNK);
    mrx_store_partial_destroy(&p);
    append_file(fx.partial, garbage, sizeof garbage);
    p = open_at(&fx, CHUNK);
    write_range(p, &fx, CHUNK, 3 * CHUNK);
    mrx_store_partial_destroy(&p);
    append_file(fx.partial, garbage, 1);
    p = open_at(&fx, 3 * CHUNK);
    finish(p, &fx);
    fx_free(&fx);
}

static void
store_resume_hashes_again_what_it_keeps(void **state)
{
    mrx_store_partial *p;
    FILE *f;
    fixture fx;

    (void)state;
    fx_init(&fx, "resume-rehash", 3 * CHUNK + 50, 9);
    p = open_at(&fx, 0);
    write_range(p, &fx, 0, 2 * CHUNK);
    mrx_store_partial_destroy(&p);
    /* the kept part went bad on disk while nobody was looking */
    f = fopen(fx.partial, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)CHUNK + 10, SEEK_SET), 0);
    assert_int_equal(fputc(fx.data[CHUNK + 10] ^ 0x80, f), fx.data[CHUNK + 10] ^ 0x80);
    assert_int_equal(fclose(f), 0);
    p = open_at(&fx, 2 * CHUNK);
    write_range(p, &fx, 2 * CHUNK, fx.len);
    assert_int_equal(mrx_store_partial_commit(&p), MRX_ECRYPTO);
    assert_non_null(strstr(mrx_error_last(), fx.id));
    assert_absent(&fx);
    fx_free(&fx);
}

static void
store_resume_of_a_partial_file_holding_every_byte_commits_without_more(void **state)
{
    mrx_store_partial *p;
    fixture fx;

    (void)state;
    /* interrupted between the last write and the commit */
    fx_init(&fx, "resume-full", 2 * CHUNK, 10);
    p = open_at(&fx, 0);
    write_range(p, &fx, 0, fx.len);
    mrx_store_partial_destroy(&p);
    p = open_at(&fx, 2 * CHUNK);
    assert_true(mrx_store_partial_complete(p));
    finish(p, &fx);
    fx_free(&fx);
}

static void
store_resume_asks_again_for_a_short_last_chunk(void **state)
{
    mrx_store_partial *p;
    fixture fx;

    (void)state;
    fx_init(&fx, "resume-last", 2 * CHUNK + 300, 11);
    p = open_at(&fx, 0);
    write_range(p, &fx, 0, fx.len);
    mrx_store_partial_destroy(&p);
    assert_int_equal(fsize(fx.partial), 2 * CHUNK + 300);
    p = open_at(&fx, 2 * CHUNK);
    assert_int_equal(fsize(fx.partial), 2 * CHUNK);
    finish(p, &fx);
    fx_free(&fx);
}

static void
store_resume_starts_again_from_0_when_the_partial_file_is_longer_than_the_bundle(void **state)
{
    unsigned char *junk = malloc(3 * CHUNK);
    mrx_store_partial *p;
    fixture fx;

    (void)state;
    assert_non_null(junk);
    fx_init(&fx, "resume-long", CHUNK + 10, 12);
    /* a partial file of whole chunks, but more of them than the bundle has */
    fill(junk, 0, 3 * CHUNK, 99);
    memcpy(junk, fx.data, CHUNK);
    t_write_file(fx.partial, junk, 3 * CHUNK);
    p = open_at(&fx, 0);
    assert_int_equal(fsize(fx.partial), 0);
    finish(p, &fx);
    free(junk);
    fx_free(&fx);
}

static void
store_commit_makes_a_resumed_looser_partial_file_0600(void **state)
{
    mrx_store_partial *p;
    fixture fx;

    (void)state;
    fx_init(&fx, "mode", CHUNK + 5, 13);
    t_write_file(fx.partial, fx.data, CHUNK);
    assert_int_equal(chmod(fx.partial, 0644), 0);
    p = open_at(&fx, CHUNK);
    finish(p, &fx); /* checks 0600 */
    fx_free(&fx);
}

static void
store_open_refuses_a_symlink_in_place_of_the_partial_file(void **state)
{
    char *target;
    mrx_store_partial *p = NULL;
    uint64_t offset = 1;
    size_t len = 0;
    char *got;
    fixture fx;

    (void)state;
    fx_init(&fx, "symlink", CHUNK, 14);
    target = mrx_fs_join(dir, "elsewhere");
    t_write_file(target, "precious", 8);
    assert_int_equal(mrx_fs_mkdir_p(fx.store, 0700), 0);
    assert_int_equal(symlink(target, fx.partial), 0);
    assert_int_not_equal(mrx_store_partial_open(&p, &offset, node, fx.case_id, fx.id, fx.len), 0);
    assert_null(p);
    assert_int_equal(offset, 0);
    got = t_read_file(target, &len);
    assert_int_equal(len, 8);
    assert_memory_equal(got, "precious", 8);
    assert_false(t_exists(fx.final));
    free(got);
    free(target);
    fx_free(&fx);
}

/* Begin a 4 1/2-chunk bundle and write its first chunk. */
static mrx_store_partial *
begin_refusals(fixture *fx, const char *name, uint64_t seed)
{
    mrx_store_partial *p;

    fx_init(fx, name, 4 * CHUNK + CHUNK / 2, seed);
    p = open_at(fx, 0);
    write_range(p, fx, 0, CHUNK);
    return p;
}

/* The refusal changed nothing: the offset is as it was, the file holds
 * no more (whole chunks given before may still be on their way to it). */
static void
assert_unchanged(mrx_store_partial *p, fixture *fx, size_t at)
{
    assert_int_equal(mrx_store_partial_offset(p), at);
    assert_true((size_t)fsize(fx->partial) <= at);
    assert_false(t_exists(fx->final));
}

static void
store_write_refuses_a_gap(void **state)
{
    mrx_store_partial *p;
    fixture fx;

    (void)state;
    p = begin_refusals(&fx, "gap", 20);
    assert_int_equal(mrx_store_partial_write(p, 2 * CHUNK, fx.data + 2 * CHUNK, CHUNK), MRX_EINVAL);
    assert_unchanged(p, &fx, CHUNK);
    finish(p, &fx);
    fx_free(&fx);
}

static void
store_write_refuses_a_rewind(void **state)
{
    mrx_store_partial *p;
    fixture fx;

    (void)state;
    p = begin_refusals(&fx, "rewind", 21);
    write_range(p, &fx, CHUNK, 2 * CHUNK);
    assert_int_equal(mrx_store_partial_write(p, 0, fx.data, CHUNK), MRX_EINVAL);
    assert_int_equal(mrx_store_partial_write(p, CHUNK, fx.data + CHUNK, CHUNK), MRX_EINVAL);
    assert_unchanged(p, &fx, 2 * CHUNK);
    finish(p, &fx);
    fx_free(&fx);
}

static void
store_write_refuses_a_short_chunk_that_is_not_the_last(void **state)
{
    mrx_store_partial *p;
    fixture fx;

    (void)state;
    p = begin_refusals(&fx, "short", 22);
    assert_int_equal(mrx_store_partial_write(p, CHUNK, fx.data + CHUNK, CHUNK - 1), MRX_EINVAL);
    assert_int_equal(mrx_store_partial_write(p, CHUNK, fx.data + CHUNK, 1), MRX_EINVAL);
    assert_unchanged(p, &fx, CHUNK);
    finish(p, &fx);
    fx_free(&fx);
}

static void
store_write_refuses_more_than_a_chunk(void **state)
{
    mrx_store_partial *p;
    fixture fx;

    (void)state;
    p = begin_refusals(&fx, "long", 23);
    assert_int_equal(mrx_store_partial_write(p, CHUNK, fx.data + CHUNK, CHUNK + 1), MRX_EINVAL);
    assert_int_equal(mrx_store_partial_write(p, CHUNK, fx.data + CHUNK, 2 * CHUNK), MRX_EINVAL);
    assert_unchanged(p, &fx, CHUNK);
    finish(p, &fx);
    fx_free(&fx);
}

static void
store_write_refuses_bytes_past_the_size(void **state)
{
    unsigned char extra[CHUNK];
    mrx_store_partial *p;
    fixture fx;

    (void)state;
    p = begin_refusals(&fx, "past", 24);
    write_range(p, &fx, CHUNK, 4 * CHUNK);
    /* half a chunk is left: a whole one, or one byte more, is too much */
    memcpy(extra, fx.data + 4 * CHUNK, CHUNK / 2);
    memset(extra + CHUNK / 2, 0, CHUNK / 2);
    assert_int_equal(mrx_store_partial_write(p, 4 * CHUNK, extra, CHUNK), MRX_EINVAL);
    assert_int_equal(mrx_store_partial_write(p, 4 * CHUNK, extra, CHUNK / 2 + 1), MRX_EINVAL);
    assert_unchanged(p, &fx, 4 * CHUNK);
    write_range(p, &fx, 4 * CHUNK, fx.len);
    /* and nothing goes after the end */
    assert_int_equal(mrx_store_partial_write(p, fx.len, extra, 1), MRX_EINVAL);
    assert_int_equal(mrx_store_partial_write(p, fx.len, extra, CHUNK), MRX_EINVAL);
    assert_unchanged(p, &fx, fx.len);
    finish(p, &fx);
    fx_free(&fx);
}

static void
store_write_refuses_an_empty_chunk(void **state)
{
    mrx_store_partial *p;
    fixture fx;

    (void)state;
    p = begin_refusals(&fx, "empty", 25);
    assert_int_equal(mrx_store_partial_write(p, CHUNK, fx.data + CHUNK, 0), MRX_EINVAL);
    assert_unchanged(p, &fx, CHUNK);
    /* not even where the bundle ends */
    write_range(p, &fx, CHUNK, fx.len);
    assert_int_equal(mrx_store_partial_write(p, fx.len, fx.data, 0), MRX_EINVAL);
    assert_unchanged(p, &fx, fx.len);
    finish(p, &fx);
    fx_free(&fx);
}

static void
store_commit_refuses_before_every_byte_is_in(void **state)
{
    mrx_store_partial *p;
    fixture fx;

    (void)state;
    fx_init(&fx, "early", 2 * CHUNK + 1, 30);
    p = open_at(&fx, 0);
    write_range(p, &fx, 0, 2 * CHUNK);
    assert_false(mrx_store_partial_complete(p));
    assert_int_not_equal(mrx_store_partial_commit(&p), 0);
    assert_null(p);
    assert_false(mrx_store_has(node, fx.case_id, fx.id));
    assert_false(t_exists(fx.final));
    /* what did arrive is kept for a resume */
    p = open_at(&fx, 2 * CHUNK);
    finish(p, &fx);
    fx_free(&fx);
}

static void
store_commit_refuses_a_partial_file_grown_underneath(void **state)
{
    mrx_store_partial *p;
    fixture fx;

    (void)state;
    fx_init(&fx, "grown", CHUNK + 3, 31);
    p = open_at(&fx, 0);
    write_range(p, &fx, 0, fx.len);
    append_file(fx.partial, "x", 1);
    assert_int_not_equal(mrx_store_partial_commit(&p), 0);
    assert_null(p);
    assert_false(t_exists(fx.final));
    fx_free(&fx);
}

static void
store_discard_removes_the_partial_file(void **state)
{
    mrx_store_partial *p;
    fixture fx;

    (void)state;
    fx_init(&fx, "discard", 3 * CHUNK, 32);
    p = open_at(&fx, 0);
    write_range(p, &fx, 0, 2 * CHUNK);
    mrx_store_partial_discard(&p);
    assert_null(p);
    assert_absent(&fx);
    assert_int_equal(t_count_entries(fx.store), 0);
    /* and a new start is from 0 */
    p = open_at(&fx, 0);
    finish(p, &fx);
    fx_free(&fx);
}

static void
store_open_refuses_a_bundle_already_in_the_store(void **state)
{
    mrx_store_partial *p;
    uint64_t offset = 7;
    fixture fx;

    (void)state;
    fx_init(&fx, "twice", CHUNK + 1, 33);
    p = open_at(&fx, 0);
    finish(p, &fx);
    p = (mrx_store_partial *)&fx; /* must be cleared */
    assert_int_equal(mrx_store_partial_open(&p, &offset, node, fx.case_id, fx.id, fx.len),
                     MRX_EEXIST);
    assert_null(p);
    assert_int_equal(offset, 0);
    assert_stored(&fx); /* untouched, and no partial file made */
    fx_free(&fx);
}

static void
store_open_refuses_a_second_writer_of_the_same_bundle(void **state)
{
    mrx_store_partial *p, *q = NULL;
    uint64_t offset = 7;
    fixture fx;

    (void)state;
    fx_init(&fx, "two writers", 2 * CHUNK, 34);
    p = open_at(&fx, 0);
    write_range(p, &fx, 0, CHUNK);
    /* sync and an import must not write one partial file at once */
    assert_int_equal(mrx_store_partial_open(&q, &offset, node, fx.case_id, fx.id, fx.len),
                     MRX_EEXIST);
    assert_null(q);
    assert_non_null(strstr(mrx_error_last(), "already arriving"));
    /* the first goes on unharmed, and once it is done the lock is gone */
    mrx_store_partial_destroy(&p);
    p = open_at(&fx, CHUNK);
    write_range(p, &fx, CHUNK, 2 * CHUNK);
    finish(p, &fx);
    fx_free(&fx);
}

static void
store_open_refuses_invalid_ids(void **state)
{
    static const char *bad[] = {
        "",
        "abc",
        "3DD31E5CC835B3F2CDD46C9DA1982F59251E78518FEFA8163D914631C66437D6",
        "3dd31e5cc835b3f2cdd46c9da1982f59251e78518fefa8163d914631c66437d",
        "3dd31e5cc835b3f2cdd46c9da1982f59251e78518fefa8163d914631c66437d60",
        "3dd31e5cc835b3f2cdd46c9da1982f59251e78518fefa8163d914631c66437dg",
        "../../../../../../../../../../../../../../../../../../../tmp/x",
        "3dd31e5cc835b3f2cdd46c9da1982f59251e78518fefa8163d914631c66437d/",
    };
    const char *good = "c14c7f0c6e25bd4dfbb822fe264e540fc7142bf1c9d15d4c652ec8f5f97fa9e8";
    int before = t_count_entries(mrx_node_cases(node));

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mrx_store_partial *p = NULL;
        uint64_t offset = 7;

        assert_int_equal(mrx_store_partial_open(&p, &offset, node, good, bad[i], 10), MRX_EINVAL);
        assert_null(p);
        assert_int_equal(offset, 0);
        assert_int_equal(mrx_store_partial_open(&p, &offset, node, bad[i], good, 10), MRX_EINVAL);
        assert_null(p);
    }
    /* nothing was made */
    assert_int_equal(t_count_entries(mrx_node_cases(node)), before);
}

static void
store_takes_a_64_mib_bundle_a_chunk_at_a_time(void **state)
{
    const size_t size = (size_t)64 << 20;
    unsigned char *buf = malloc(CHUNK);
    mrx_sha256 *h = NULL;
    mrx_store_partial *p;
    struct rusage before, after;
    fixture fx;

    (void)state;
    assert_non_null(buf);
    memset(&fx, 0, sizeof fx);
    fx.len = size;
    fx.seed = 64;
    assert_int_equal(mrx_sha256_hex(fx.case_id, "big", 3), 0);
    assert_int_equal(mrx_sha256_new(&h), 0);
    for (size_t off = 0; off < size; off += CHUNK) {
        fill(buf, off, CHUNK, fx.seed);
        assert_int_equal(mrx_sha256_update(h, buf, CHUNK), 0);
    }
    assert_int_equal(mrx_sha256_final_hex(h, fx.id), 0);
    mrx_sha256_destroy(&h);
    paths(&fx);

    assert_int_equal(getrusage(RUSAGE_SELF, &before), 0);
    p = open_at(&fx, 0);
    for (size_t off = 0; off < size; off += CHUNK) {
        fill(buf, off, CHUNK, fx.seed);
        if (mrx_store_partial_write(p, off, buf, CHUNK) != 0)
            fail_msg("write at %zu: %s", off, mrx_error_last());
    }
    if (mrx_store_partial_commit(&p) != 0)
        fail_msg("commit: %s", mrx_error_last());
    assert_int_equal(getrusage(RUSAGE_SELF, &after), 0);
    /* nowhere near the bundle's size (ru_maxrss is in KiB) */
    assert_true(after.ru_maxrss - before.ru_maxrss < 16 * 1024);

    assert_true(mrx_store_has(node, fx.case_id, fx.id));
    assert_int_equal(fsize(fx.final), (int)size);
    assert_false(t_exists(fx.partial));
    free(buf);
    fx_free(&fx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(store_dir_and_path_are_the_case_bundles_folder),
        cmocka_unit_test(store_commit_keeps_whole_chunks_and_a_short_last_one_as_id_mrx),
        cmocka_unit_test(store_commit_keeps_a_bundle_of_exactly_whole_chunks),
        cmocka_unit_test(store_commit_keeps_a_bundle_shorter_than_a_chunk),
        cmocka_unit_test(store_commit_refuses_bytes_whose_sha256_is_not_the_id),
        cmocka_unit_test(store_destroy_keeps_the_partial_file_for_a_resume),
        cmocka_unit_test(store_resume_goes_on_from_the_last_whole_chunk_at_the_end_of_the_file),
        cmocka_unit_test(store_resume_twice_still_commits_the_right_bytes),
        cmocka_unit_test(store_resume_hashes_again_what_it_keeps),
        cmocka_unit_test(store_resume_of_a_partial_file_holding_every_byte_commits_without_more),
        cmocka_unit_test(store_resume_asks_again_for_a_short_last_chunk),
        cmocka_unit_test(
            store_resume_starts_again_from_0_when_the_partial_file_is_longer_than_the_bundle),
        cmocka_unit_test(store_commit_makes_a_resumed_looser_partial_file_0600),
        cmocka_unit_test(store_open_refuses_a_symlink_in_place_of_the_partial_file),
        cmocka_unit_test(store_write_refuses_a_gap),
        cmocka_unit_test(store_write_refuses_a_rewind),
        cmocka_unit_test(store_write_refuses_a_short_chunk_that_is_not_the_last),
        cmocka_unit_test(store_write_refuses_more_than_a_chunk),
        cmocka_unit_test(store_write_refuses_bytes_past_the_size),
        cmocka_unit_test(store_write_refuses_an_empty_chunk),
        cmocka_unit_test(store_commit_refuses_before_every_byte_is_in),
        cmocka_unit_test(store_commit_refuses_a_partial_file_grown_underneath),
        cmocka_unit_test(store_discard_removes_the_partial_file),
        cmocka_unit_test(store_open_refuses_a_bundle_already_in_the_store),
        cmocka_unit_test(store_open_refuses_a_second_writer_of_the_same_bundle),
        cmocka_unit_test(store_open_refuses_invalid_ids),
        cmocka_unit_test(store_takes_a_64_mib_bundle_a_chunk_at_a_time),
    };

    return T_RUN_GROUP(tests, setup_group, teardown_group);
}
