/*
 * gpgme_encrypt: the engine's limit for make bench. Encrypt-only of one
 * file with GPGME, binary output, flags ALWAYS_TRUST | NO_COMPRESS: what
 * any packager built on GPGME pays at least, with no archiving, hashing,
 * signing or compression of its own. With --decrypt, the same for the
 * other direction: decrypt-only of IN to OUT, what any opener built on
 * GPGME pays at least.
 *
 *   gpgme_encrypt [--homedir DIR] [--io-buffer-size N] [--no-fsync]
 *                 -r FPR [-r FPR]... IN OUT
 *   gpgme_encrypt [--homedir DIR] [--io-buffer-size N] [--no-fsync]
 *                 --decrypt IN OUT
 *
 * Without --homedir, GNUPGHOME (or gpg's default) is used. OUT must not
 * exist. Both files go through gpgme_data_new_from_fd, so GPGME moves the
 * bytes between them and gpg itself, by default in PIPE_BUF (4 KiB)
 * pieces; --io-buffer-size sets GPGME's "io-buffer-size" data flag on
 * both (GPGME caps it at 1 MiB). OUT is fsynced before exit, as mrx does
 * with a bundle, unless --no-fsync.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <gpgme.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECIPIENTS_MAX 16

static int
fail(const char *what, gpgme_error_t err)
{
    fprintf(stderr, "gpgme_encrypt: %s: %s\n", what, gpgme_strerror(err));
    return 1;
}

int
main(int argc, char **argv)
{
    static const struct option options[] = {{"homedir", required_argument, NULL, 'H'},
                                            {"recipient", required_argument, NULL, 'r'},
                                            {"io-buffer-size", required_argument, NULL, 'b'},
                                            {"no-fsync", no_argument, NULL, 'n'},
                                            {"decrypt", no_argument, NULL, 'd'},
                                            {NULL, 0, NULL, 0}};
    gpgme_key_t keys[RECIPIENTS_MAX + 1] = {NULL};
    const char *homedir = NULL, *io_buffer_size = NULL;
    gpgme_ctx_t ctx = NULL;
    gpgme_data_t in = NULL, out = NULL;
    gpgme_encrypt_result_t result;
    gpgme_error_t err;
    size_t n = 0, i;
    int opt, in_fd = -1, out_fd = -1, rc = 1, sync = 1, decrypt = 0;

    while ((opt = getopt_long(argc, argv, "H:r:", options, NULL)) != -1) {
        switch (opt) {
        case 'H':
            homedir = optarg;
            break;
        case 'b':
            io_buffer_size = optarg;
            break;
        case 'n':
            sync = 0;
            break;
        case 'd':
            decrypt = 1;
            break;
        case 'r':
            if (n == RECIPIENTS_MAX) {
                fprintf(stderr, "gpgme_encrypt: at most %d recipients\n", RECIPIENTS_MAX);
                return 2;
            }
            keys[n++] = (gpgme_key_t)optarg; /* looked up below */
            break;
        default:
            goto usage;
        }
    }
    if ((n == 0) != decrypt || argc - optind != 2)
        goto usage;

    setlocale(LC_ALL, "");
    if (!gpgme_check_version(NULL))
        return fail("gpgme", gpg_error(GPG_ERR_NOT_INITIALIZED));
    if ((err = gpgme_new(&ctx)) || (err = gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP)) ||
        (homedir && (err = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL, homedir))))
        return fail("gpgme setup", err);
    gpgme_set_armor(ctx, 0);
    gpgme_set_offline(ctx, 1);
    for (i = 0; i < n; i++) {
        const char *fpr = (const char *)keys[i];
        keys[i] = NULL;
        if ((err = gpgme_get_key(ctx, fpr, &keys[i], 0))) {
            fprintf(stderr, "gpgme_encrypt: key %s: %s\n", fpr, gpgme_strerror(err));
            goto out;
        }
    }
    if ((in_fd = open(argv[optind], O_RDONLY | O_CLOEXEC)) < 0 ||
        (out_fd = open(argv[optind + 1], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        fprintf(stderr, "gpgme_encrypt: %s: %s\n", in_fd < 0 ? argv[optind] : argv[optind + 1],
                strerror(errno));
        goto out;
    }
    if ((err = gpgme_data_new_from_fd(&in, in_fd)) ||
        (err = gpgme_data_new_from_fd(&out, out_fd))) {
        fail("gpgme data", err);
        goto out;
    }
    if (io_buffer_size && ((err = gpgme_data_set_flag(in, "io-buffer-size", io_buffer_size)) ||
                           (err = gpgme_data_set_flag(out, "io-buffer-size", io_buffer_size)))) {
        fail("io-buffer-size", err);
        goto out;
    }
    gpgme_data_set_encoding(in, GPGME_DATA_ENCODING_BINARY);
    if (decrypt) {
        gpgme_decrypt_result_t dres;
        if ((err = gpgme_op_decrypt(ctx, in, out))) {
            fail("decrypt", err);
            goto out;
        }
        dres = gpgme_op_decrypt_result(ctx);
        if (!dres || dres->unsupported_algorithm || dres->legacy_cipher_nomdc) {
            fprintf(stderr, "gpgme_encrypt: decrypt: unsupported or unprotected ciphertext\n");
            goto out;
        }
    } else if ((err = gpgme_op_encrypt(
                    ctx, keys, GPGME_ENCRYPT_ALWAYS_TRUST | GPGME_ENCRYPT_NO_COMPRESS, in, out))) {
        fail("encrypt", err);
        goto out;
    }
    result = decrypt ? NULL : gpgme_op_encrypt_result(ctx);
    if (result && result->invalid_recipients) {
        fprintf(stderr, "gpgme_encrypt: invalid recipient %s\n",
                result->invalid_recipients->fpr ? result->invalid_recipients->fpr : "?");
        goto out;
    }
    if (sync && fsync(out_fd) != 0) {
        fprintf(stderr, "gpgme_encrypt: fsync: %s\n", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    gpgme_data_release(in);
    gpgme_data_release(out);
    if (in_fd >= 0)
        close(in_fd);
    if (out_fd >= 0 && close(out_fd) != 0 && rc == 0) {
        fprintf(stderr, "gpgme_encrypt: close: %s\n", strerror(errno));
        rc = 1;
    }
    for (i = 0; i < n; i++)
        if (keys[i])
            gpgme_key_unref(keys[i]);
    gpgme_release(ctx);
    return rc;
usage:
    fprintf(stderr, "usage: gpgme_encrypt [--homedir DIR] [--io-buffer-size N] [--no-fsync]\n"
                    "                     -r FPR [-r FPR]... IN OUT\n"
                    "       gpgme_encrypt [--homedir DIR] [--io-buffer-size N] [--no-fsync]\n"
                    "                     --decrypt IN OUT\n");
    return 2;
}
