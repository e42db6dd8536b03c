/*
 * fuzz_text: keys/mrx_text.c and the path and endpoint rules against
 * arbitrary strings. What they accept must hold the invariants they
 * promise.
 */
#include "mrx_cert.h"
#include "mrx_manifest.h"
#include "mrx_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a valid bundle path must never be: absolute, with an empty, "." or
 * ".." component, or with a backslash or control character. */
static int
path_is_safe(const char *s)
{
    const char *p = s;

    if (*s == '/' || strchr(s, '\\'))
        return 0;
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return 0;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        if (!slash)
            return 1;
        p = slash + 1;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), *k, *v;
    char fpr[MRX_FPR_LEN + 1], when[MRX_TIME_LEN + 1];
    unsigned long long n;
    time_t t;

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (mrx_text_is_single_line(s, 4096) && (strchr(s, '\n') || strchr(s, '\r')))
        abort();
    if (mrx_path_valid(s) && !path_is_safe(s))
        abort();
    if (mrx_text_normalize_fpr(fpr, s) == 0 && !mrx_text_is_fpr(fpr))
        abort();
    if (mrx_text_parse_time(&t, s) == 0) {
        mrx_text_format_time(when, t);
        if (strcmp(when, s) != 0)
            abort();
    }
    (void)mrx_text_parse_u64(&n, s);
    (void)mrx_endpoint_valid(s);
    if (mrx_text_split_field(&k, &v, s) == 0 && (!*k || v < k))
        abort();
    free(s);
    return 0;
}
