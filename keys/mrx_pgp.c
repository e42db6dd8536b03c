/*
 * mrx_pgp: GPGME, and only GPGME, behind mrx's own error codes.
 */
#include "mrx_pgp.h"
#include "mrx_error.h"
#include "mrx_fs.h"
#include "mrx_sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <gpgme.h>
#include <locale.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Clear-signed messages this handle verified lately. A daemon checks the
 * same few (certificates, signed views) again and again, and each check
 * runs gpg twice; a message is checked afresh once its entry is older
 * than MEMO_TTL (a key may have expired since), and every entry goes when
 * a key is imported (it may revoke one). */
#define MEMO_SLOTS 64
#define MEMO_PLAIN_MAX (16 * 1024) /* larger messages are not kept */
#define MEMO_TTL 600               /* seconds */

typedef struct memo {
    char hash[MRX_SHA256_HEX_LEN + 1]; /* of the whole message; "" if free */
    char signer[MRX_FPR_LEN + 1];
    char *plain;
    size_t plain_len;
    time_t at;
} memo;

struct mrx_pgp {
    gpgme_ctx_t ctx;                     /* one GPGME context bound to this keyring */
    char *home;                          /* the GNUPGHOME it works on */
    gpgme_key_t signer;                  /* the last signing key, kept: each lookup runs gpg */
    char signer_fpr[MRX_FPR_LEN + 1];    /* its fingerprint */
    memo memos[MEMO_SLOTS];
    size_t memo_next;                    /* the slot the next entry takes */
};

static void
memo_clear(mrx_pgp *self)
{
    for (size_t i = 0; i < MEMO_SLOTS; i++) {
        free(self->memos[i].plain);
        memset(&self->memos[i], 0, sizeof self->memos[i]);
    }
}

/* Turn a GPGME error into ours, naming what failed. */
static int
pgp_fail(int code, gpgme_error_t err, const char *what)
{
    return mrx_error_set(code, "%s: %s", what, gpgme_strerror(err));
}

int
mrx_pgp_global_init(void)
{
    gpgme_error_t err;

    /* gpg may go away under us; a write to its pipe must fail, not kill */
    signal(SIGPIPE, SIG_IGN);
    setlocale(LC_CTYPE, "");
    if (!gpgme_check_version("1.18.0"))
        return mrx_error_set(MRX_EIO, "gpgme 1.18 or later is required");
    gpgme_set_locale(NULL, LC_CTYPE, setlocale(LC_CTYPE, NULL));
    err = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
    if (err)
        return pgp_fail(MRX_EIO, err, "gpg engine unusable (is gnupg installed?)");
    return 0;
}

void
mrx_pgp_stop_agent(const char *gnupghome)
{
    char *argv[] = {"gpgconf", "--homedir", (char *)gnupghome, "--kill", "gpg-agent", NULL};
    posix_spawn_file_actions_t actions;
    pid_t pid;
    int status;

    /* gpgconf is part of gnupg, like the gpg GPGME drives */
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawnp(&pid, "gpgconf", &actions, NULL, argv, environ) == 0)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    posix_spawn_file_actions_destroy(&actions);
}

/* Never prompt: the daemon runs unattended and node keys have no
 * passphrase. A key that asks for one is an error, not a hang. */
static gpgme_error_t
refuse_passphrase(void *hook, const char *uid_hint, const char *info, int prev_bad, int fd)
{
    (void)hook;
    (void)uid_hint;
    (void)info;
    (void)prev_bad;
    (void)fd;
    return gpg_error(GPG_ERR_CANCELED);
}

int
mrx_pgp_new(mrx_pgp **out, const char *gnupghome)
{
    mrx_pgp *self = calloc(1, sizeof *self);
    gpgme_error_t err;
    int rc = 0;

    *out = NULL;
    if (!self || !(self->home = strdup(gnupghome))) {
        free(self);
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    }
    if ((err = gpgme_new(&self->ctx))) {
        rc = pgp_fail(MRX_EIO, err, "gpgme context");
        goto out;
    }
    if ((err = gpgme_set_protocol(self->ctx, GPGME_PROTOCOL_OpenPGP)) ||
        (err = gpgme_ctx_set_engine_info(self->ctx, GPGME_PROTOCOL_OpenPGP, NULL, gnupghome)) ||
        (err = gpgme_set_pinentry_mode(self->ctx, GPGME_PINENTRY_MODE_LOOPBACK)) ||
        (err = gpgme_set_keylist_mode(self->ctx, GPGME_KEYLIST_MODE_LOCAL))) {
        rc = pgp_fail(MRX_EIO, err, "gpgme setup");
        goto out;
    }
    gpgme_set_passphrase_cb(self->ctx, refuse_passphrase, NULL);
    gpgme_set_offline(self->ctx, 1);
    *out = self;
    self = NULL;
out:
    mrx_pgp_destroy(&self);
    return rc;
}

void
mrx_pgp_destroy(mrx_pgp **self_p)
{
    mrx_pgp *self;

    if (!self_p || !(self = *self_p))
        return;
    if (self->signer)
        gpgme_key_unref(self->signer);
    if (self->ctx)
        gpgme_release(self->ctx);
    memo_clear(self);
    free(self->home);
    free(self);
    *self_p = NULL;
}

const char *
mrx_pgp_home(const mrx_pgp *self)
{
    return self->home;
}

/* Copy out a gpgme_data_t's contents as a NUL-terminated malloc'd buffer. */
static int
take_data(char **out, size_t *out_len, gpgme_data_t data)
{
    size_t len = 0;
    char *mem = gpgme_data_release_and_get_mem(data, &len);
    char *copy;

    *out = NULL;
    if (!mem && len)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    copy = malloc(len + 1);
    if (!copy) {
        gpgme_free(mem);
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    }
    if (len)
        memcpy(copy, mem, len);
    copy[len] = '\0';
    gpgme_free(mem);
    *out = copy;
    if (out_len)
        *out_len = len;
    return 0;
}

static int
get_key(gpgme_key_t *key, mrx_pgp *self, const char *fpr, int secret)
{
    gpgme_error_t err;

    if (!mrx_text_is_fpr(fpr))
        return mrx_error_set(MRX_EINVAL, "\"%.48s\" is not a fingerprint", fpr);
    err = gpgme_get_key(self->ctx, fpr, key, secret);
    if (gpgme_err_code(err) == GPG_ERR_EOF || (!err && !*key))
        return mrx_error_set(MRX_ENOTFOUND, "key %s: not in the keyring%s", fpr,
                             secret ? " (no secret key)" : "");
    if (err)
        return mrx_error_set(MRX_ENOTFOUND, "key %s: %s", fpr, gpgme_strerror(err));
    return 0;
}

int
mrx_pgp_generate(mrx_pgp *self, char fpr[MRX_FPR_LEN + 1], const char *userid)
{
    gpgme_genkey_result_t result;
    gpgme_key_t key = NULL;
    gpgme_error_t err;
    int rc = 0;

    err = gpgme_op_createkey(self->ctx, userid, "ed25519", 0, 0, NULL,
                             GPGME_CREATE_SIGN | GPGME_CREATE_CERT | GPGME_CREATE_NOPASSWD |
                                 GPGME_CREATE_NOEXPIRE | GPGME_CREATE_FORCE);
    if (err)
        return pgp_fail(MRX_ECRYPTO, err, "creating the node key");
    result = gpgme_op_genkey_result(self->ctx);
    if (!result || !result->fpr || strlen(result->fpr) != MRX_FPR_LEN)
        return mrx_error_set(MRX_ECRYPTO, "creating the node key: no fingerprint returned");
    memcpy(fpr, result->fpr, MRX_FPR_LEN + 1);
    if ((rc = get_key(&key, self, fpr, 1)) < 0)
        return rc;
    err = gpgme_op_createsubkey(self->ctx, key, "cv25519", 0, 0,
                                GPGME_CREATE_ENCR | GPGME_CREATE_NOPASSWD |
                                    GPGME_CREATE_NOEXPIRE);
    if (err)
        rc = pgp_fail(MRX_ECRYPTO, err, "creating the encryption subkey");
    gpgme_key_unref(key);
    return rc;
}

int
mrx_pgp_has_secret(mrx_pgp *self, const char *fpr)
{
    gpgme_key_t key = NULL;

    if (!mrx_text_is_fpr(fpr) || gpgme_get_key(self->ctx, fpr, &key, 1) || !key)
        return 0;
    gpgme_key_unref(key);
    return 1;
}

static int
key_unusable(gpgme_key_t key)
{
    return key->revoked || key->expired || key->disabled || key->invalid;
}

int
mrx_pgp_check_node_key(mrx_pgp *self, const char *fpr)
{
    gpgme_key_t key = NULL;
    gpgme_subkey_t sub;
    int rc, have_encrypt = 0;

    if ((rc = get_key(&key, self, fpr, 0)) < 0)
        return rc;
    sub = key->subkeys;
    if (key_unusable(key) || !sub || sub->revoked || sub->expired || sub->invalid) {
        rc = mrx_error_set(MRX_ECRYPTO, "key %s: revoked, expired or invalid", fpr);
        goto out;
    }
    if (sub->pubkey_algo != GPGME_PK_EDDSA || !sub->curve || strcmp(sub->curve, "ed25519") ||
        !sub->can_sign) {
        rc = mrx_error_set(MRX_ECRYPTO, "key %s: primary key is not an ed25519 signing key", fpr);
        goto out;
    }
    for (sub = sub->next; sub; sub = sub->next)
        if (sub->can_encrypt && !sub->revoked && !sub->expired && !sub->invalid &&
            !sub->disabled && sub->pubkey_algo == GPGME_PK_ECDH && sub->curve &&
            strcmp(sub->curve, "cv25519") == 0)
            have_encrypt = 1;
    if (!have_encrypt)
        rc = mrx_error_set(MRX_ECRYPTO, "key %s: no usable cv25519 encryption subkey", fpr);
out:
    gpgme_key_unref(key);
    return rc;
}

int
mrx_pgp_export(mrx_pgp *self, char **out, size_t *out_len, const char *fpr)
{
    gpgme_data_t data = NULL;
    gpgme_error_t err;
    int rc;

    *out = NULL;
    if (!mrx_text_is_fpr(fpr))
        return mrx_error_set(MRX_EINVAL, "\"%.48s\" is not a fingerprint", fpr);
    if ((err = gpgme_data_new(&data)))
        return pgp_fail(MRX_ENOMEM, err, "export");
    gpgme_set_armor(self->ctx, 1);
    err = gpgme_op_export(self->ctx, fpr, GPGME_EXPORT_MODE_MINIMAL, data);
    if (err) {
        gpgme_data_release(data);
        return pgp_fail(MRX_ECRYPTO, err, "exporting the public key");
    }
    if ((rc = take_data(out, out_len, data)) < 0)
        return rc;
    if (!**out) {
        free(*out);
        *out = NULL;
        return mrx_error_set(MRX_ENOTFOUND, "key %s: not in the keyring", fpr);
    }
    return 0;
}

int
mrx_pgp_import(mrx_pgp *self, char fpr[MRX_FPR_LEN + 1], const char *armored, size_t len)
{
    gpgme_data_t data = NULL;
    gpgme_import_result_t result;
    gpgme_error_t err;

    if ((err = gpgme_data_new_from_mem(&data, armored, len, 0)))
        return pgp_fail(MRX_ENOMEM, err, "import");
    memo_clear(self); /* what was good may be revoked now */
    err = gpgme_op_import(self->ctx, data);
    gpgme_data_release(data);
    if (err)
        return pgp_fail(MRX_ECRYPTO, err, "importing the public key");
    result = gpgme_op_import_result(self->ctx);
    if (!result || result->considered != 1 || result->secret_read != 0 || !result->imports ||
        result->imports->next || result->imports->result || !result->imports->fpr ||
        !mrx_text_is_fpr(result->imports->fpr))
        return mrx_error_set(MRX_EFORMAT, "the key block must hold exactly one public key "
                                          "(it held %d keys, %d secret)",
                             result ? result->considered : 0, result ? result->secret_read : 0);
    memcpy(fpr, result->imports->fpr, MRX_FPR_LEN + 1);
    return 0;
}

static int
sign_buffer(mrx_pgp *self, char **out, size_t *out_len, const char *signer, const void *text,
            size_t len, gpgme_sig_mode_t mode)
{
    gpgme_data_t in = NULL, sig = NULL;
    gpgme_key_t key = NULL;
    gpgme_error_t err;
    int rc;

    *out = NULL;
    if (!self->signer || strcmp(self->signer_fpr, signer) != 0) {
        if ((rc = get_key(&key, self, signer, 1)) < 0)
            return rc;
        if (self->signer)
            gpgme_key_unref(self->signer);
        self->signer = key;
        snprintf(self->signer_fpr, sizeof self->signer_fpr, "%s", signer);
    }
    key = self->signer;
    gpgme_key_ref(key);
    gpgme_signers_clear(self->ctx);
    if ((err = gpgme_signers_add(self->ctx, key)) ||
        (err = gpgme_data_new_from_mem(&in, text, len, 0)) || (err = gpgme_data_new(&sig))) {
        rc = pgp_fail(MRX_EIO, err, "preparing to sign");
        goto out;
    }
    gpgme_set_armor(self->ctx, 1);
    gpgme_set_textmode(self->ctx, 0);
    if ((err = gpgme_op_sign(self->ctx, in, sig, mode))) {
        rc = pgp_fail(MRX_ECRYPTO, err, "signing");
        goto out;
    }
    rc = take_data(out, out_len, sig);
    sig = NULL;
out:
    gpgme_signers_clear(self->ctx);
    gpgme_data_release(in);
    gpgme_data_release(sig);
    gpgme_key_unref(key);
    return rc;
}

int
mrx_pgp_sign_detached(mrx_pgp *self, char **sig, size_t *sig_len, const char *signer,
                      const void *data, size_t len)
{
    return sign_buffer(self, sig, sig_len, signer, data, len, GPGME_SIG_MODE_DETACH);
}

int
mrx_pgp_clearsign(mrx_pgp *self, char **out, size_t *out_len, const char *signer, const char *text)
{
    return sign_buffer(self, out, out_len, signer, text, strlen(text), GPGME_SIG_MODE_CLEAR);
}

/* The verdict on a verification: exactly one good signature by a key we
 * hold, neither revoked nor expired; signer gets its primary fingerprint. */
static int
check_one_good_signature(mrx_pgp *self, char signer[MRX_FPR_LEN + 1], const char *expected)
{
    const gpgme_sigsum_t bad = GPGME_SIGSUM_RED | GPGME_SIGSUM_KEY_REVOKED |
                               GPGME_SIGSUM_KEY_EXPIRED | GPGME_SIGSUM_SIG_EXPIRED |
                               GPGME_SIGSUM_KEY_MISSING | GPGME_SIGSUM_SYS_ERROR;
    gpgme_verify_result_t result = gpgme_op_verify_result(self->ctx);
    gpgme_signature_t sig;
    gpgme_key_t key = NULL;
    int n = 0;

    if (result)
        for (sig = result->signatures; sig; sig = sig->next)
            n++;
    if (n != 1)
        return mrx_error_set(MRX_ECRYPTO, "expected exactly one signature, found %d", n);
    sig = result->signatures;
    if (gpgme_err_code(sig->status) == GPG_ERR_NO_PUBKEY)
        return mrx_error_set(MRX_EDENIED, "signed by unknown key %s", sig->fpr ? sig->fpr : "?");
    if (sig->status != 0 || (sig->summary & bad) || sig->wrong_key_usage)
        return mrx_error_set(MRX_ECRYPTO, "bad signature: %s", gpgme_strerror(sig->status));
    /* by the expected primary key itself: gpg has checked it and its
     * state (the summary above), so no key listing (another gpg) is due */
    if (expected && sig->fpr && strcmp(sig->fpr, expected) == 0) {
        if (signer)
            memcpy(signer, expected, MRX_FPR_LEN + 1);
        return 0;
    }
    if (!sig->fpr || gpgme_get_key(self->ctx, sig->fpr, &key, 0) || !key || !key->fpr ||
        !mrx_text_is_fpr(key->fpr)) {
        if (key)
            gpgme_key_unref(key);
        return mrx_error_set(MRX_EDENIED, "signed by unknown key %s", sig->fpr ? sig->fpr : "?");
    }
    if (signer)
        memcpy(signer, key->fpr, MRX_FPR_LEN + 1);
    if (expected && strcmp(expected, key->fpr) != 0) {
        int rc = mrx_error_set(MRX_EDENIED, "signed by %s, not by the expected %s", key->fpr,
                               expected);
        gpgme_key_unref(key);
        return rc;
    }
    gpgme_key_unref(key);
    return 0;
}

int
mrx_pgp_verify_detached(mrx_pgp *self, char signer[MRX_FPR_LEN + 1], const char *expected,
                        const void *sig, size_t sig_len, const void *data, size_t len)
{
    gpgme_data_t sig_data = NULL, text = NULL;
    gpgme_error_t err;
    int rc;

    if ((err = gpgme_data_new_from_mem(&sig_data, sig, sig_len, 0)) ||
        (err = gpgme_data_new_from_mem(&text, data, len, 0))) {
        rc = pgp_fail(MRX_ENOMEM, err, "verify");
        goto out;
    }
    err = gpgme_op_verify(self->ctx, sig_data, text, NULL);
    if (err) {
        rc = pgp_fail(MRX_ECRYPTO, err, "signature unreadable");
        goto out;
    }
    rc = check_one_good_signature(self, signer, expected);
out:
    gpgme_data_release(sig_data);
    gpgme_data_release(text);
    return rc;
}

/* A verified message's entry, if it is fresh. */
static const memo *
memo_find(mrx_pgp *self, const char *hash)
{
    time_t now = time(NULL);

    for (size_t i = 0; i < MEMO_SLOTS; i++)
        if (strcmp(self->memos[i].hash, hash) == 0)
            return now - self->memos[i].at < MEMO_TTL && now >= self->memos[i].at
                       ? &self->memos[i]
                       : NULL;
    return NULL;
}

static void
memo_add(mrx_pgp *self, const char *hash, const char *signer, const char *plain, size_t len)
{
    memo *m;
    char *copy;

    if (len > MEMO_PLAIN_MAX || !(copy = malloc(len + 1)))
        return;
    memcpy(copy, plain, len + 1);
    for (size_t i = 0; i < MEMO_SLOTS; i++)
        if (strcmp(self->memos[i].hash, hash) == 0)
            self->memos[i].hash[0] = '\0'; /* a stale entry of it */
    m = &self->memos[self->memo_next];
    self->memo_next = (self->memo_next + 1) % MEMO_SLOTS;
    free(m->plain);
    memcpy(m->hash, hash, sizeof m->hash);
    memcpy(m->signer, signer, sizeof m->signer);
    m->plain = copy;
    m->plain_len = len;
    m->at = time(NULL);
}

int
mrx_pgp_verify_clearsigned(mrx_pgp *self, char signer[MRX_FPR_LEN + 1], const char *expected,
                           char **plain, size_t *plain_len, const char *msg, size_t msg_len)
{
    char hash[MRX_SHA256_HEX_LEN + 1], who[MRX_FPR_LEN + 1];
    gpgme_data_t in = NULL, out = NULL;
    const memo *m;
    gpgme_error_t err;
    size_t len = 0;
    int rc;

    *plain = NULL;
    if (mrx_sha256_hex(hash, msg, msg_len) < 0)
        hash[0] = '\0';
    if (hash[0] && (m = memo_find(self, hash))) {
        if (expected && strcmp(expected, m->signer) != 0)
            return mrx_error_set(MRX_EDENIED, "signed by %s, not by the expected %s", m->signer,
                                 expected);
        if (!(*plain = malloc(m->plain_len + 1)))
            return mrx_error_set(MRX_ENOMEM, "out of memory");
        memcpy(*plain, m->plain, m->plain_len + 1);
        if (plain_len)
            *plain_len = m->plain_len;
        if (signer)
            memcpy(signer, m->signer, MRX_FPR_LEN + 1);
        return 0;
    }
    if ((err = gpgme_data_new_from_mem(&in, msg, msg_len, 0)) || (err = gpgme_data_new(&out))) {
        rc = pgp_fail(MRX_ENOMEM, err, "verify");
        goto out;
    }
    err = gpgme_op_verify(self->ctx, in, NULL, out);
    if (err) {
        rc = pgp_fail(MRX_ECRYPTO, err, "signature unreadable");
        goto out;
    }
    if ((rc = check_one_good_signature(self, who, expected)) < 0)
        goto out;
    rc = take_data(plain, &len, out);
    out = NULL;
    if (rc == 0) {
        if (plain_len)
            *plain_len = len;
        if (hash[0])
            memo_add(self, hash, who, *plain, len);
        if (signer)
            memcpy(signer, who, MRX_FPR_LEN + 1);
    }
out:
    gpgme_data_release(in);
    gpgme_data_release(out);
    return rc;
}

/* GPGME moves data between gpg and us in pieces of this size; its default
 * of 4 KiB costs a poll, a read and a write for every 4 KiB of a bundle.
 * 64 KiB matches a pipe's buffer. */
#define IO_BUFFER_SIZE "65536"

/* A data object on fd with large I/O pieces. */
static gpgme_error_t
fd_data(gpgme_data_t *out, int fd)
{
    gpgme_error_t err = gpgme_data_new_from_fd(out, fd);

    if (!err)
        err = gpgme_data_set_flag(*out, "io-buffer-size", IO_BUFFER_SIZE);
    return err;
}

/* Where the plaintext of a decryption goes: a file descriptor, counted, so
 * that a failure after some plaintext is known not to be a missing key. */
struct plain_sink {
    int fd;             /* e.g. the pipe to the archive reader */
    uint64_t bytes;     /* how much gpg produced */
    int rc;             /* first write failure */
    char message[512];  /* its message, kept across GPGME's own calls */
};

static ssize_t
plain_write(void *handle, const void *buf, size_t len)
{
    struct plain_sink *p = handle;
    int rc = mrx_fs_write_all(p->fd, buf, len);

    if (rc < 0) {
        if (p->rc == 0) {
            p->rc = rc;
            snprintf(p->message, sizeof p->message, "%s", mrx_error_last());
        }
        errno = EIO;
        return -1;
    }
    p->bytes += len;
    return (ssize_t)len;
}

int
mrx_pgp_encrypt(mrx_pgp *self, const char *const *recipients, size_t n_recipients, int in_fd,
                int out_fd)
{
    gpgme_key_t *keys = NULL;
    gpgme_data_t in = NULL, out = NULL;
    gpgme_encrypt_result_t result;
    gpgme_error_t err;
    size_t i;
    int rc = 0;

    if (n_recipients == 0)
        return mrx_error_set(MRX_EINVAL, "no recipients to encrypt to");
    keys = calloc(n_recipients + 1, sizeof *keys);
    if (!keys)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    for (i = 0; i < n_recipients; i++) {
        if ((rc = get_key(&keys[i], self, recipients[i], 0)) < 0)
            goto out;
        if (!keys[i]->can_encrypt || key_unusable(keys[i])) {
            rc = mrx_error_set(MRX_ECRYPTO, "key %s: cannot be encrypted to", recipients[i]);
            goto out;
        }
    }
    if ((err = fd_data(&in, in_fd)) || (err = fd_data(&out, out_fd))) {
        rc = pgp_fail(MRX_EIO, err, "encrypt");
        goto out;
    }
    gpgme_data_set_encoding(in, GPGME_DATA_ENCODING_BINARY);
    gpgme_set_armor(self->ctx, 0);
    err = gpgme_op_encrypt(self->ctx, keys,
                           GPGME_ENCRYPT_ALWAYS_TRUST | GPGME_ENCRYPT_NO_COMPRESS |
                               GPGME_ENCRYPT_THROW_KEYIDS,
                           in, out);
    if (err) {
        rc = pgp_fail(MRX_ECRYPTO, err, "encryption failed");
        goto out;
    }
    result = gpgme_op_encrypt_result(self->ctx);
    if (result && result->invalid_recipients)
        rc = mrx_error_set(MRX_ECRYPTO, "key %s: refused as a recipient",
                           result->invalid_recipients->fpr ? result->invalid_recipients->fpr
                                                           : "?");
out:
    gpgme_data_release(in);
    gpgme_data_release(out);
    for (i = 0; keys && i < n_recipients; i++)
        if (keys[i])
            gpgme_key_unref(keys[i]);
    free(keys);
    return rc;
}

int
mrx_pgp_decrypt(mrx_pgp *self, int in_fd, int out_fd)
{
    struct gpgme_data_cbs out_cbs = {NULL, plain_write, NULL, NULL};
    struct plain_sink plain = {out_fd, 0, 0, ""};
    gpgme_data_t in = NULL, out = NULL;
    gpgme_decrypt_result_t result;
    gpgme_error_t err;
    int rc = 0;

    if ((err = fd_data(&in, in_fd)) || (err = gpgme_data_new_from_cbs(&out, &out_cbs, &plain)) ||
        (err = gpgme_data_set_flag(out, "io-buffer-size", IO_BUFFER_SIZE))) {
        rc = pgp_fail(MRX_EIO, err, "decrypt");
        goto out;
    }
    err = gpgme_op_decrypt(self->ctx, in, out);
    result = gpgme_op_decrypt_result(self->ctx);
    if (plain.rc) {
        rc = mrx_error_set(plain.rc, "%s", plain.message);
        goto out;
    }
    if (result && result->legacy_cipher_nomdc) {
        rc = mrx_error_set(MRX_ECRYPTO, "ciphertext has no integrity protection (refused)");
        goto out;
    }
    if (err) {
        /* With hidden recipients gpg reports "no secret key" for the other
         * readers' packets even when ours worked and the data was bad. Any
         * plaintext, or a known symmetric algorithm, shows the session key
         * was ours. */
        int session_key_found = plain.bytes > 0 || (result && result->symkey_algo &&
                                                     result->symkey_algo[0] != '?');
        if (gpgme_err_code(err) == GPG_ERR_NO_SECKEY && !session_key_found)
            rc = mrx_error_set(MRX_EDENIED, "not encrypted to this node's key");
        else if (gpgme_err_code(err) == GPG_ERR_NO_DATA)
            rc = mrx_error_set(MRX_EFORMAT, "not OpenPGP ciphertext");
        else if (gpgme_err_code(err) == GPG_ERR_CANCELED && plain.bytes == 0)
            /* gpg asked for a passphrase, which mrx never gives */
            rc = mrx_error_set(MRX_EDENIED, "encrypted with a passphrase, not to this node's key");
        else
            rc = mrx_error_set(MRX_ECRYPTO,
                               "decryption failed: ciphertext altered or truncated (%s)",
                               gpgme_err_code(err) == GPG_ERR_NO_SECKEY ? "integrity check failed"
                                                                        : gpgme_strerror(err));
        goto out;
    }
    if (!result || result->unsupported_algorithm)
        rc = mrx_error_set(MRX_ECRYPTO, "decryption failed: unsupported algorithm");
out:
    gpgme_data_release(in);
    gpgme_data_release(out);
    return rc;
}
