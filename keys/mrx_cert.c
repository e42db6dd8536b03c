/*
 * mrx_cert: build, print and check node certificates.
 */
#include "mrx_cert.h"
#include "mrx_error.h"
#include "mrx_fs.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CERT_VERSION "1"
#define BEGIN_SIGNED "-----BEGIN PGP SIGNED MESSAGE-----\n"
#define END_SIGNATURE "-----END PGP SIGNATURE-----\n"
#define BEGIN_KEY "-----BEGIN PGP PUBLIC KEY BLOCK-----\n"
#define END_KEY "-----END PGP PUBLIC KEY BLOCK-----\n"

struct mrx_cert {
    char name[MRX_NAME_MAX + 1];                  /* node name, one line */
    mrx_role role;                                /* what the node is */
    char fpr[MRX_FPR_LEN + 1];                    /* its OpenPGP key */
    char curve[MRX_CURVE_Z85_LEN + 1];            /* its CURVE public key */
    char *endpoints[MRX_CERT_ENDPOINTS_MAX];      /* where it listens */
    size_t n_endpoints;                           /* how many of those */
    time_t created;                               /* when it was signed */
    char *text;                                   /* the whole certificate */
    char *public_key;                             /* its armoured key block */
};

static const char *const role_names[] = {"patient", "facilitator", "clinic", "reviewer"};

int
mrx_role_parse(mrx_role *out, const char *name)
{
    size_t i;

    for (i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
        if (strcmp(name, role_names[i]) == 0) {
            *out = (mrx_role)i;
            return 0;
        }
    return mrx_error_set(MRX_EINVAL,
                         "unknown role \"%.32s\" (patient, facilitator, clinic or reviewer)", name);
}

const char *
mrx_role_name(mrx_role role)
{
    return (unsigned)role < sizeof role_names / sizeof role_names[0] ? role_names[role] : "?";
}

int
mrx_endpoint_valid(const char *s)
{
    const char *host, *colon, *p;
    unsigned long port;
    char *end;

    if (strncmp(s, "tcp://", 6) != 0 || strlen(s) > MRX_ENDPOINT_MAX)
        return 0;
    host = s + 6;
    if (host[0] == '[') {
        colon = strstr(host, "]:");
        if (!colon || colon == host + 1)
            return 0;
        for (p = host + 1; p < colon; p++)
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
                return 0;
        colon++;
    } else {
        colon = strrchr(host, ':');
        if (!colon || colon == host)
            return 0;
        for (p = host; p < colon; p++)
            if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
                return 0;
    }
    if (!isdigit((unsigned char)colon[1]))
        return 0;
    port = strtoul(colon + 1, &end, 10);
    return *end == '\0' && port >= 1 && port <= 65535;
}

void
mrx_cert_destroy(mrx_cert **self_p)
{
    mrx_cert *self;
    size_t i;

    if (!self_p || !(self = *self_p))
        return;
    for (i = 0; i < self->n_endpoints; i++)
        free(self->endpoints[i]);
    free(self->text);
    free(self->public_key);
    free(self);
    *self_p = NULL;
}

static int
check_fields(const mrx_cert *self)
{
    if (!mrx_text_is_single_line(self->name, MRX_NAME_MAX) || strpbrk(self->name, "<>()"))
        return mrx_error_set(MRX_EINVAL,
                             "bad node name (1-%d characters on one line, none of <>())",
                             MRX_NAME_MAX);
    if (!mrx_curve_is_key(self->curve))
        return mrx_error_set(MRX_EINVAL, "bad CURVE public key");
    for (size_t i = 0; i < self->n_endpoints; i++)
        if (!mrx_endpoint_valid(self->endpoints[i]))
            return mrx_error_set(MRX_EINVAL, "bad endpoint \"%.64s\" (tcp://HOST:PORT expected)",
                                 self->endpoints[i]);
    return 0;
}

/* The signed body, one "key: value" line a field. */
static char *
format_body(const mrx_cert *self)
{
    char created[MRX_TIME_LEN + 1];
    size_t cap = 1024, i;
    char *body, *p;

    for (i = 0; i < self->n_endpoints; i++)
        cap += strlen(self->endpoints[i]) + 16;
    if (!(body = malloc(cap)))
        return NULL;
    mrx_text_format_time(created, self->created);
    p = body;
    p += sprintf(p,
                 "mrx-node-certificate: " CERT_VERSION "\n"
                 "name: %s\nrole: %s\nfingerprint: %s\ncurve: %s\n",
                 self->name, mrx_role_name(self->role), self->fpr, self->curve);
    for (i = 0; i < self->n_endpoints; i++)
        p += sprintf(p, "endpoint: %s\n", self->endpoints[i]);
    sprintf(p, "created: %s\n", created);
    return body;
}

int
mrx_cert_build(mrx_cert **out, mrx_pgp *pgp, const char *name, mrx_role role, const char *fpr,
               const char *curve_public, const char *const *endpoints, size_t n_endpoints,
               time_t created)
{
    mrx_cert *self = calloc(1, sizeof *self);
    char *body = NULL, *signed_text = NULL;
    size_t i;
    int rc = 0;

    *out = NULL;
    if (!self)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    if (strlen(name) > MRX_NAME_MAX || !mrx_text_is_fpr(fpr) ||
        strlen(curve_public) != MRX_CURVE_Z85_LEN || n_endpoints > MRX_CERT_ENDPOINTS_MAX) {
        rc = mrx_error_set(MRX_EINVAL, "bad certificate fields");
        goto out;
    }
    strcpy(self->name, name);
    self->role = role;
    strcpy(self->fpr, fpr);
    strcpy(self->curve, curve_public);
    for (i = 0; i < n_endpoints; i++) {
        if (!(self->endpoints[i] = strdup(endpoints[i]))) {
            rc = mrx_error_set(MRX_ENOMEM, "out of memory");
            goto out;
        }
        self->n_endpoints++;
    }
    self->created = created;
    if ((rc = check_fields(self)) < 0)
        goto out;
    if (!(body = format_body(self))) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = mrx_pgp_clearsign(pgp, &signed_text, NULL, fpr, body)) < 0 ||
        (rc = mrx_pgp_export(pgp, &self->public_key, NULL, fpr)) < 0)
        goto out;
    if (asprintf(&self->text, "%s%s", signed_text, self->public_key) < 0) {
        self->text = NULL;
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    *out = self;
    self = NULL;
out:
    free(body);
    free(signed_text);
    mrx_cert_destroy(&self);
    return rc;
}

/* Read the signed body into self, strictly: the version line, name, role,
 * fingerprint and curve in that order, then 0..8 endpoint lines, then
 * created, and nothing else. */
static int
parse_body(mrx_cert *self, char *body)
{
    static const char *const fixed[] = {"mrx-node-certificate", "name", "role", "fingerprint",
                                        "curve"};
    const size_t n_fixed = sizeof fixed / sizeof fixed[0];
    size_t field = 0; /* index into fixed, then n_fixed for endpoints, +1 once created */
    char *line, *next, *key, *value;
    int rc;

    for (line = body; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if ((rc = mrx_text_split_field(&key, &value, line)) < 0)
            return rc;
        if (field < n_fixed && strcmp(key, fixed[field]) != 0)
            return mrx_error_set(MRX_EFORMAT, "expected field \"%s\", found \"%.32s\"",
                                 fixed[field], key);
        if (field > n_fixed)
            return mrx_error_set(MRX_EFORMAT, "unexpected field \"%.32s\" after created", key);
        switch (field) {
        case 0:
            if (strcmp(value, CERT_VERSION) != 0)
                return mrx_error_set(MRX_EFORMAT, "unsupported certificate version \"%.8s\"",
                                     value);
            break;
        case 1:
            if (strlen(value) > MRX_NAME_MAX)
                return mrx_error_set(MRX_EFORMAT, "node name too long");
            strcpy(self->name, value);
            break;
        case 2:
            if ((rc = mrx_role_parse(&self->role, value)) < 0)
                return mrx_error_set(MRX_EFORMAT, "%s", mrx_error_last());
            break;
        case 3:
            if (!mrx_text_is_fpr(value))
                return mrx_error_set(MRX_EFORMAT, "bad fingerprint field");
            strcpy(self->fpr, value);
            break;
        case 4:
            if (strlen(value) != MRX_CURVE_Z85_LEN)
                return mrx_error_set(MRX_EFORMAT, "bad CURVE public key");
            strcpy(self->curve, value);
            break;
        default:
            if (strcmp(key, "endpoint") == 0) {
                if (self->n_endpoints == MRX_CERT_ENDPOINTS_MAX)
                    return mrx_error_set(MRX_EFORMAT, "more than %d endpoints",
                                         MRX_CERT_ENDPOINTS_MAX);
                if (!(self->endpoints[self->n_endpoints] = strdup(value)))
                    return mrx_error_set(MRX_ENOMEM, "out of memory");
                self->n_endpoints++;
                continue; /* endpoint may repeat */
            }
            if (strcmp(key, "created") != 0)
                return mrx_error_set(MRX_EFORMAT, "unexpected field \"%.32s\"", key);
            if ((rc = mrx_text_parse_time(&self->created, value)) < 0)
                return mrx_error_set(MRX_EFORMAT, "%s", mrx_error_last());
        }
        field++;
    }
    if (field <= n_fixed)
        return mrx_error_set(MRX_EFORMAT, "certificate ends before its \"%s\" field",
                             field < n_fixed ? fixed[field] : "created");
    if ((rc = check_fields(self)) < 0)
        return mrx_error_set(MRX_EFORMAT, "%s", mrx_error_last());
    return 0;
}

/* Check the outer shape: a clear-signed message, then exactly one public
 * key block, nothing after it. signed_len and key_start locate the parts. */
static int
split_cert(size_t *signed_len, const char **key_start, const char *text, size_t len)
{
    const char *key;

    if (len > MRX_CERT_MAX)
        return mrx_error_set(MRX_ELIMIT, "certificate larger than %d bytes", MRX_CERT_MAX);
    if (memchr(text, '\0', len))
        return mrx_error_set(MRX_EFORMAT, "certificate holds a NUL byte");
    if (len < sizeof BEGIN_SIGNED || memcmp(text, BEGIN_SIGNED, strlen(BEGIN_SIGNED)) != 0)
        return mrx_error_set(MRX_EFORMAT, "not an mrx node certificate (no signed message)");
    key = strstr(text, BEGIN_KEY);
    if (!key)
        return mrx_error_set(MRX_EFORMAT, "certificate holds no public key block");
    if (len - (size_t)(key - text) < strlen(END_KEY) ||
        memcmp(text + len - strlen(END_KEY), END_KEY, strlen(END_KEY)) != 0 ||
        strstr(key + strlen(BEGIN_KEY), BEGIN_KEY))
        return mrx_error_set(MRX_EFORMAT, "certificate must end with exactly one public key block");
    /* the signature's end must be followed directly by the key block:
     * nothing unsigned may ride along */
    if ((size_t)(key - text) < strlen(END_SIGNATURE) ||
        memcmp(key - strlen(END_SIGNATURE), END_SIGNATURE, strlen(END_SIGNATURE)) != 0)
        return mrx_error_set(MRX_EFORMAT,
                             "certificate must hold its key block right after the signature");
    *signed_len = (size_t)(key - text);
    *key_start = key;
    return 0;
}

/* Verify a certificate against pgp. With import, its key block is imported
 * first (pgp is then a scratch keyring); without, the key must already be
 * in pgp. */
static int
check_cert(mrx_cert **out, mrx_pgp *pgp, const char *text, size_t len, int import)
{
    mrx_cert *self = NULL;
    char *body = NULL;
    const char *key_start = NULL;
    char key_fpr[MRX_FPR_LEN + 1] = "", signer[MRX_FPR_LEN + 1];
    size_t signed_len = 0;
    int rc;

    *out = NULL;
    if ((rc = split_cert(&signed_len, &key_start, text, len)) < 0)
        return rc;
    if (!(self = calloc(1, sizeof *self)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    if (import && ((rc = mrx_pgp_import(pgp, key_fpr, key_start, len - signed_len)) < 0 ||
                   (rc = mrx_pgp_check_node_key(pgp, key_fpr)) < 0))
        goto out;
    if ((rc = mrx_pgp_verify_clearsigned(pgp, signer, NULL, &body, NULL, text, signed_len)) < 0) {
        mrx_error_wrap(rc, "certificate signature");
        goto out;
    }
    if (import && strcmp(signer, key_fpr) != 0) {
        rc = mrx_error_set(MRX_EDENIED, "certificate signed by %s, not by its own key %s", signer,
                           key_fpr);
        goto out;
    }
    if ((rc = parse_body(self, body)) < 0)
        goto out;
    if (strcmp(self->fpr, signer) != 0) {
        rc = mrx_error_set(MRX_EDENIED, "certificate names key %s but is signed by %s", self->fpr,
                           signer);
        goto out;
    }
    if (!import && (rc = mrx_pgp_check_node_key(pgp, signer)) < 0)
        goto out;
    if (!(self->text = strndup(text, len)) ||
        !(self->public_key = strndup(key_start, len - signed_len))) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    *out = self;
    self = NULL;
out:
    free(body);
    mrx_cert_destroy(&self);
    return rc;
}

int
mrx_cert_parse(mrx_cert **out, const char *text, size_t len, const char *scratch_dir)
{
    mrx_pgp *pgp = NULL;
    char *keyring = NULL;
    int rc;

    *out = NULL;
    if (!(keyring = mrx_fs_join(scratch_dir, "cert-XXXXXX")))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    if (!mkdtemp(keyring)) {
        free(keyring);
        return mrx_error_set(MRX_EIO, "%s: cannot make a scratch keyring", scratch_dir);
    }
    if ((rc = mrx_pgp_new(&pgp, keyring)) == 0)
        rc = check_cert(out, pgp, text, len, 1);
    mrx_pgp_destroy(&pgp);
    mrx_pgp_stop_agent(keyring);
    mrx_fs_remove_tree(keyring);
    free(keyring);
    return rc;
}

int
mrx_cert_load(mrx_cert **out, mrx_pgp *pgp, const char *text, size_t len)
{
    return check_cert(out, pgp, text, len, 0);
}

const char *
mrx_cert_name(const mrx_cert *self)
{
    return self->name;
}

mrx_role
mrx_cert_role(const mrx_cert *self)
{
    return self->role;
}

const char *
mrx_cert_fpr(const mrx_cert *self)
{
    return self->fpr;
}

const char *
mrx_cert_curve(const mrx_cert *self)
{
    return self->curve;
}

size_t
mrx_cert_endpoint_count(const mrx_cert *self)
{
    return self->n_endpoints;
}

const char *
mrx_cert_endpoint(const mrx_cert *self, size_t i)
{
    return i < self->n_endpoints ? self->endpoints[i] : NULL;
}

time_t
mrx_cert_created(const mrx_cert *self)
{
    return self->created;
}

const char *
mrx_cert_text(const mrx_cert *self)
{
    return self->text;
}

const char *
mrx_cert_public_key(const mrx_cert *self)
{
    return self->public_key;
}
