/*
 * audit_html: the patient's audit of a case (the result of the control
 * request `audit`, docs/control-api.md) as one self-contained HTML page:
 * a verdict, the timeline drawn as inline SVG (one lane per actor, one
 * mark per line) and a table of every line. No script, no external
 * resource; every string of the audit is escaped (docs/audit.md §5).
 */
#ifndef AUDIT_HTML_H
#define AUDIT_HTML_H

#include <jansson.h>
#include <stddef.h>

/* Lanes drawn at most; the actors beyond share one last lane. */
#define AUDIT_HTML_MAX_LANES 30

/* Render audit (borrowed) into *out, a NUL-terminated page of *out_len
 * bytes the caller frees. Members missing or of the wrong type are shown
 * as unknown, never trusted: a line is verified only if its `verified`
 * is true. Fails only when out of memory. */
int audit_html_render(char **out, size_t *out_len, json_t *audit);

/* Render audit and write it to path the crash-safe way (a temporary file
 * beside it, fsynced and renamed; mode 0600). An existing regular file
 * is replaced; anything else at path (a folder, a symbolic link, a
 * device) is refused with MRX_EEXIST, and a missing folder with
 * MRX_ENOTFOUND. Nothing is left at path on failure. */
int audit_html_write(const char *path, json_t *audit);

#endif
