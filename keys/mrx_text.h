/*
 * mrx_text: checks and conversions for the small text values mrx stores and
 * exchanges: names, fingerprints, times, and "key: value" lines.
 */
#ifndef MRX_TEXT_H
#define MRX_TEXT_H

#include <stddef.h>
#include <time.h>

#define MRX_FPR_LEN 40       /* OpenPGP v4 fingerprint, uppercase hex */
#define MRX_TIME_LEN 20      /* 2026-11-25T16:49:28Z */
#define MRX_NAME_MAX 64      /* bytes in a node name */

/* True if s is valid UTF-8 with no control characters, 1..max bytes, and no
 * leading or trailing space. */
int mrx_text_is_single_line(const char *s, size_t max);

/* Make in (any bytes up to a NUL) a text mrx_text_is_single_line takes,
 * in out (max + 1 bytes): control characters and invalid UTF-8 become
 * spaces, it is cut between characters at max bytes and trimmed; if
 * nothing is left, fallback (single-line, at most max bytes). Returns
 * the length. */
size_t mrx_text_to_single_line(char *out, size_t max, const char *in, const char *fallback);

/* True if s is exactly 40 uppercase hex digits. */
int mrx_text_is_fpr(const char *s);

/* Copy s into out as an uppercase fingerprint if it is one (upper or
 * lowercase hex, spaces allowed between groups); else MRX_EINVAL. */
int mrx_text_normalize_fpr(char out[MRX_FPR_LEN + 1], const char *s);

/* Format t as UTC "YYYY-MM-DDTHH:MM:SSZ" into out. */
void mrx_text_format_time(char out[MRX_TIME_LEN + 1], time_t t);

/* Parse the format above; MRX_EINVAL on anything else. */
int mrx_text_parse_time(time_t *out, const char *s);

/* Parse a decimal unsigned 64-bit number with no sign, spaces or leading
 * zeros (except "0"); MRX_EINVAL otherwise. */
int mrx_text_parse_u64(unsigned long long *out, const char *s);

/* Split one "key: value" line in place: line is modified, *key and *value
 * point into it. The key is [a-z0-9-]+, the separator ": " exactly. */
int mrx_text_split_field(char **key, char **value, char *line);

/* A reader of "key: value" lines in a fixed order, over a NUL-terminated
 * text it cuts up in place. what names the text in messages ("view by
 * FPR"); line counts the lines taken. */
typedef struct {
    char *next;
    size_t line;
    const char *what;
} mrx_text_cursor;

/* Take the next line, which must be "key: value" with this key; *value
 * points into the text. MRX_EFORMAT, with a message naming the line,
 * otherwise. */
int mrx_text_take(char **value, mrx_text_cursor *c, const char *key);

/* Digits that may name a case or bundle by a prefix of its SHA-256 id. */
#define MRX_ID_PREFIX_MIN 6

/* True if s may be a prefix of a SHA-256 id: 6 to 64 lowercase hex. */
int mrx_text_is_id_prefix(const char *s);

/* "3.2 MB" style size for people (powers of 1000); returns buf. */
const char *mrx_text_human_size(char buf[32], unsigned long long bytes);

#endif
