/*
 * mrx_text: small, strict text checks.
 */
#include "mrx_text.h"
#include "mrx_error.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the UTF-8 sequence starting at s, or 0 if it is not a valid,
 * shortest-form sequence of a non-control code point. */
static size_t
utf8_char_len(const unsigned char *s)
{
    unsigned int cp;
    size_t len, i;

    if (s[0] < 0x80)
        return s[0] >= 0x20 && s[0] != 0x7f ? 1 : 0;
    if ((s[0] & 0xe0) == 0xc0) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
        return 0;
    return len;
}

int
mrx_text_is_single_line(const char *s, size_t max)
{
    size_t n = strlen(s), i, len;

    if (n == 0 || n > max || s[0] == ' ' || s[n - 1] == ' ')
        return 0;
    for (i = 0; i < n; i += len)
        if ((len = utf8_char_len((const unsigned char *)s + i)) == 0)
            return 0;
    return 1;
}

size_t
mrx_text_to_single_line(char *out, size_t max, const char *in, const char *fallback)
{
    size_t n = 0, len, start;

    /* valid characters kept, anything else a space, cut only between
     * characters; then spaces trimmed at both ends */
    for (const unsigned char *p = (const unsigned char *)in; *p && n < max; p += len ? len : 1) {
        len = utf8_char_len(p);
        if (len == 0) {
            out[n++] = ' ';
            continue;
        }
        if (n + len > max)
            break;
        memcpy(out + n, p, len);
        n += len;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    for (start = 0; start < n && out[start] == ' '; start++)
        ;
    memmove(out, out + start, n - start);
    n -= start;
    if (n == 0) {
        snprintf(out, max + 1, "%s", fallback);
        n = strlen(out);
    }
    out[n] = '\0';
    return n;
}

int
mrx_text_is_fpr(const char *s)
{
    size_t i;

    for (i = 0; i < MRX_FPR_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
            return 0;
    return s[MRX_FPR_LEN] == '\0';
}

int
mrx_text_normalize_fpr(char out[MRX_FPR_LEN + 1], const char *s)
{
    size_t n = 0;

    for (; *s; s++) {
        if (*s == ' ')
            continue;
        if (n == MRX_FPR_LEN || !isxdigit((unsigned char)*s))
            return mrx_error_set(MRX_EINVAL, "not a fingerprint (40 hex digits expected)");
        out[n++] = (char)toupper((unsigned char)*s);
    }
    out[n] = '\0';
    if (n != MRX_FPR_LEN)
        return mrx_error_set(MRX_EINVAL, "not a fingerprint (40 hex digits expected)");
    return 0;
}

void
mrx_text_format_time(char out[MRX_TIME_LEN + 1], time_t t)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, MRX_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
mrx_text_parse_time(time_t *out, const char *s)
{
    struct tm tm;
    char *end;
    char again[MRX_TIME_LEN + 1];

    memset(&tm, 0, sizeof tm);
    if (strlen(s) != MRX_TIME_LEN)
        return mrx_error_set(MRX_EINVAL, "bad time \"%.32s\" (YYYY-MM-DDTHH:MM:SSZ expected)", s);
    end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end != '\0')
        return mrx_error_set(MRX_EINVAL, "bad time \"%.32s\" (YYYY-MM-DDTHH:MM:SSZ expected)", s);
    *out = timegm(&tm);
    /* refuse values strptime normalised, such as a 31st of February */
    mrx_text_format_time(again, *out);
    if (strcmp(again, s) != 0)
        return mrx_error_set(MRX_EINVAL, "bad time \"%.32s\" (no such date)", s);
    return 0;
}

int
mrx_text_parse_u64(unsigned long long *out, const char *s)
{
    unsigned long long v;
    char *end;

    if (!isdigit((unsigned char)s[0]) || (s[0] == '0' && s[1] != '\0') || strlen(s) > 20)
        return mrx_error_set(MRX_EINVAL, "bad number \"%.24s\"", s);
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return mrx_error_set(MRX_EINVAL, "bad number \"%.24s\"", s);
    *out = v;
    return 0;
}

int
mrx_text_split_field(char **key, char **value, char *line)
{
    char *p = line;

    while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')
        p++;
    if (p == line || p[0] != ':' || p[1] != ' ')
        return mrx_error_set(MRX_EFORMAT, "line \"%.40s\" is not \"key: value\"", line);
    *p = '\0';
    *key = line;
    *value = p + 2;
    return 0;
}

const char *
mrx_text_human_size(char buf[32], unsigned long long bytes)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
    double v = (double)bytes;
    size_t u = 0;

    while (v >= 1000 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1000;
        u++;
    }
    if (u == 0)
        snprintf(buf, 32, "%llu B", bytes);
    else
        snprintf(buf, 32, "%.1f %s", v, units[u]);
    return buf;
}

int
mrx_text_is_id_prefix(const char *s)
{
    size_t len = strlen(s);

    return len >= MRX_ID_PREFIX_MIN && len <= 64 && strspn(s, "0123456789abcdef") == len;
}

int
mrx_text_take(char **value, mrx_text_cursor *c, const char *key)
{
    char *line = c->next, *nl, *k;

    c->line++;
    if (!*line)
        return mrx_error_set(MRX_EFORMAT, "%s: line %zu: \"%s\" missing", c->what, c->line, key);
    if (!(nl = strchr(line, '\n')))
        return mrx_error_set(MRX_EFORMAT, "%s: line %zu: no line feed at its end", c->what,
                             c->line);
    *nl = '\0';
    c->next = nl + 1;
    if (mrx_text_split_field(&k, value, line) < 0)
        return mrx_error_set(MRX_EFORMAT, "%s: line %zu is not \"key: value\"", c->what, c->line);
    if (strcmp(k, key) != 0)
        return mrx_error_set(MRX_EFORMAT, "%s: line %zu: \"%.24s\" where \"%s\" belongs", c->what,
                             c->line, k, key);
    return 0;
}
