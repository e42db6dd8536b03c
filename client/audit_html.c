/*
 * audit_html: the patient's audit as one HTML page a person reads without
 * help (docs/audit.md §5). The page is written into a memory stream in
 * one pass per part: header and verdict, the timeline as inline SVG, the
 * table of lines. Every string of the audit came from a peer at some
 * point and goes through put_text, which escapes it for HTML text and
 * quoted attributes; none is ever put into a style, a script or a URL.
 */
#include "audit_html.h"
#include "mrx_error.h"
#include "mrx_fs.h"
#include "mrx_text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define ELLIPSIS "\xe2\x80\xa6"
#define EM_DASH "\xe2\x80\x94"
#define REPLACEMENT "\xef\xbf\xbd"
#define MIDDOT " \xc2\xb7 "

/* The picture: lane labels on the left, the time axis from PLOT_LEFT to
 * PLOT_RIGHT, the tick labels below the last lane. */
#define SVG_WIDTH 1200
#define LABEL_RIGHT 318
#define PLOT_LEFT 334
#define PLOT_RIGHT 1170
#define LANE_TOP 8
#define LANE_HEIGHT 50
#define AXIS_SPACE 48
#define MAX_TICKS 8
#define NAME_CHARS 30    /* characters of a name in a lane label */
#define CLOSE_PIXELS 4.0 /* marks nearer than this in a lane are spread */
#define FLAGGED_LISTED 5 /* flagged lines listed under the verdict */
#define PAGE_MODE 0600   /* who accessed a medical case is private */

/* One lane of the timeline: one actor, or every actor beyond the cap. */
typedef struct lane {
    const char *fpr; /* the actor's fingerprint, "" when none is known */
    json_t *first;   /* its first line (borrowed), for its name */
    json_t *last;    /* its latest line (borrowed), for its standing */
    size_t lines;    /* lines in the lane */
    size_t flagged;  /* of which not verified */
    int placed;      /* a mark of the lane is placed */
    double last_x;   /* x of the lane's latest mark placed */
    size_t run;      /* marks in a row placed close together */
} lane;

/* What is known of each line. */
typedef struct line_info {
    time_t t;    /* its time */
    int timed;   /* t was read from its time text */
    int ok;      /* its verified is true */
    size_t lane; /* the index of its lane */
    double x, y; /* where its mark is */
} line_info;

/* A page being made. */
typedef struct page {
    FILE *f;                          /* the memory stream written */
    json_t *audit;                    /* the audit (borrowed) */
    json_t *lines;                    /* its lines (borrowed; NULL if none) */
    size_t n;                         /* how many lines */
    size_t flagged;                   /* lines not verified */
    line_info *info;                  /* n entries */
    lane lanes[AUDIT_HTML_MAX_LANES]; /* the lanes in order of first line */
    size_t n_lanes;                   /* lanes used */
    int others;                       /* the last lane holds the rest */
    time_t t0, t1;                    /* the time axis, t0 < t1 */
} page;

/* What each kind of line is called and the letter of its mark. */
static const struct {
    const char *type;    /* an event's type, or a line's kind */
    const char *letter;  /* in its mark */
    const char *meaning; /* for the legend and an empty summary */
} kinds[] = {
    {"case-created", "C", "case created"},
    {"member-added", "G", "access granted"},
    {"member-removed", "R", "access removed"},
    {"bundle-added", "A", "records added"},
    {"bundle-withdrawn", "W", "records withdrawn"},
    {"bundle-served", "S", "records sent to a node (served)"},
    {"bundle-fetched", "F", "records received by a node (fetched)"},
    {"bundle-opened", "O", "records opened"},
    {"bad-feed", "X", "a node's history stops verifying"},
    {"refused-history", "H", "a history refused here: rewritten, or forged"},
    {"split-view", "V", "two accounts that cannot both be true"},
    {"silent", "N", "a node stopped reporting"},
    {"request", "Q", "a node's signed request for records"},
};

#define N_KINDS (sizeof kinds / sizeof kinds[0])

static const char style[] =
    "body{font:15px/1.45 system-ui,\"DejaVu Sans\",\"Segoe UI\",sans-serif;color:#1f2328;"
    "background:#fff;margin:0 auto;max-width:1240px;padding:16px 20px 40px}\n"
    "h1{font-size:26px;margin:8px 0 12px}h2{font-size:20px;margin:28px 0 8px}\n"
    "dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0 0 12px}\n"
    "dl.facts dt{font-weight:600;color:#59636e}dl.facts dd{margin:0;overflow-wrap:anywhere}\n"
    "code{font:13px ui-monospace,\"DejaVu Sans Mono\",monospace}\n"
    ".verdict{font-size:22px;font-weight:700;padding:10px 14px;border-radius:6px;margin:12px 0}\n"
    ".verdict.ok{background:#dafbe1;color:#116329;border:2px solid #1a7f37}\n"
    ".verdict.bad{background:#ffebe9;color:#a40e26;border:2px solid #cf222e}\n"
    ".verdict.none{background:#f6f8fa;color:#59636e;border:2px solid #d1d9e0}\n"
    "ul.flagged-list{margin:4px 0 12px;padding-left:24px}ul.flagged-list li{margin:2px 0}\n"
    ".legend{display:flex;flex-wrap:wrap;gap:6px 18px;align-items:center;font-size:14px;"
    "background:#f6f8fa;border:1px solid #d1d9e0;border-radius:6px;padding:8px 12px}\n"
    ".legend span{white-space:nowrap}svg.key{vertical-align:middle;margin-right:4px}\n"
    ".scroll{overflow:auto;max-height:1000px;border:1px solid #d1d9e0;border-radius:6px}\n"
    "svg.timeline{display:block;font-family:system-ui,\"DejaVu Sans\",sans-serif}\n"
    "rect.band{fill:#f6f8fa}rect.band.odd{fill:#eef1f4}rect.plot{fill:#fff}\n"
    "line.grid{stroke:#d1d9e0;stroke-width:1}line.axis,line.sep{stroke:#818b98;stroke-width:1}\n"
    "line.sep{stroke:#d1d9e0}\n"
    "text.name{font-size:14px;font-weight:600;fill:#1f2328}\n"
    "text.detail{font-size:12px;fill:#59636e}\n"
    "text.tick{font-size:12px;fill:#59636e;text-anchor:middle}\n"
    "text.axis-name{font-size:12px;fill:#59636e;text-anchor:end}\n"
    "g.mark circle,svg.key circle{fill:#1a7f37;stroke:#fff;stroke-width:1.5}\n"
    "g.mark path,svg.key path{fill:#cf222e;stroke:#5c0011;stroke-width:1.5}\n"
    "g.mark text,svg.key text{fill:#fff;font:bold 11px sans-serif;text-anchor:middle}\n"
    "table.lines{border-collapse:collapse;width:100%;font-size:14px}\n"
    "table.lines th{text-align:left;background:#f6f8fa;border-bottom:2px solid #d1d9e0;"
    "padding:6px 8px;position:sticky;top:0}\n"
    "table.lines td{border-bottom:1px solid #d1d9e0;padding:5px 8px;vertical-align:top;"
    "overflow-wrap:anywhere}\n"
    "table.lines td.n,table.lines td.t{white-space:nowrap;font-variant-numeric:tabular-nums}\n"
    "tr.bad td{background:#ffebe9}tr.bad td.st{color:#a40e26;font-weight:700}\n"
    "td.st{white-space:nowrap}tr.good td.st{color:#116329}small{color:#59636e}\n"
    ".badge{display:inline-block;min-width:18px;height:18px;line-height:18px;border-radius:9px;"
    "text-align:center;font-size:11px;font-weight:700;color:#fff;background:#1a7f37;"
    "margin-right:6px}\n"
    "tr.bad .badge{background:#cf222e;border-radius:2px}\n"
    "footer{margin-top:28px;font-size:13px;color:#59636e}\n"
    "@media print{.scroll{overflow:visible;max-height:none}}\n";

/* The length of the UTF-8 sequence at p and its code point in *cp; 0 if
 * it is not one (a stray byte, an overlong form, a surrogate). */
static size_t
utf8_next(const unsigned char *p, unsigned *cp)
{
    unsigned c = p[0], min;
    size_t n, i;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, *cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, *cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, *cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (p[i] & 0x3f);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return n;
}

/* Characters that turn the direction of the text after them: a name
 * holding one could make the words around it read otherwise. */
static int
is_direction_control(unsigned cp)
{
    return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

/* Characters in s, a stray byte counting as one. */
static size_t
utf8_chars(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t count = 0, n;
    unsigned cp;

    while (*p) {
        n = utf8_next(p, &cp);
        p += n ? n : 1;
        count++;
    }
    return count;
}

/* Write s (NULL as "") as HTML text, fit for element content and for a
 * double-quoted attribute: & < > " ' as references, control characters
 * as spaces, stray bytes and direction controls as U+FFFD. With max > 0
 * at most max characters are written, the last an ellipsis when cut. */
static void
put_text_max(FILE *f, const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t count = 0, n;
    unsigned cp;

    if (max && utf8_chars((const char *)p) <= max)
        max = 0;
    while (*p) {
        if (max && count == max - 1) {
            fputs(ELLIPSIS, f);
            return;
        }
        count++;
        if (!(n = utf8_next(p, &cp))) {
            fputs(REPLACEMENT, f);
            p++;
            continue;
        }
        if (cp == '&')
            fputs("&amp;", f);
        else if (cp == '<')
            fputs("&lt;", f);
        else if (cp == '>')
            fputs("&gt;", f);
        else if (cp == '"')
            fputs("&quot;", f);
        else if (cp == '\'')
            fputs("&#39;", f);
        else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
            fputc(' ', f);
        else if (is_direction_control(cp))
            fputs(REPLACEMENT, f);
        else
            fwrite(p, 1, n, f);
        p += n;
    }
}

static void
put_text(FILE *f, const char *s)
{
    put_text_max(f, s, 0);
}

/* A string member, "" if absent or not a string. */
static const char *
str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s ? s : "";
}

/* How much of a time is shown. */
typedef enum {
    SHOW_ALL,    /* 2026-11-25 19:40:31 */
    SHOW_SECOND, /* 19:40:31 */
    SHOW_MINUTE, /* 11-25 19:40 */
    SHOW_DAY,    /* 2026-11-25 */
} time_shown;

/* t in UTC, as much as what says. */
static const char *
format_time(char buf[40], time_t t, time_shown what)
{
    struct tm tm;
    size_t n = 0;

    if (gmtime_r(&t, &tm)) {
        switch (what) {
        case SHOW_ALL:
            n = strftime(buf, 40, "%Y-%m-%d %H:%M:%S", &tm);
            break;
        case SHOW_SECOND:
            n = strftime(buf, 40, "%H:%M:%S", &tm);
            break;
        case SHOW_MINUTE:
            n = strftime(buf, 40, "%m-%d %H:%M", &tm);
            break;
        case SHOW_DAY:
            n = strftime(buf, 40, "%Y-%m-%d", &tm);
            break;
        }
    }
    if (n == 0)
        snprintf(buf, 40, "?");
    return buf;
}

/* A line's time for people, "2026-11-25 19:40:31"; its text when it is
 * not a time. */
static void
put_line_time(FILE *f, const line_info *li, json_t *line)
{
    char buf[40];

    if (li->timed) {
        fputs(format_time(buf, li->t, SHOW_ALL), f);
    } else {
        fputs("unreadable time &quot;", f);
        put_text_max(f, str(line, "time"), 30);
        fputs("&quot;", f);
    }
}

/* The kind table's entry of a line, or -1. */
static int
kind_of(json_t *line)
{
    const char *kind = str(line, "kind");
    const char *type = strcmp(kind, "event") == 0 ? str(line, "type") : kind;

    for (size_t i = 0; i < N_KINDS; i++)
        if (strcmp(kinds[i].type, type) == 0)
            return (int)i;
    return -1;
}

static const char *
letter_of(json_t *line)
{
    int k = kind_of(line);

    return k < 0 ? "?" : kinds[k].letter;
}

/* What a line says happened: its summary, or what its kind means. */
static void
put_what(FILE *f, json_t *line)
{
    const char *summary = str(line, "summary");
    int k = kind_of(line);

    if (summary[0])
        put_text(f, summary);
    else if (k >= 0)
        fputs(kinds[k].meaning, f);
    else
        put_text_max(f, str(line, "kind")[0] ? str(line, "kind") : "something unknown", 60);
}

/* The actor's fingerprint, "" when the line has none. */
static const char *
actor_fpr(json_t *line)
{
    return str(json_object_get(line, "who"), "fingerprint");
}

/* The actor's name, with max characters at most (0: all). */
static void
put_actor_name(FILE *f, json_t *line, size_t max)
{
    json_t *who = json_object_get(line, "who");
    const char *name = str(who, "name");

    if (!json_is_object(who))
        fputs("no known node", f);
    else if (!name[0])
        fputs("an unknown node", f);
    else
        put_text_max(f, name, max);
}

/* The actor's standing at the line's time, in words. */
static void
put_standing(FILE *f, json_t *line)
{
    const char *standing = str(line, "standing"), *role = str(line, "role");

    if (strcmp(standing, "owner") == 0)
        fputs("owner (the patient)", f);
    else if (strcmp(standing, "member") == 0)
        put_text_max(f, role[0] ? role : "member", 30);
    else if (strcmp(standing, "revoked") == 0)
        fputs("access removed", f);
    else if (strcmp(standing, "none") == 0)
        fputs("not a member", f);
    else
        put_text_max(f, standing[0] ? standing : "standing unknown", 30);
}

/* The first digits (16 at most) of a fingerprint in groups of four. */
static void
put_fpr_short(FILE *f, const char *fpr, size_t digits)
{
    char buf[24];
    size_t i, j = 0;

    if (!mrx_text_is_fpr(fpr)) {
        put_text_max(f, fpr[0] ? fpr : "no fingerprint", digits + 4);
        return;
    }
    for (i = 0; i < digits && i < 16; i++) {
        if (i && i % 4 == 0)
            buf[j++] = ' ';
        buf[j++] = fpr[i];
    }
    buf[j] = '\0';
    fputs(buf, f);
}

/* A bundle's kind, size and readers: "photos, 2.5 MB, 2 readers". */
static void
put_bundle(FILE *f, json_t *bundle)
{
    char size[32];
    json_t *bytes = json_object_get(bundle, "size"), *readers = json_object_get(bundle, "readers");
    const char *kind = str(bundle, "kind");

    if (!json_is_object(bundle))
        return;
    put_text_max(f, kind[0] ? kind : "kind unknown", 40);
    if (json_is_integer(bytes) && json_integer_value(bytes) >= 0)
        fprintf(f, ", %s",
                mrx_text_human_size(size, (unsigned long long)json_integer_value(bytes)));
    if (json_is_integer(readers))
        fprintf(f, ", %lld reader%s", (long long)json_integer_value(readers),
                json_integer_value(readers) == 1 ? "" : "s");
    if (str(bundle, "id")[0]) {
        fputs("<br><small>bundle <code>", f);
        put_text_max(f, str(bundle, "id"), 13);
        fputs("</code></small>", f);
    }
}

/* Floor of a / b for b > 0. */
static long long
floor_div(long long a, long long b)
{
    return a / b - (a % b != 0 && a < 0);
}

/* Read the lines' times, count the flagged ones, set the time axis. */
static void
read_lines(page *pg)
{
    long long span, margin;
    size_t i;
    int any = 0;

    for (i = 0; i < pg->n; i++) {
        json_t *line = json_array_get(pg->lines, i);
        line_info *li = &pg->info[i];

        li->ok = json_is_true(json_object_get(line, "verified"));
        if (!li->ok)
            pg->flagged++;
        li->timed = mrx_text_parse_time(&li->t, str(line, "time")) == 0;
        if (!li->timed)
            continue;
        if (!any || li->t < pg->t0)
            pg->t0 = li->t;
        if (!any || li->t > pg->t1)
            pg->t1 = li->t;
        any = 1;
    }
    if (!any && mrx_text_parse_time(&pg->t0, str(pg->audit, "at")) == 0)
        pg->t1 = pg->t0;
    else if (!any)
        pg->t0 = pg->t1 = 0;
    /* 20 seconds at least, and a little room at either end */
    span = (long long)pg->t1 - pg->t0;
    if (span < 20) {
        pg->t0 -= (time_t)((20 - span) / 2 + 1);
        pg->t1 += (time_t)((20 - span) / 2 + 1);
        span = (long long)pg->t1 - pg->t0;
    }
    margin = span / 30 + 1;
    pg->t0 -= (time_t)margin;
    pg->t1 += (time_t)margin;
}

/* Give each line a lane: one per actor in order of appearance, except
 * that past AUDIT_HTML_MAX_LANES actors the last lane holds the rest. */
static void
plan_lanes(page *pg)
{
    const char *seen[AUDIT_HTML_MAX_LANES + 1];
    size_t distinct = 0, own, i, l;

    for (i = 0; i < pg->n && distinct <= AUDIT_HTML_MAX_LANES; i++) {
        const char *fpr = actor_fpr(json_array_get(pg->lines, i));
        for (l = 0; l < distinct && strcmp(seen[l], fpr) != 0; l++)
            ;
        if (l == distinct)
            seen[distinct++] = fpr;
    }
    pg->others = distinct > AUDIT_HTML_MAX_LANES;
    own = pg->others ? AUDIT_HTML_MAX_LANES - 1 : distinct;
    for (i = 0; i < pg->n; i++) {
        json_t *line = json_array_get(pg->lines, i);
        const char *fpr = actor_fpr(line);
        lane *ln;

        for (l = 0; l < pg->n_lanes && l < own && strcmp(pg->lanes[l].fpr, fpr) != 0; l++)
            ;
        if (l == pg->n_lanes) {
            pg->lanes[l].fpr = fpr;
            pg->lanes[l].first = line;
            pg->n_lanes++;
        }
        ln = &pg->lanes[l];
        ln->last = line;
        ln->lines++;
        ln->flagged += !pg->info[i].ok;
        pg->info[i].lane = l;
    }
}

/* "3 lines, 1 flagged" */
static void
put_lane_counts(FILE *f, const lane *ln)
{
    fprintf(f, "%zu line%s", ln->lines, ln->lines == 1 ? "" : "s");
    if (ln->flagged)
        fprintf(f, ", %zu flagged", ln->flagged);
}

/* The x of time t on the axis. */
static double
x_of(const page *pg, time_t t)
{
    return PLOT_LEFT + (double)((long long)t - pg->t0) * (PLOT_RIGHT - PLOT_LEFT) /
                           (double)((long long)pg->t1 - pg->t0);
}

/* Place every mark: at its time in its lane; marks close together in a
 * lane (the same time, say) are spread up and down so each shows. */
static void
place_marks(page *pg)
{
    static const double spread[] = {0, -8, 8, -16, 16};

    for (size_t i = 0; i < pg->n; i++) {
        line_info *li = &pg->info[i];
        lane *ln = &pg->lanes[li->lane];

        li->x = li->timed ? x_of(pg, li->t) : PLOT_LEFT;
        if (ln->placed && li->x - ln->last_x < CLOSE_PIXELS && ln->last_x - li->x < CLOSE_PIXELS)
            ln->run++;
        else
            ln->run = 0;
        ln->placed = 1;
        ln->last_x = li->x;
        li->y = LANE_TOP + (double)li->lane * LANE_HEIGHT + LANE_HEIGHT / 2.0 +
                spread[ln->run % (sizeof spread / sizeof spread[0])];
    }
}

/* The shape of a mark (centred on 0,0): a circle when verified, a
 * diamond when flagged, so that the difference is not colour alone. */
static void
put_shape(FILE *f, int ok, const char *letter)
{
    if (ok)
        fprintf(f, "<circle r=\"9\"/><text y=\"4\">%s</text>", letter);
    else
        fprintf(f, "<path d=\"M0 -13L13 0L0 13L-13 0Z\"/><text y=\"4\">%s</text>", letter);
}

static void
put_mark(page *pg, size_t i)
{
    json_t *line = json_array_get(pg->lines, i);
    const line_info *li = &pg->info[i];
    FILE *f = pg->f;

    fprintf(f,
            "<g class=\"mark\" data-mark=\"%zu\" data-verified=\"%s\" transform=\"translate(%.1f "
            "%.1f)\">",
            i + 1, li->ok ? "true" : "false", li->x, li->y);
    fprintf(f, "<title>#%zu, ", i + 1);
    put_line_time(f, li, line);
    fputs(" UTC\n", f);
    put_actor_name(f, line, 0);
    fputs(" (", f);
    put_standing(f, line);
    fputs(")\n", f);
    put_what(f, line);
    if (li->ok) {
        fputs("\nverified", f);
    } else {
        fputs("\nFLAGGED: ", f);
        put_text(f, str(line, "problem")[0] ? str(line, "problem") : "no reason given");
    }
    fputs("</title>", f);
    put_shape(f, li->ok, letter_of(line));
    fputs("</g>\n", f);
}

/* The step between ticks (seconds) for at most MAX_TICKS ticks, and how
 * much of their time their labels show. */
static long long
tick_step(long long span, time_shown *shown)
{
    static const long long steps[] = {1,       2,       5,        10,      15,     30,     60,
                                      120,     300,     600,      900,     1800,   3600,   7200,
                                      10800,   21600,   43200,    86400,   172800, 604800, 1209600,
                                      2592000, 7862400, 15724800, 31536000};
    long long step = 0;

    for (size_t i = 0; i < sizeof steps / sizeof steps[0] && !step; i++)
        if (span / steps[i] < MAX_TICKS)
            step = steps[i];
    if (!step)
        step = (span / MAX_TICKS / 31536000 + 1) * 31536000;
    *shown = step < 60 ? SHOW_SECOND : step < 86400 ? SHOW_MINUTE : SHOW_DAY;
    return step;
}

static void
put_timeline(page *pg)
{
    int axis_y = LANE_TOP + (int)pg->n_lanes * LANE_HEIGHT, height = axis_y + AXIS_SPACE;
    long long step, tick;
    time_shown shown;
    char label[40];
    FILE *f = pg->f;
    size_t l, i;

    fprintf(f,
            "<div class=\"scroll\"><svg class=\"timeline\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"timeline of %zu lines in %zu "
            "lanes\">\n",
            SVG_WIDTH, height, SVG_WIDTH, height, pg->n, pg->n_lanes);
    /* lanes and their labels; the plot area covers a label too long */
    for (l = 0; l < pg->n_lanes; l++) {
        const lane *ln = &pg->lanes[l];
        int y = LANE_TOP + (int)l * LANE_HEIGHT;

        fprintf(f,
                "<g class=\"lane\"><rect class=\"band%s\" x=\"0\" y=\"%d\" width=\"%d\" "
                "height=\"%d\"/>",
                l % 2 ? " odd" : "", y, SVG_WIDTH, LANE_HEIGHT);
        if (pg->others && l == pg->n_lanes - 1) {
            fprintf(f, "<title>every node after the first %d" MIDDOT, AUDIT_HTML_MAX_LANES - 1);
            put_lane_counts(f, ln);
            fprintf(f, "</title><text class=\"name\" x=\"10\" y=\"%d\">Other nodes</text>", y + 20);
            fprintf(f, "<text class=\"detail\" x=\"10\" y=\"%d\">more than %d took part", y + 38,
                    AUDIT_HTML_MAX_LANES);
        } else {
            fputs("<title>", f);
            put_actor_name(f, ln->first, 0);
            fputs(MIDDOT, f);
            put_standing(f, ln->last);
            fputs(MIDDOT, f);
            put_text(f, ln->fpr[0] ? ln->fpr : "no fingerprint");
            fputs(MIDDOT, f);
            put_lane_counts(f, ln);
            fputs("</title>", f);
            fprintf(f, "<text class=\"name\" x=\"10\" y=\"%d\">", y + 20);
            put_actor_name(f, ln->first, NAME_CHARS);
            fprintf(f, "</text><text class=\"detail\" x=\"10\" y=\"%d\">", y + 38);
            put_standing(f, ln->last);
            fputs(MIDDOT, f);
            put_fpr_short(f, ln->fpr, 8);
        }
        fputs("</text></g>\n", f);
    }
    fprintf(f, "<rect class=\"plot\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n", LABEL_RIGHT,
            LANE_TOP, SVG_WIDTH - LABEL_RIGHT, axis_y - LANE_TOP);
    for (l = 1; l < pg->n_lanes; l++)
        fprintf(f, "<line class=\"sep\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", LABEL_RIGHT,
                LANE_TOP + (int)l * LANE_HEIGHT, SVG_WIDTH, LANE_TOP + (int)l * LANE_HEIGHT);
    /* the time axis, its ticks and grid */
    step = tick_step((long long)pg->t1 - pg->t0, &shown);
    for (tick = (floor_div(pg->t0, step) + 1) * step; tick < pg->t1; tick += step) {
        double x = x_of(pg, (time_t)tick);
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x,
                LANE_TOP, x, axis_y + 5);
        fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%d\">%s</text>\n", x, axis_y + 20,
                format_time(label, (time_t)tick, shown));
    }
    fprintf(f, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", LABEL_RIGHT,
            axis_y, SVG_WIDTH, axis_y);
    fprintf(f, "<text class=\"axis-name\" x=\"%d\" y=\"%d\">time (UTC) \xe2\x86\x92</text>\n",
            SVG_WIDTH - 10, axis_y + 40);
    /* the marks, the flagged ones last so that none hides them */
    for (i = 0; i < pg->n; i++)
        if (pg->info[i].ok)
            put_mark(pg, i);
    for (i = 0; i < pg->n; i++)
        if (!pg->info[i].ok)
            put_mark(pg, i);
    fputs("</svg></div>\n", f);
}

/* A mark's shape as a small picture, for the legend. */
static void
put_key(FILE *f, int ok, const char *letter)
{
    fputs("<svg class=\"key\" width=\"28\" height=\"28\" viewBox=\"-14 -14 28 28\" "
          "aria-hidden=\"true\">",
          f);
    put_shape(f, ok, letter);
    fputs("</svg>", f);
}

static void
put_legend(page *pg)
{
    FILE *f = pg->f;

    fputs("<div class=\"legend\"><span>", f);
    put_key(f, 1, "");
    fputs("verified: signed, and allowed at that time</span><span>", f);
    put_key(f, 0, "!");
    fputs("flagged: does not add up (red diamond)</span>\n", f);
    for (size_t i = 0; i < N_KINDS; i++)
        fprintf(f, "<span><span class=\"badge\">%s</span>%s</span>\n", kinds[i].letter,
                kinds[i].meaning);
    fputs("</div>\n", f);
}

static void
put_header(page *pg)
{
    json_t *a = pg->audit;
    const char *title = str(a, "title");
    char at[40];
    time_t t;
    FILE *f = pg->f;

    fputs("<header>\n<h1>Who accessed your case", f);
    if (title[0]) {
        fputs(": ", f);
        put_text(f, title);
    }
    fputs("</h1>\n<dl class=\"facts\">\n<dt>Case</dt><dd>", f);
    put_text(f, title[0] ? title : "(no title)");
    fputs(" <code>", f);
    put_text_max(f, str(a, "case"), 70);
    fputs("</code></dd>\n<dt>Owner</dt><dd>", f);
    put_text(f, str(a, "owner_name")[0] ? str(a, "owner_name") : "unknown");
    fputs(" <code>", f);
    put_fpr_short(f, str(a, "owner"), 16);
    fputs("</code></dd>\n<dt>Audit made</dt><dd>", f);
    if (mrx_text_parse_time(&t, str(a, "at")) == 0)
        fprintf(f, "%s UTC", format_time(at, t, SHOW_ALL));
    else
        put_text_max(f, str(a, "at")[0] ? str(a, "at") : "unknown", 30);
    fputs(", from what this node holds</dd>\n</dl>\n", f);

    if (pg->n == 0)
        fputs("<p class=\"verdict none\" id=\"verdict\">Nothing to show: the audit has no "
              "lines</p>\n",
              f);
    else if (pg->flagged == 0 && pg->n == 1)
        fputs("<p class=\"verdict ok\" id=\"verdict\">\xe2\x9c\x93 The 1 event is verified</p>\n",
              f);
    else if (pg->flagged == 0)
        fprintf(f,
                "<p class=\"verdict ok\" id=\"verdict\">\xe2\x9c\x93 All %zu events verified</p>\n",
                pg->n);
    else
        fprintf(f,
                "<p class=\"verdict bad\" id=\"verdict\">\xe2\x9c\x97 %zu of %zu line%s "
                "flagged " EM_DASH " see the red mark%s</p>\n",
                pg->flagged, pg->n, pg->n == 1 ? "" : "s", pg->flagged == 1 ? "" : "s");
    fputs("<p>Each line below is something a node of your case signed: access granted or "
          "removed, your records added, sent, received or opened. <b>Verified</b> means the "
          "signature is good and the node was allowed to do it at that time. <b>Flagged</b> "
          "means the signed records do not add up there; the reason is given. It may be a "
          "report that has not arrived yet, or a node that did not tell the truth.</p>\n",
          f);
    if (pg->flagged) {
        size_t listed = 0;
        fputs("<ul class=\"flagged-list\">\n", f);
        for (size_t i = 0; i < pg->n && listed < FLAGGED_LISTED; i++) {
            json_t *line = json_array_get(pg->lines, i);
            if (pg->info[i].ok)
                continue;
            listed++;
            fprintf(f, "<li>line %zu, ", i + 1);
            put_line_time(f, &pg->info[i], line);
            fputs(": <b>", f);
            put_actor_name(f, line, 60);
            fputs("</b> ", f);
            put_what(f, line);
            fputs(" " EM_DASH " ", f);
            put_text(f, str(line, "problem")[0] ? str(line, "problem") : "no reason given");
            fputs("</li>\n", f);
        }
        fputs("</ul>\n", f);
        if (pg->flagged > listed)
            fprintf(f, "<p>and %zu more flagged lines in the table below.</p>\n",
                    pg->flagged - listed);
    }
    put_legend(pg);
    fputs("</header>\n", f);
}

static void
put_row(page *pg, size_t i)
{
    json_t *line = json_array_get(pg->lines, i), *flags = json_object_get(line, "flags"), *flag;
    const line_info *li = &pg->info[i];
    FILE *f = pg->f;
    size_t j;

    fprintf(f, "<tr data-line=\"%zu\" data-verified=\"%s\" class=\"%s\"><td class=\"n\">%zu</td>",
            i + 1, li->ok ? "true" : "false", li->ok ? "good" : "bad", i + 1);
    fputs("<td class=\"t\">", f);
    put_line_time(f, li, line);
    fprintf(f, "</td><td class=\"st\">%s</td><td>",
            li->ok ? "\xe2\x9c\x93 verified" : "\xe2\x9c\x97 FLAGGED");
    put_actor_name(f, line, 0);
    fputs("<br><small>", f);
    put_standing(f, line);
    fputs(MIDDOT "<code>", f);
    put_fpr_short(f, actor_fpr(line), 16);
    fprintf(f, "</code></small></td><td><span class=\"badge\">%s</span>", letter_of(line));
    put_what(f, line);
    fputs("</td><td>", f);
    if (!li->ok) {
        put_text(f, str(line, "problem")[0] ? str(line, "problem") : "no reason given");
        if (json_array_size(flags)) {
            fputs("<br><small>", f);
            json_array_foreach(flags, j, flag)
            {
                if (j)
                    fputs(", ", f);
                put_text_max(f, json_string_value(flag), 40);
            }
            fputs("</small>", f);
        }
    }
    fputs("</td><td>", f);
    put_bundle(f, json_object_get(line, "bundle"));
    fputs("</td></tr>\n", f);
}

static void
put_table(page *pg)
{
    FILE *f = pg->f;

    fputs("<table class=\"lines\">\n<thead><tr><th>#</th><th>Time (UTC)</th><th>Checked</th>"
          "<th>Who</th><th>What happened</th><th>Problem</th><th>Records</th></tr></thead>\n"
          "<tbody>\n",
          f);
    for (size_t i = 0; i < pg->n; i++)
        put_row(pg, i);
    fputs("</tbody>\n</table>\n", f);
}

int
audit_html_render(char **out, size_t *out_len, json_t *audit)
{
    page pg;
    char *buf = NULL;
    size_t len = 0;
    int rc = 0;

    *out = NULL;
    *out_len = 0;
    memset(&pg, 0, sizeof pg);
    pg.audit = audit;
    pg.lines =
        json_is_array(json_object_get(audit, "lines")) ? json_object_get(audit, "lines") : NULL;
    pg.n = json_array_size(pg.lines);
    if (!(pg.info = calloc(pg.n ? pg.n : 1, sizeof *pg.info)) ||
        !(pg.f = open_memstream(&buf, &len))) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto out;
    }
    read_lines(&pg);
    plan_lanes(&pg);
    place_marks(&pg);

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          /* nothing may load or run, should anything slip through */
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'\">\n"
          "<meta name=\"referrer\" content=\"no-referrer\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>Audit of case ",
          pg.f);
    put_text(pg.f, str(audit, "title")[0] ? str(audit, "title") : str(audit, "case"));
    fprintf(pg.f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", style);
    put_header(&pg);
    fputs("<section>\n<h2>Timeline</h2>\n", pg.f);
    if (pg.n == 0)
        fputs("<p>Nothing happened in this case that this node knows of.</p>\n", pg.f);
    else
        put_timeline(&pg);
    fputs("<p><small>One lane per node, one mark per line. Point at a mark to read what it "
          "is.</small></p>\n</section>\n<section>\n<h2>Every line, in time order</h2>\n",
          pg.f);
    put_table(&pg);
    fputs("</section>\n<footer>Made by <code>mrx audit --html</code>. This page is complete "
          "in itself: it loads nothing and runs no script.</footer>\n</body>\n</html>\n",
          pg.f);
    if (ferror(pg.f))
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
    if (fclose(pg.f) != 0 && rc == 0)
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
    pg.f = NULL;
    if (rc == 0) {
        *out = buf;
        *out_len = len;
        buf = NULL;
    }
out:
    if (pg.f)
        fclose(pg.f);
    free(buf);
    free(pg.info);
    return rc;
}

int
audit_html_write(const char *path, json_t *audit)
{
    struct stat st;
    char *dir = NULL, *html = NULL;
    size_t len;
    int rc;

    if (!path[0])
        return mrx_error_set(MRX_EINVAL, "the page's file name is empty");
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return mrx_error_set(MRX_EEXIST, "%s: exists and is not a regular file, not replaced",
                             path);
    if (!(dir = mrx_fs_dirname(path)))
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    if (stat(dir, &st) != 0)
        rc = errno == ENOENT || errno == ENOTDIR
                 ? mrx_error_set(MRX_ENOTFOUND, "%s: no such folder %s", path, dir)
                 : mrx_error_set(MRX_EIO, "%s: %s: %s", path, dir, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        rc = mrx_error_set(MRX_ENOTFOUND, "%s: %s is not a folder", path, dir);
    else if ((rc = audit_html_render(&html, &len, audit)) == 0)
        rc = mrx_fs_write_atomic(path, html, len, PAGE_MODE);
    free(html);
    free(dir);
    return rc;
}
