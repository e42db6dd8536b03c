/*
 * test_bundle: proto/mrx_bundle.c, writing and opening bundles. Round trips
 * with the shared samples, then hostile bundles crafted here with libarchive
 * (and, for expansion bombs, a zstd frame written by hand), signed and
 * encrypted with the test keys, each of which must be refused with the
 * right error, a message naming the problem, and nothing left behind.
 */
#include "testlib.h"
#include "mrx_bundle.h"
#include "mrx_error.h"
#include "mrx_fs.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define CREATED 1795000000 /* manifest time of every bundle made here */
#define MiB (1024 * 1024)
#define GiB ((uint64_t)1024 * MiB)
#define BOMB_SECONDS 5.0 /* a bomb must be refused faster than this */

/* The parties: keyrings made once for the whole suite. DEFAULT is "not
 * said" in a craft, where each field names its default. */
enum who { DEFAULT, AUTHOR, READER, STRANGER, OUTSIDER, N_WHO };

static struct party {
    const char *name;          /* keyring folder and user id */
    mrx_pgp *pgp;              /* its keyring */
    char fpr[MRX_FPR_LEN + 1]; /* its key */
} party[N_WHO] = {
    [AUTHOR] = {"author"},
    [READER] = {"reader"},
    [STRANGER] = {"stranger"},
    [OUTSIDER] = {"outsider"},
};

static char *work;          /* inputs and bundles of the suite */
static unsigned serial;     /* makes names under work unique */
static char *big_inputs[2]; /* two incompressible files, 4 and 3 MiB */
static char *big_bundle;    /* them, by the author for itself and the reader */
static mrx_bundle_info big_info;
static char *solo_bundle; /* them, by the reader for itself alone */
static mrx_bundle_info solo_info;

/* ---------------------------------------------------------------------
 * Helpers
 */

static char *
work_path(const char *what)
{
    char *path = NULL;

    assert_true(asprintf(&path, "%s/%s-%u", work, what, serial++) > 0);
    return path;
}

/* Deterministic bytes that zstd cannot shrink (splitmix64). */
static void
fill_random(unsigned char *buf, size_t len, uint64_t seed)
{
    uint64_t word = 0;

    for (size_t i = 0; i < len; i++) {
        if (i % 8 == 0) {
            uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
            word = z ^ (z >> 31);
        }
        buf[i] = (unsigned char)(word >> (8 * (i % 8)));
    }
}

static char *
random_file(const char *name, size_t len, uint64_t seed)
{
    char *dir = work_path("in"), *path = mrx_fs_join(dir, name);
    unsigned char *data = malloc(len ? len : 1);

    assert_non_null(data);
    fill_random(data, len, seed);
    t_write_file(path, data, len);
    free(data);
    free(dir);
    return path;
}

static void
assert_same_file(const char *got, const char *want)
{
    size_t got_len = 0, want_len = 0;
    char *a = t_read_file(got, &got_len), *b = t_read_file(want, &want_len);

    if (got_len != want_len || memcmp(a, b, got_len) != 0)
        fail_msg("%s differs from %s", got, want);
    free(a);
    free(b);
}

static double
seconds_since(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Bundle inputs by author for itself and the readers; the path is new. */
static char *
make_bundle(mrx_bundle_info *info, enum who author, mrx_kind kind, const char *const *inputs,
            size_t n_inputs, const char *const *readers, size_t n_readers)
{
    mrx_bundle_spec spec = {
        .pgp = party[author].pgp,
        .author = party[author].fpr,
        .kind = kind,
        .recipients = readers,
        .n_recipients = n_readers,
        .inputs = inputs,
        .n_inputs = n_inputs,
        .created = CREATED,
    };
    char *path = work_path("bundle");

    if (mrx_bundle_create(info, &spec, path) != 0)
        fail_msg("bundle create: %s", mrx_error_last());
    return path;
}

/* Open bundle as a party into a new out folder, which it returns; the
 * parent holds that folder only. */
static char *
open_ok(mrx_bundle_info *info, enum who as, const char *signer, const char *id, const char *bundle)
{
    char *parent = t_tempdir(), *out = mrx_fs_join(parent, "out");
    int rc = mrx_bundle_open(info, party[as].pgp, signer, id, bundle, out, NULL);

    if (rc != 0)
        fail_msg("open as %s: %s (%s)", party[as].name, mrx_error_last(), mrx_error_name(rc));
    assert_int_equal(t_count_entries(parent), 1);
    return out;
}

/* The id is the SHA-256 of the ciphertext file, the size its length. */
static void
assert_info_matches_file(const mrx_bundle_info *info, const char *bundle)
{
    char hex[MRX_SHA256_HEX_LEN + 1];
    size_t len = 0;
    char *data = t_read_file(bundle, &len);

    assert_int_equal(mrx_sha256_hex(hex, data, len), 0);
    assert_string_equal(info->id, hex);
    assert_int_equal(info->size, len);
    free(data);
}

/* out holds MANIFEST and MANIFEST.sig, signed by signer, listing files. */
static void
assert_manifest_written(const char *out, const mrx_bundle_info *info, enum who signer)
{
    char *mpath = mrx_fs_join(out, "MANIFEST"), *spath = mrx_fs_join(out, "MANIFEST.sig");
    size_t mlen = 0, slen = 0;
    char *text = t_read_file(mpath, &mlen), *sig = t_read_file(spath, &slen);
    mrx_manifest *m = NULL;
    char who[MRX_FPR_LEN + 1];

    if (mrx_pgp_verify_detached(party[READER].pgp, who, party[signer].fpr, sig, slen, text, mlen) !=
        0)
        fail_msg("written MANIFEST.sig: %s", mrx_error_last());
    assert_int_equal(mrx_manifest_parse(&m, text, mlen), 0);
    assert_int_equal(mrx_manifest_count(m), info->files);
    assert_int_equal(mrx_manifest_total(m), info->bytes);
    assert_string_equal(mrx_manifest_author(m), party[signer].fpr);
    mrx_manifest_destroy(&m);
    free(text);
    free(sig);
    free(mpath);
    free(spath);
}

static uint64_t
file_size(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* ---------------------------------------------------------------------
 * Crafting hostile bundles
 */

enum { T_FILE, T_DIR, T_SYMLINK, T_HARDLINK, T_CHR, T_BLK, T_FIFO };

/* A file the crafted MANIFEST lists. */
struct listed {
    const char *path; /* NULL ends the list */
    const char *data; /* its content: gives the hash and the size */
    uint64_t size;    /* the size listed instead, if not 0 */
};

/* One entry of a crafted archive. */
struct entry {
    const char *path; /* NULL ends the list */
    const char *data; /* content; NULL for MANIFEST and MANIFEST.sig: the real ones */
    int type;         /* T_FILE unless said */
    const char *link; /* target of a link */
    int64_t claim;    /* size the header claims, if not the content's */
    int cut;          /* the archive stops after this entry's content: no padding, no end */
};

/* A crafted bundle: the MANIFEST, the archive, how it is signed and sealed. */
struct craft {
    struct listed listed[4];
    struct entry entries[8];
    enum who signer;      /* signs MANIFEST (AUTHOR) */
    enum who named;       /* the manifest's author field (the signer) */
    enum who also_signer; /* a second signature in MANIFEST.sig (none) */
    enum who recipient;   /* who can decrypt (READER) */
    int alter_manifest;   /* change MANIFEST after signing it */
    int zstd;             /* compress with libarchive's zstd filter */
    uint64_t zeros;       /* zstd by hand, with this many zero bytes after the archive */
    size_t trailer;       /* bytes of junk after the (plain) archive */
};

/* The two entries every bundle starts with, and a small listed file. */
// clang-format off
#define HEAD {"MANIFEST"}, {"MANIFEST.sig"}
#define HELLO {"records/a.txt", "hello\n"}
// clang-format on

/* Growing memory the archive is written into. */
struct membuf {
    char *data;
    size_t len, cap;
    int sealed; /* refuse further bytes: the archive is cut here */
};

static la_ssize_t
membuf_write(struct archive *a, void *arg, const void *data, size_t len)
{
    struct membuf *m = arg;

    if (m->sealed) {
        archive_set_error(a, EPIPE, "cut here");
        return -1;
    }
    if (m->len + len > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < m->len + len)
            cap *= 2;
        assert_non_null(m->data = realloc(m->data, cap));
        m->cap = cap;
    }
    memcpy(m->data + m->len, data, len);
    m->len += len;
    return (la_ssize_t)len;
}

static int
write_entry(struct archive *a, const struct entry *en, const char *manifest, size_t manifest_len,
            const char *sig, size_t sig_len)
{
    struct archive_entry *e = archive_entry_new();
    const char *data = en->data;
    size_t len = data ? strlen(data) : 0;

    if (!data && strcmp(en->path, "MANIFEST") == 0) {
        data = manifest;
        len = manifest_len;
    } else if (!data && strcmp(en->path, "MANIFEST.sig") == 0) {
        data = sig;
        len = sig_len;
    }
    archive_entry_set_pathname(e, en->path);
    archive_entry_set_mtime(e, CREATED, 0);
    archive_entry_set_perm(e, 0644);
    switch (en->type) {
    case T_FILE:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, en->claim ? en->claim : (la_int64_t)len);
        break;
    case T_DIR:
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, 0755);
        break;
    case T_SYMLINK:
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, en->link);
        break;
    case T_HARDLINK:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_hardlink(e, en->link);
        archive_entry_set_size(e, 0);
        break;
    case T_CHR:
    case T_BLK:
        archive_entry_set_filetype(e, en->type == T_CHR ? AE_IFCHR : AE_IFBLK);
        archive_entry_set_rdevmajor(e, en->type == T_CHR ? 1 : 8);
        archive_entry_set_rdevminor(e, en->type == T_CHR ? 3 : 0);
        break;
    case T_FIFO:
        archive_entry_set_filetype(e, AE_IFIFO);
        break;
    }
    if (archive_write_header(a, e) != ARCHIVE_OK)
        fail_msg("crafting %s: %s", en->path, archive_error_string(a));
    archive_entry_free(e);
    if (en->type == T_FILE && len > 0)
        return archive_write_data(a, data, len) < 0 ? -1 : 0;
    return 0;
}

static void
put_block_header(FILE *f, int last, int type, size_t size)
{
    uint32_t h = (uint32_t)last | (uint32_t)type << 1 | (uint32_t)size << 3;

    fputc((int)(h & 0xff), f);
    fputc((int)((h >> 8) & 0xff), f);
    fputc((int)((h >> 16) & 0xff), f);
}

/* One zstd frame holding data then zeros, written by hand (RFC 8878): raw
 * blocks for the data, 4-byte RLE blocks for the zeros, so that a bomb of
 * many GiB costs nothing to make. */
static void
write_zstd_bomb(const char *path, const char *data, size_t len, uint64_t zeros)
{
    /* magic; no content size, checksum or dictionary; 128 KiB window */
    static const unsigned char frame_head[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38};
    const size_t block = 128 * 1024;
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(frame_head, 1, sizeof frame_head, f), sizeof frame_head);
    while (len > 0) {
        size_t n = len < block ? len : block;
        put_block_header(f, n == len && zeros == 0, 0, n);
        assert_int_equal(fwrite(data, 1, n, f), n);
        data += n;
        len -= n;
    }
    while (zeros > 0) {
        size_t n = zeros < block ? (size_t)zeros : block;
        put_block_header(f, n == zeros, 1, n);
        fputc(0, f);
        zeros -= n;
    }
    assert_int_equal(fclose(f), 0);
}

static void
write_zstd(const char *path, const char *data, size_t len)
{
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();

    assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
    assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
    assert_int_equal(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    archive_entry_set_pathname(e, "tar");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_size(e, (la_int64_t)len);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    archive_entry_free(e);
}

/* Encrypt the file plain to one party, as mrx does; the path is new. */
static char *
encrypt_file(const char *plain, enum who to)
{
    const char *recipients[] = {party[to].fpr};
    char *bundle = work_path("crafted");
    int in = open(plain, O_RDONLY | O_CLOEXEC);
    int out = open(bundle, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

    assert_true(in >= 0 && out >= 0);
    if (mrx_pgp_encrypt(party[READER].pgp, recipients, 1, in, out) != 0)
        fail_msg("encrypt: %s", mrx_error_last());
    close(in);
    assert_int_equal(close(out), 0);
    return bundle;
}

/* The MANIFEST text a craft lists, with its signature. */
static void
craft_manifest(char **text, size_t *text_len, char **sig, size_t *sig_len, const struct craft *c)
{
    enum who signer = c->signer ? c->signer : AUTHOR;
    enum who named = c->named ? c->named : signer;
    mrx_manifest *m = NULL;

    assert_int_equal(mrx_manifest_new(&m, MRX_KIND_RECORDS, party[named].fpr, CREATED), 0);
    for (const struct listed *l = c->listed; l->path; l++) {
        char hex[MRX_SHA256_HEX_LEN + 1];
        assert_int_equal(mrx_sha256_hex(hex, l->data, strlen(l->data)), 0);
        if (mrx_manifest_add(m, l->path, l->size ? l->size : strlen(l->data), hex) != 0)
            fail_msg("crafting the manifest: %s", mrx_error_last());
    }
    assert_int_equal(mrx_manifest_format(m, text, text_len), 0);
    mrx_manifest_destroy(&m);
    if (mrx_pgp_sign_detached(party[signer].pgp, sig, sig_len, party[signer].fpr, *text,
                              *text_len) != 0)
        fail_msg("signing: %s", mrx_error_last());
    if (c->also_signer) {
        char *second = NULL, *both = NULL;
        size_t second_len = 0;
        enum who also = c->also_signer;
        assert_int_equal(mrx_pgp_sign_detached(party[also].pgp, &second, &second_len,
                                               party[also].fpr, *text, *text_len),
                         0);
        assert_non_null(both = malloc(*sig_len + second_len + 1));
        memcpy(both, *sig, *sig_len);
        memcpy(both + *sig_len, second, second_len + 1);
        free(*sig);
        free(second);
        *sig = both;
        *sig_len += second_len;
    }
    if (c->alter_manifest)
        (*text)[*text_len - 2] ^= 1; /* the last letter of the last path */
}

/* The plaintext tar a craft describes, as written before encryption. */
static char *
craft_plaintext(const struct craft *c)
{
    struct archive *a = archive_write_new();
    struct membuf tar = {0};
    char *manifest = NULL, *sig = NULL, *plain = work_path("plain");
    size_t manifest_len = 0, sig_len = 0;
    int cut = 0;

    craft_manifest(&manifest, &manifest_len, &sig, &sig_len, c);
    /* unblocked, so that an archive cut short stops exactly there */
    assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
    assert_int_equal(archive_write_set_bytes_per_block(a, 0), ARCHIVE_OK);
    assert_int_equal(archive_write_open(a, &tar, NULL, membuf_write, NULL), ARCHIVE_OK);
    for (const struct entry *en = c->entries; en->path && !cut; en++) {
        assert_int_equal(write_entry(a, en, manifest, manifest_len, sig, sig_len), 0);
        cut = en->cut;
    }
    /* cut: padding and end of archive fail at once and are not written */
    tar.sealed = cut;
    assert_int_equal(archive_write_close(a), cut ? ARCHIVE_FATAL : ARCHIVE_OK);
    archive_write_free(a);
    if (c->zeros)
        write_zstd_bomb(plain, tar.data, tar.len, c->zeros);
    else if (c->zstd)
        write_zstd(plain, tar.data, tar.len);
    else {
        assert_non_null(tar.data = realloc(tar.data, tar.len + c->trailer));
        memset(tar.data + tar.len, 0xa5, c->trailer);
        t_write_file(plain, tar.data, tar.len + c->trailer);
    }
    free(tar.data);
    free(manifest);
    free(sig);
    return plain;
}

static char *
craft_bundle(const struct craft *c)
{
    char *plain = craft_plaintext(c);
    char *bundle = encrypt_file(plain, c->recipient ? c->recipient : READER);

    free(plain);
    return bundle;
}

/* Open bundle as a party expecting failure: nothing appears beside the
 * out folder and it is not created. Returns the code; *secs the time. */
static int
open_failing(enum who as, const char *bundle, const char *signer, const char *id, double *secs)
{
    char *parent = t_tempdir(), *out = mrx_fs_join(parent, "out");
    int before = t_count_entries(parent), rc;
    mrx_bundle_info info;
    struct timespec start;

    clock_gettime(CLOCK_MONOTONIC, &start);
    rc = mrx_bundle_open(&info, party[as].pgp, signer, id, bundle, out, NULL);
    if (secs)
        *secs = seconds_since(&start);
    if (rc == 0)
        fail_msg("opened as %s, but should have been refused", party[as].name);
    assert_false(t_exists(out));
    assert_int_equal(t_count_entries(parent), before);
    free(out);
    return rc;
}

/* The message of the failure just seen holds what and why (if not NULL). */
static void
assert_refusal(int rc, int code, const char *what, const char *why)
{
    const char *msg = mrx_error_last();

    if (rc != code)
        fail_msg("expected %s, got %s: %s", mrx_error_name(code), mrx_error_name(rc), msg);
    if (!strstr(msg, what) || (why && !strstr(msg, why)))
        fail_msg("message does not name the problem (\"%s\", \"%s\"): %s", what, why ? why : "",
                 msg);
}

/* Opening bundle as the reader fails with code and a message holding what
 * and why, leaving nothing behind. Returns the seconds it took. */
static double
expect_refused(const char *bundle, const char *signer, const char *id, int code, const char *what,
               const char *why)
{
    double secs = 0;
    int rc = open_failing(READER, bundle, signer, id, &secs);

    assert_refusal(rc, code, what, why);
    return secs;
}

/* The common case: crafted, opened by the reader expecting the author. */
static double
refuse(const struct craft *c, int code, const char *what, const char *why)
{
    char *bundle = craft_bundle(c);
    double secs = expect_refused(bundle, party[AUTHOR].fpr, NULL, code, what, why);

    free(bundle);
    return secs;
}

enum damage { CUT_IN_HALF, CUT_TAIL, FLIP_IN_MIDDLE, FLIP_IN_TAIL };

/* A damaged copy of a bundle of size bytes. The tail is the last bytes of
 * the ciphertext: the modification detection code (MDC) packet. */
static char *
damaged_copy(const char *bundle, uint64_t size, enum damage damage)
{
    size_t len = 0;
    char *data = t_read_file(bundle, &len), *copy = work_path("damaged");

    assert_int_equal(len, size);
    if (damage == CUT_IN_HALF)
        len /= 2;
    else if (damage == CUT_TAIL)
        len -= 5;
    else
        data[damage == FLIP_IN_MIDDLE ? len / 2 : len - 3] ^= 0x10;
    t_write_file(copy, data, len);
    free(data);
    return copy;
}

/* ---------------------------------------------------------------------
 * Fixtures
 */

static int
setup_parties(void **state)
{
    char *keys = t_tempdir();
    const char *readers[] = {party[READER].fpr};

    (void)state;
    work = t_tempdir();
    for (int p = AUTHOR; p < N_WHO; p++)
        party[p].pgp = t_keyring(keys, party[p].name, party[p].fpr);
    /* the reader knows author and stranger, the author knows the reader;
     * nobody knows the outsider */
    t_share_key(party[AUTHOR].pgp, party[READER].pgp, party[AUTHOR].fpr);
    t_share_key(party[STRANGER].pgp, party[READER].pgp, party[STRANGER].fpr);
    t_share_key(party[READER].pgp, party[AUTHOR].pgp, party[READER].fpr);
    /* more than two chunks of incompressible bytes in each of two files */
    big_inputs[0] = random_file("first.bin", 4 * MiB + 12345, 1);
    big_inputs[1] = random_file("second.bin", 3 * MiB + 777, 2);
    big_bundle =
        make_bundle(&big_info, AUTHOR, MRX_KIND_IMAGING, (const char **)big_inputs, 2, readers, 1);
    solo_bundle =
        make_bundle(&solo_info, READER, MRX_KIND_IMAGING, (const char **)big_inputs, 2, NULL, 0);
    return 0;
}

static int
teardown_parties(void **state)
{
    (void)state;
    for (int p = AUTHOR; p < N_WHO; p++)
        mrx_pgp_destroy(&party[p].pgp);
    free(big_bundle);
    free(solo_bundle);
    free(big_inputs[0]);
    free(big_inputs[1]);
    return 0;
}

/* ---------------------------------------------------------------------
 * Round trips
 */

static void
bundle_round_trips_samples_compressed(void **state)
{
    static const char *const samples[] = {"dicom",
                                          "docs/Bundle-father.json",
                                          "docs/Diagnostic_Imaging_Report.xml",
                                          "docs/UD_sample.pdf",
                                          "photos/coffee.png",
                                          "photos/retina.jpg"};
    static const char *const dicom[] = {"CT_small.dcm", "MR2_UNCR.dcm", "MR_small_jp2klossless.dcm",
                                        "eCT_Supplemental.dcm"};
    const char *inputs[6], *readers[] = {party[READER].fpr};
    char *paths[6], *bundle, *out;
    mrx_bundle_info made, info;
    uint64_t bytes = 0;

    (void)state;
    for (size_t i = 0; i < 6; i++)
        inputs[i] = paths[i] = t_testdata(samples[i]);
    bundle = make_bundle(&made, AUTHOR, MRX_KIND_IMAGING, inputs, 6, readers, 1);
    assert_true(made.compressed);
    assert_info_matches_file(&made, bundle);
    out = open_ok(&info, READER, party[AUTHOR].fpr, made.id, bundle);
    assert_info_matches_file(&info, bundle);
    assert_true(info.compressed);
    assert_int_equal(info.files, 9);
    assert_int_equal(info.kind, MRX_KIND_IMAGING);
    assert_int_equal(info.created, CREATED);
    assert_string_equal(info.author, party[AUTHOR].fpr);
    for (size_t i = 0; i < 4; i++) {
        char *src = NULL, *got = NULL;
        assert_true(asprintf(&src, "%s/%s", paths[0], dicom[i]) > 0);
        assert_true(asprintf(&got, "%s/imaging/dicom/%s", out, dicom[i]) > 0);
        assert_same_file(got, src);
        bytes += file_size(src);
        free(src);
        free(got);
    }
    for (size_t i = 1; i < 6; i++) {
        char *got = NULL;
        assert_true(asprintf(&got, "%s/imaging/%s", out, strrchr(samples[i], '/') + 1) > 0);
        assert_same_file(got, paths[i]);
        bytes += file_size(paths[i]);
        free(got);
    }
    assert_int_equal(info.bytes, bytes);
    assert_int_equal(made.bytes, bytes);
    assert_int_equal(t_count_entries(out), 3); /* MANIFEST, MANIFEST.sig, imaging */
    assert_manifest_written(out, &info, AUTHOR);
    for (size_t i = 0; i < 6; i++)
        free(paths[i]);
    free(bundle);
    free(out);
}

static void
bundle_round_trips_incompressible_files_uncompressed(void **state)
{
    mrx_bundle_info info;
    char *out, *got = NULL;

    (void)state;
    assert_false(big_info.compressed);
    out = open_ok(&info, READER, party[AUTHOR].fpr, big_info.id, big_bundle);
    assert_info_matches_file(&info, big_bundle);
    assert_false(info.compressed);
    assert_int_equal(info.files, 2);
    assert_int_equal(info.bytes, 7 * MiB + 12345 + 777);
    assert_int_equal(info.bytes, big_info.bytes);
    assert_true(asprintf(&got, "%s/imaging/first.bin", out) > 0);
    assert_same_file(got, big_inputs[0]);
    free(got);
    assert_true(asprintf(&got, "%s/imaging/second.bin", out) > 0);
    assert_same_file(got, big_inputs[1]);
    free(got);
    assert_manifest_written(out, &info, AUTHOR);
    free(out);
}

static void
bundle_round_trips_empty_file(void **state)
{
    char *input = random_file("empty.txt", 0, 0), *bundle, *out, *got;
    const char *inputs[] = {input};
    mrx_bundle_info made, info;

    (void)state;
    bundle = make_bundle(&made, AUTHOR, MRX_KIND_RECORDS, inputs, 1, NULL, 0);
    out = open_ok(&info, AUTHOR, party[AUTHOR].fpr, made.id, bundle);
    assert_int_equal(info.files, 1);
    assert_int_equal(info.bytes, 0);
    assert_false(info.compressed);
    got = mrx_fs_join(out, "records/empty.txt");
    assert_true(t_exists(got));
    assert_int_equal(file_size(got), 0);
    assert_manifest_written(out, &info, AUTHOR);
    free(got);
    free(input);
    free(bundle);
    free(out);
}

static void
bundle_round_trips_folder_tree(void **state)
{
    static const char *const files[] = {"a.txt", "sub/b.txt", "sub/deeper/c.bin",
                                        "sub/deeper/d.txt", "z/e.txt"};
    char *tree = work_path("tree"), *bundle, *out;
    const char *inputs[] = {tree};
    mrx_bundle_info made, info;

    (void)state;
    for (size_t i = 0; i < 5; i++) {
        char *path = mrx_fs_join(tree, files[i]);
        unsigned char data[3000];
        fill_random(data, sizeof data, 10 + i);
        t_write_file(path, data, 100 * (i + 1));
        free(path);
    }
    bundle = make_bundle(&made, AUTHOR, MRX_KIND_RECORDS, inputs, 1, NULL, 0);
    out = open_ok(&info, AUTHOR, party[AUTHOR].fpr, NULL, bundle);
    assert_int_equal(info.files, 5);
    assert_int_equal(info.bytes, 100 * (1 + 2 + 3 + 4 + 5));
    for (size_t i = 0; i < 5; i++) {
        char *src = mrx_fs_join(tree, files[i]), *got = NULL;
        assert_true(asprintf(&got, "%s/records/%s/%s", out, strrchr(tree, '/') + 1, files[i]) > 0);
        assert_same_file(got, src);
        free(src);
        free(got);
    }
    {
        char *top = NULL;
        assert_true(asprintf(&top, "%s/records/%s", out, strrchr(tree, '/') + 1) > 0);
        assert_int_equal(t_count_entries(top), 3); /* a.txt, sub, z */
        free(top);
    }
    assert_manifest_written(out, &info, AUTHOR);
    free(tree);
    free(bundle);
    free(out);
}

static void
bundle_opens_for_author_and_named_recipient_only(void **state)
{
    char *input = t_testdata("dicom/CT_small.dcm"), *bundle, *out, *got;
    const char *inputs[] = {input}, *readers[] = {party[READER].fpr};
    mrx_bundle_info made, info;
    char *parent = t_tempdir(), *denied = mrx_fs_join(parent, "out");

    (void)state;
    bundle = make_bundle(&made, AUTHOR, MRX_KIND_IMAGING, inputs, 1, readers, 1);
    for (int as = AUTHOR; as <= READER; as++) {
        out = open_ok(&info, as, party[AUTHOR].fpr, made.id, bundle);
        assert_string_equal(info.id, made.id);
        assert_string_equal(info.author, party[AUTHOR].fpr);
        got = mrx_fs_join(out, "imaging/CT_small.dcm");
        assert_same_file(got, input);
        free(got);
        free(out);
    }
    assert_int_equal(
        mrx_bundle_open(&info, party[STRANGER].pgp, party[AUTHOR].fpr, NULL, bundle, denied, NULL),
        MRX_EDENIED);
    assert_false(t_exists(denied));
    assert_int_equal(t_count_entries(parent), 0);
    free(input);
    free(bundle);
    free(denied);
}

static void
bundle_open_replaces_an_empty_out_folder(void **state)
{
    char *parent = t_tempdir(), *out = mrx_fs_join(parent, "out");
    mrx_bundle_info info;

    (void)state;
    assert_int_equal(mkdir(out, 0700), 0);
    if (mrx_bundle_open(&info, party[READER].pgp, party[AUTHOR].fpr, big_info.id, big_bundle,
                        out, NULL) != 0)
        fail_msg("open: %s", mrx_error_last());
    assert_int_equal(t_count_entries(out), 3);
    assert_int_equal(t_count_entries(parent), 1);
    free(out);
}

static void
bundle_open_accepts_a_well_formed_crafted_bundle(void **state)
{
    /* the control for the crafting below: folders, zstd, all listed */
    const struct craft c = {
        .listed = {HELLO, {"records/sub/b.txt", "bee\n"}},
        .entries = {HEAD,
                    {"records/", .type = T_DIR},
                    HELLO,
                    {"records/sub", .type = T_DIR},
                    {"records/sub/b.txt", .data = "bee\n"}},
        .zstd = 1,
    };
    char *bundle = craft_bundle(&c), *out, *got;
    mrx_bundle_info info;
    size_t len = 0;

    (void)state;
    out = open_ok(&info, READER, party[AUTHOR].fpr, NULL, bundle);
    assert_true(info.compressed);
    assert_int_equal(info.files, 2);
    assert_int_equal(info.bytes, 10);
    got = mrx_fs_join(out, "records/sub/b.txt");
    free(t_read_file(got, &len));
    assert_int_equal(len, 4);
    assert_manifest_written(out, &info, AUTHOR);
    free(got);
    free(bundle);
    free(out);
}

/* ---------------------------------------------------------------------
 * Hostile archives
 */

static void
bundle_open_rejects_absolute_path_entry(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, {"/tmp/mrx-evil", .data = "hello\n"}, HELLO},
    };

    (void)state;
    refuse(&c, MRX_EFORMAT, "/tmp/mrx-evil", "not allowed");
}

static void
bundle_open_rejects_dotdot_entry(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, HELLO, {"records/../../mrx-evil", .data = "hello\n"}},
    };

    (void)state;
    refuse(&c, MRX_EFORMAT, "records/../../mrx-evil", "not allowed");
}

static void
bundle_open_rejects_symlink_entry(void **state)
{
    /* even under a listed name */
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, {"records/a.txt", .type = T_SYMLINK, .link = "/etc/passwd"}, HELLO},
    };

    (void)state;
    refuse(&c, MRX_EFORMAT, "records/a.txt", "symbolic link");
}

static void
bundle_open_rejects_hardlink_entry(void **state)
{
    const struct craft c = {
        .listed = {HELLO, {"records/b.txt", "hello\n"}},
        .entries = {HEAD, HELLO, {"records/b.txt", .type = T_HARDLINK, .link = "records/a.txt"}},
    };

    (void)state;
    refuse(&c, MRX_EFORMAT, "records/b.txt", "hard link");
}

static void
bundle_open_rejects_character_device_entry(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, {"records/a.txt", .type = T_CHR}, HELLO},
    };

    (void)state;
    refuse(&c, MRX_EFORMAT, "records/a.txt", "devices");
}

static void
bundle_open_rejects_block_device_entry(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, HELLO, {"records/disk", .type = T_BLK}},
    };

    (void)state;
    refuse(&c, MRX_EFORMAT, "records/disk", "devices");
}

static void
bundle_open_rejects_fifo_entry(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, {"records/fifo", .type = T_FIFO}, HELLO},
    };

    (void)state;
    refuse(&c, MRX_EFORMAT, "records/fifo", "FIFO");
}

static void
bundle_open_rejects_folder_not_in_manifest(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, {"records/", .type = T_DIR}, {"records/hidden/", .type = T_DIR}, HELLO},
    };

    (void)state;
    refuse(&c, MRX_EFORMAT, "records/hidden", "folder not in the manifest");
}

static void
bundle_open_rejects_duplicate_entry(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, HELLO, HELLO},
    };

    (void)state;
    refuse(&c, MRX_EFORMAT, "records/a.txt", "twice");
}

static void
bundle_open_rejects_entry_not_in_manifest(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, HELLO, {"records/extra.txt", .data = "extra\n"}},
    };

    (void)state;
    refuse(&c, MRX_EFORMAT, "records/extra.txt", "not listed");
}

static void
bundle_open_rejects_listed_file_missing_from_archive(void **state)
{
    const struct craft c = {
        .listed = {HELLO, {"records/b.txt", "bee\n"}},
        .entries = {HEAD, HELLO},
    };

    (void)state;
    refuse(&c, MRX_EFORMAT, "records/b.txt", "missing");
}

static void
bundle_open_rejects_file_below_a_listed_file(void **state)
{
    const struct craft c = {
        .listed = {{"records/a", "a\n"}, {"records/a/b", "b\n"}},
        .entries = {HEAD, {"records/a", .data = "a\n"}, {"records/a/b", .data = "b\n"}},
    };

    (void)state;
    refuse(&c, MRX_EFORMAT, "records/a/b", "not a folder");
}

static void
bundle_open_rejects_entry_larger_than_manifest(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, {"records/a.txt", .data = "hello, world\n"}},
    };

    (void)state;
    refuse(&c, MRX_EFORMAT, "records/a.txt", "archive says 13 bytes");
}

static void
bundle_open_rejects_entry_whose_content_does_not_match(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, {"records/a.txt", .data = "HELLO\n"}},
    };

    (void)state;
    refuse(&c, MRX_EFORMAT, "records/a.txt", "SHA-256 does not match");
}

static void
bundle_open_rejects_data_after_the_archive(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, HELLO},
        .trailer = 2 * MiB,
    };

    (void)state;
    refuse(&c, MRX_EFORMAT, "data after the end", NULL);
}

static void
bundle_open_rejects_plaintext_that_is_not_a_tar(void **state)
{
    char *plain = random_file("noise", 64 * 1024, 99), *bundle = encrypt_file(plain, READER);

    (void)state;
    expect_refused(bundle, party[AUTHOR].fpr, NULL, MRX_EFORMAT, "archive", NULL);
    free(plain);
    free(bundle);
}

/* ---------------------------------------------------------------------
 * Expansion bombs: a little zstd that claims or holds gigabytes
 */

static void
bundle_open_stops_early_on_manifest_over_the_limit(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {{"MANIFEST", .claim = MRX_MANIFEST_MAX + 1, .cut = 1}},
        .zeros = MRX_MANIFEST_MAX,
    };

    (void)state;
    refuse(&c, MRX_ELIMIT, "MANIFEST larger than 16777216 bytes", NULL);
}

static void
bundle_open_stops_early_on_gigantic_manifest(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {{"MANIFEST", .claim = 32 * GiB, .cut = 1}},
        .zeros = 32 * GiB,
    };
    double secs;

    (void)state;
    secs = refuse(&c, MRX_ELIMIT, "MANIFEST larger than", NULL);
    if (secs > BOMB_SECONDS)
        fail_msg("took %.1f s to refuse a 32 GiB manifest", secs);
}

static void
bundle_open_stops_early_on_file_claiming_more_than_listed(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, {"records/a.txt", .data = "hello\n", .claim = 32 * GiB, .cut = 1}},
        .zeros = 32 * GiB,
    };
    double secs;

    (void)state;
    secs = refuse(&c, MRX_EFORMAT, "records/a.txt", "archive says 34359738368 bytes");
    if (secs > BOMB_SECONDS)
        fail_msg("took %.1f s to refuse a 32 GiB file", secs);
}

static void
bundle_open_refuses_manifest_larger_than_free_space(void **state)
{
    const struct craft c = {
        .listed = {{"records/a.txt", "hello\n", (uint64_t)1 << 60}},
        .entries = {HEAD},
    };

    (void)state;
    refuse(&c, MRX_ELIMIT, "bundle needs 1152921504606846976 bytes", NULL);
}

/* ---------------------------------------------------------------------
 * Damaged ciphertext
 */

/* Damage to a bundle for one reader, then to one for two readers (as
 * every real bundle is), is refused with code, naming what and why. */
static void
expect_damage_refused(enum damage damage, int code, const char *what, const char *why)
{
    char *solo = damaged_copy(solo_bundle, solo_info.size, damage);
    char *both = damaged_copy(big_bundle, big_info.size, damage);
    int rc;

    rc = open_failing(READER, solo, party[READER].fpr, NULL, NULL);
    assert_refusal(rc, code, what, why);
    rc = open_failing(READER, both, party[AUTHOR].fpr, NULL, NULL);
    free(solo);
    free(both);
    /* gpg's "no secret key" for the other reader's packet must not hide
     * the real cause */
    assert_refusal(rc, code, what, why);
}

static void
bundle_open_rejects_ciphertext_cut_in_half(void **state)
{
    (void)state;
    expect_damage_refused(CUT_IN_HALF, MRX_ECRYPTO, "decryption failed", NULL);
}

static void
bundle_open_rejects_ciphertext_missing_its_mdc(void **state)
{
    (void)state;
    expect_damage_refused(CUT_TAIL, MRX_ECRYPTO, "decryption failed", NULL);
}

static void
bundle_open_rejects_bit_flip_in_the_middle(void **state)
{
    /* lands in first.bin, whose hash fails while gpg still has 3 MiB to
     * write: the reader's finding comes first */
    (void)state;
    expect_damage_refused(FLIP_IN_MIDDLE, MRX_EFORMAT, "imaging/first.bin",
                          "SHA-256 does not match");
}

static void
bundle_open_rejects_bit_flip_in_the_last_bytes(void **state)
{
    (void)state;
    expect_damage_refused(FLIP_IN_TAIL, MRX_ECRYPTO, "decryption failed", NULL);
}

static void
bundle_open_rejects_garbage_that_is_not_openpgp(void **state)
{
    char *bundle = random_file("garbage", 100000, 7);

    (void)state;
    expect_refused(bundle, party[AUTHOR].fpr, NULL, MRX_EFORMAT, "not OpenPGP", NULL);
    free(bundle);
}

static void
bundle_open_rejects_bundle_not_encrypted_to_reader(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, HELLO},
        .recipient = STRANGER,
    };

    (void)state;
    refuse(&c, MRX_EDENIED, "not encrypted to this node", NULL);
}

static void
bundle_open_rejects_wrong_expected_id(void **state)
{
    const char *wrong = "0000000000000000000000000000000000000000000000000000000000000000";

    (void)state;
    expect_refused(big_bundle, party[AUTHOR].fpr, wrong, MRX_ECRYPTO, wrong, big_info.id);
}

/* Encrypt a tar with the gpg command line in RFC 2440 mode, which writes
 * a symmetrically encrypted packet without modification detection. */
static char *
encrypt_without_mdc(const char *plain, const char *cipher)
{
    char *bundle = work_path("nomdc");
    char *argv[] = {"gpg",
                    "--homedir",
                    (char *)mrx_pgp_home(party[READER].pgp),
                    "--batch",
                    "--quiet",
                    "--no-tty",
                    "--trust-model",
                    "always",
                    "--rfc2440",
                    "--compress-algo",
                    "none",
                    "--cipher-algo",
                    (char *)cipher,
                    "--recipient",
                    party[READER].fpr,
                    "--output",
                    bundle,
                    "--encrypt",
                    (char *)plain,
                    NULL};
    posix_spawn_file_actions_t actions;
    pid_t pid;
    int status = -1;

    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    assert_int_equal(posix_spawnp(&pid, "gpg", &actions, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !t_exists(bundle))
        fail_msg("gpg --rfc2440 failed (status %d)", status);
    return bundle;
}

static void
bundle_open_rejects_ciphertext_without_integrity_protection(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, HELLO},
    };
    char *plain = craft_plaintext(&c), *legacy, *modern;

    (void)state;
    legacy = encrypt_without_mdc(plain, "3DES");
    expect_refused(legacy, party[AUTHOR].fpr, NULL, MRX_ECRYPTO, "integrity", NULL);
    modern = encrypt_without_mdc(plain, "AES256");
    expect_refused(modern, party[AUTHOR].fpr, NULL, MRX_ECRYPTO, "decryption failed", NULL);
    free(plain);
    free(legacy);
    free(modern);
}

/* ---------------------------------------------------------------------
 * Signatures and the manifest's place
 */

static void
bundle_open_rejects_signature_by_unexpected_signer(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, HELLO},
        .signer = STRANGER,
    };

    (void)state;
    refuse(&c, MRX_EDENIED, party[STRANGER].fpr, "not by the expected");
}

static void
bundle_open_accepts_known_signer_when_none_expected(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, HELLO},
        .signer = STRANGER,
    };
    char *bundle = craft_bundle(&c), *out;
    mrx_bundle_info info;

    (void)state;
    out = open_ok(&info, READER, NULL, NULL, bundle);
    assert_string_equal(info.author, party[STRANGER].fpr);
    assert_manifest_written(out, &info, STRANGER);
    free(bundle);
    free(out);
}

static void
bundle_open_rejects_unknown_signer_when_none_expected(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, HELLO},
        .signer = OUTSIDER,
    };
    char *bundle = craft_bundle(&c);

    (void)state;
    expect_refused(bundle, NULL, NULL, MRX_EDENIED, "unknown key", NULL);
    free(bundle);
}

static void
bundle_open_rejects_author_field_that_is_not_the_signer(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, HELLO},
        .named = STRANGER,
    };

    (void)state;
    refuse(&c, MRX_EDENIED, party[STRANGER].fpr, "signed by");
}

static void
bundle_open_rejects_manifest_altered_after_signing(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, {"records/a.txu", .data = "hello\n"}},
        .alter_manifest = 1,
    };

    (void)state;
    refuse(&c, MRX_ECRYPTO, "manifest signature", "bad signature");
}

static void
bundle_open_rejects_manifest_not_first(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HELLO, HEAD},
    };

    (void)state;
    refuse(&c, MRX_EFORMAT, "must hold MANIFEST here", "records/a.txt");
}

static void
bundle_open_rejects_missing_signature(void **state)
{
    const struct craft unsigned_files = {
        .listed = {HELLO},
        .entries = {{"MANIFEST"}, HELLO},
    };
    const struct craft manifest_only = {
        .listed = {HELLO},
        .entries = {{"MANIFEST"}},
    };

    (void)state;
    refuse(&unsigned_files, MRX_EFORMAT, "must hold MANIFEST.sig here", "records/a.txt");
    refuse(&manifest_only, MRX_EFORMAT, "ends before MANIFEST.sig", NULL);
}

static void
bundle_open_rejects_two_signatures(void **state)
{
    const struct craft c = {
        .listed = {HELLO},
        .entries = {HEAD, HELLO},
        .also_signer = STRANGER,
    };

    (void)state;
    refuse(&c, MRX_ECRYPTO, "manifest signature", "found 2");
}

/* ---------------------------------------------------------------------
 * The out folder
 */

static void
bundle_open_refuses_non_empty_out_folder_before_any_work(void **state)
{
    char *parent = t_tempdir(), *out = mrx_fs_join(parent, "out");
    char *keep = mrx_fs_join(out, "keep.txt"), *missing = work_path("missing");
    mrx_bundle_info info;

    (void)state;
    t_write_file(keep, "keep\n", 5);
    assert_int_equal(
        mrx_bundle_open(&info, party[READER].pgp, party[AUTHOR].fpr, NULL, big_bundle, out, NULL),
        MRX_EEXIST);
    assert_non_null(strstr(mrx_error_last(), out));
    assert_non_null(strstr(mrx_error_last(), "not empty"));
    /* checked first: the bundle is not even opened */
    assert_int_equal(
        mrx_bundle_open(&info, party[READER].pgp, party[AUTHOR].fpr, NULL, missing, out, NULL),
        MRX_EEXIST);
    assert_int_equal(t_count_entries(parent), 1);
    assert_int_equal(t_count_entries(out), 1);
    assert_true(t_exists(keep));
    free(out);
    free(keep);
    free(missing);
}

static void
bundle_open_refuses_out_path_that_is_a_file(void **state)
{
    char *parent = t_tempdir(), *out = mrx_fs_join(parent, "out");
    mrx_bundle_info info;

    (void)state;
    t_write_file(out, "x", 1);
    assert_int_equal(
        mrx_bundle_open(&info, party[READER].pgp, party[AUTHOR].fpr, NULL, big_bundle, out, NULL),
        MRX_EEXIST);
    assert_non_null(strstr(mrx_error_last(), "not a folder"));
    assert_int_equal(t_count_entries(parent), 1);
    assert_int_equal(file_size(out), 1);
    free(out);
}

static void
bundle_open_failure_leaves_empty_out_folder_as_it_was(void **state)
{
    const struct craft c = {
        .listed = {HELLO, {"records/b.txt", "bee\n"}},
        .entries = {HEAD, HELLO, {"records/b.txt", .type = T_SYMLINK, .link = "/etc/passwd"}},
    };
    char *bundle = craft_bundle(&c);
    char *parent = t_tempdir(), *out = mrx_fs_join(parent, "out");
    mrx_bundle_info info;
    struct stat st;

    (void)state;
    assert_int_equal(mkdir(out, 0700), 0);
    assert_int_equal(
        mrx_bundle_open(&info, party[READER].pgp, party[AUTHOR].fpr, NULL, bundle, out, NULL),
        MRX_EFORMAT);
    assert_non_null(strstr(mrx_error_last(), "records/b.txt"));
    assert_int_equal(lstat(out, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(t_count_entries(out), 0);
    assert_int_equal(t_count_entries(parent), 1);
    free(bundle);
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bundle_round_trips_samples_compressed),
        cmocka_unit_test(bundle_round_trips_incompressible_files_uncompressed),
        cmocka_unit_test(bundle_round_trips_empty_file),
        cmocka_unit_test(bundle_round_trips_folder_tree),
        cmocka_unit_test(bundle_opens_for_author_and_named_recipient_only),
        cmocka_unit_test(bundle_open_replaces_an_empty_out_folder),
        cmocka_unit_test(bundle_open_accepts_a_well_formed_crafted_bundle),
        cmocka_unit_test(bundle_open_rejects_absolute_path_entry),
        cmocka_unit_test(bundle_open_rejects_dotdot_entry),
        cmocka_unit_test(bundle_open_rejects_symlink_entry),
        cmocka_unit_test(bundle_open_rejects_hardlink_entry),
        cmocka_unit_test(bundle_open_rejects_character_device_entry),
        cmocka_unit_test(bundle_open_rejects_block_device_entry),
        cmocka_unit_test(bundle_open_rejects_fifo_entry),
        cmocka_unit_test(bundle_open_rejects_folder_not_in_manifest),
        cmocka_unit_test(bundle_open_rejects_duplicate_entry),
        cmocka_unit_test(bundle_open_rejects_entry_not_in_manifest),
        cmocka_unit_test(bundle_open_rejects_listed_file_missing_from_archive),
        cmocka_unit_test(bundle_open_rejects_file_below_a_listed_file),
        cmocka_unit_test(bundle_open_rejects_entry_larger_than_manifest),
        cmocka_unit_test(bundle_open_rejects_entry_whose_content_does_not_match),
        cmocka_unit_test(bundle_open_rejects_data_after_the_archive),
        cmocka_unit_test(bundle_open_rejects_plaintext_that_is_not_a_tar),
        cmocka_unit_test(bundle_open_stops_early_on_manifest_over_the_limit),
        cmocka_unit_test(bundle_open_stops_early_on_gigantic_manifest),
        cmocka_unit_test(bundle_open_stops_early_on_file_claiming_more_than_listed),
        cmocka_unit_test(bundle_open_refuses_manifest_larger_than_free_space),
        cmocka_unit_test(bundle_open_rejects_ciphertext_cut_in_half),
        cmocka_unit_test(bundle_open_rejects_ciphertext_missing_its_mdc),
        cmocka_unit_test(bundle_open_rejects_bit_flip_in_the_middle),
        cmocka_unit_test(bundle_open_rejects_bit_flip_in_the_last_bytes),
        cmocka_unit_test(bundle_open_rejects_garbage_that_is_not_openpgp),
        cmocka_unit_test(bundle_open_rejects_bundle_not_encrypted_to_reader),
        cmocka_unit_test(bundle_open_rejects_wrong_expected_id),
        cmocka_unit_test(bundle_open_rejects_ciphertext_without_integrity_protection),
        cmocka_unit_test(bundle_open_rejects_signature_by_unexpected_signer),
        cmocka_unit_test(bundle_open_accepts_known_signer_when_none_expected),
        cmocka_unit_test(bundle_open_rejects_unknown_signer_when_none_expected),
        cmocka_unit_test(bundle_open_rejects_author_field_that_is_not_the_signer),
        cmocka_unit_test(bundle_open_rejects_manifest_altered_after_signing),
        cmocka_unit_test(bundle_open_rejects_manifest_not_first),
        cmocka_unit_test(bundle_open_rejects_missing_signature),
        cmocka_unit_test(bundle_open_rejects_two_signatures),
        cmocka_unit_test(bundle_open_refuses_non_empty_out_folder_before_any_work),
        cmocka_unit_test(bundle_open_refuses_out_path_that_is_a_file),
        cmocka_unit_test(bundle_open_failure_leaves_empty_out_folder_as_it_was),
    };

    return T_RUN_GROUP(tests, setup_parties, teardown_parties);
}
