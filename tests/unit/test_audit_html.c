/*
 * test_audit_html: client/audit_html.c, the audit as a page, fed audits
 * made by hand in the shape of the control request's result: every
 * string hostile markup, no lines, a few, thousands, too many actors,
 * times that are not times. The page itself is checked by a browser in
 * tests/integration/t_audit.sh.
 */
#include "testlib.h"
#include "audit_html.h"
#include "mrx_error.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FPR_A "D02EBE2D54290EF22EF5316E0C06D932DCA6B173"
#define FPR_B "D4ED0D3CCEECE4125BE8F116F8738659EC885CC9"
#define RLO "\xe2\x80\xae"         /* U+202E, right-to-left override */
#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* How often needle occurs in haystack. */
static size_t
count(const char *haystack, const char *needle)
{
    size_t n = 0;

    for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* An audit with no lines yet. */
static json_t *
audit_new(const char *title, const char *owner_name)
{
    json_t *a = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:[]}", "case",
                          "56c50f5123c90b15953a3960d277f288d77fafe4ae5fa3a37082b0704d59c848",
                          "title", title, "owner", FPR_A, "owner_name", owner_name, "at",
                          "2026-11-26T09:12:44Z", "report_interval", 86400, "lines");

    assert_non_null(a);
    return a;
}

/* Append a line: an event of type by the actor fpr/name at when. */
static json_t *
add_line(json_t *a, const char *when, const char *fpr, const char *name, const char *type,
         int verified, const char *summary, const char *problem)
{
    json_t *line = json_pack("{s:s,s:s,s:b,s:[],s:{s:s,s:s},s:s,s:s,s:s,s:i,s:s}", "time", when,
                             "kind", "event", "verified", verified, "flags", "who", "fingerprint",
                             fpr, "name", name, "standing", "member", "role", "reviewer", "type",
                             type, "seq", 1, "summary", summary);

    assert_non_null(line);
    if (!verified) {
        json_object_set_new(line, "problem", json_string(problem));
        json_array_append_new(json_object_get(line, "flags"), json_string("served-not-fetched"));
    }
    assert_int_equal(json_array_append_new(json_object_get(a, "lines"), line), 0);
    return line;
}

/* The page of a; the caller frees it. */
static char *
render(json_t *a)
{
    char *html = NULL;
    size_t len = 0;

    assert_int_equal(audit_html_render(&html, &len, a), 0);
    assert_non_null(html);
    assert_int_equal(strlen(html), len);
    assert_non_null(strstr(html, "<!DOCTYPE html>"));
    assert_non_null(strstr(html, "</html>\n"));
    return html;
}

/* Nothing that loads or runs: no script, no URL, no external reference. */
static void
assert_self_contained(const char *html)
{
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "http://"));
    assert_null(strstr(html, "https://"));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, "<img"));
    assert_null(strstr(html, "@import"));
    assert_null(strstr(html, "url("));
    assert_null(strstr(html, " src=\""));
    assert_null(strstr(html, " href=\""));
    assert_non_null(strstr(html, "Content-Security-Policy"));
}

static void
audit_html_escapes_markup_in_every_string(void **state)
{
    json_t *a = audit_new("<script>alert(1)</script>", "\"Mallory\" & 'co' <b>");
    json_t *line;
    char *html;

    (void)state;
    line = add_line(a, "2026-11-25T19:40:31Z", "\"><script>x()</script>",
                    "<img src=x onerror=alert(1)>", "bundle-served", 0,
                    "</title><script>alert(2)</script>", "\"><svg onload=alert(3)>");
    json_object_set_new(line, "bundle",
                        json_pack("{s:s,s:s,s:i,s:i}", "id", "<u>id", "kind", "<i>photos</i>",
                                  "size", 2531101, "readers", 2));
    json_object_set_new(line, "standing", json_string("<s>"));
    json_array_append_new(json_object_get(line, "flags"), json_string("<x>"));
    /* a bell, and a right-to-left override that would turn the words after it */
    add_line(a, "<t>", FPR_B, "Eve\a " RLO "evil", "bundle-opened", 1, "opened 'it'", "");
    html = render(a);

    assert_self_contained(html);
    assert_null(strstr(html, "'co' <b>"));
    assert_null(strstr(html, "<i>photos"));
    assert_null(strstr(html, "<u>"));
    assert_null(strstr(html, "<s>"));
    assert_null(strstr(html, "<x>"));
    assert_null(strstr(html, "<t>"));
    assert_null(strstr(html, "<svg onload"));
    assert_null(strstr(html, "onerror=alert(1)>"));
    assert_null(strstr(html, RLO));
    assert_null(strstr(html, "\a"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(html, "&quot;Mallory&quot; &amp; &#39;co&#39; &lt;b&gt;"));
    assert_non_null(strstr(html, "&lt;img src=x onerror=alert(1)&gt;"));
    assert_non_null(strstr(html, "&lt;/title&gt;&lt;script&gt;alert(2)&lt;/script&gt;"));
    assert_non_null(strstr(html, "&quot;&gt;&lt;svg onload=alert(3)&gt;"));
    assert_non_null(strstr(html, "&lt;i&gt;photos&lt;/i&gt;, 2.5 MB, 2 readers"));
    assert_non_null(strstr(html, "opened &#39;it&#39;"));
    assert_non_null(strstr(html, "Eve  " REPLACEMENT "evil"));
    /* the hostile summary is in the mark's tooltip and the table, escaped
     * in both; a line whose time is not one is still drawn and listed */
    assert_int_equal(count(html, "&lt;/title&gt;&lt;script&gt;alert(2)"), 3);
    assert_int_equal(count(html, "class=\"mark\""), 2);
    assert_int_equal(count(html, "<tr data-line="), 2);
    assert_non_null(strstr(html, "unreadable time &quot;&lt;t&gt;&quot;"));
    free(html);
    json_decref(a);
}

static void
audit_html_with_no_lines_says_so(void **state)
{
    json_t *a = audit_new("", "Pat");
    json_t *empty = json_object();
    char *html;

    (void)state;
    html = render(a);
    assert_self_contained(html);
    assert_non_null(strstr(html, "Nothing to show: the audit has no lines"));
    assert_int_equal(count(html, "class=\"mark\""), 0);
    assert_int_equal(count(html, "<tr data-line="), 0);
    assert_null(strstr(html, "<svg class=\"timeline\""));
    free(html);
    /* not even the members an audit always has */
    html = render(empty);
    assert_self_contained(html);
    assert_non_null(strstr(html, "Nothing to show"));
    free(html);
    json_decref(empty);
    json_decref(a);
}

static void
audit_html_counts_flagged_lines_in_the_verdict(void **state)
{
    json_t *a = audit_new("Rhinoplasty, second opinion", "Maria Lopez (this node)");
    json_t *one = audit_new("one", "Pat");
    json_t *line;
    char *html;

    (void)state;
    add_line(a, "2026-11-25T19:40:31Z", FPR_A, "Maria", "case-created", 1, "created the case", "");
    add_line(a, "2026-11-25T19:41:00Z", FPR_A, "Maria", "member-added", 1, "granted", "");
    add_line(a, "2026-11-25T19:52:10Z", FPR_B, "CareBridge", "bundle-served", 0,
             "served bundle 9ff5d50e8a4e", "its receiver has not reported fetching it");
    add_line(a, "2026-11-25T19:53:00Z", FPR_B, "CareBridge", "bundle-fetched", 1, "fetched", "");
    /* a line that does not say it verified is not verified */
    line =
        add_line(a, "2026-11-25T19:54:00Z", FPR_B, "CareBridge", "bundle-opened", 1, "opened", "");
    json_object_del(line, "verified");
    html = render(a);
    assert_self_contained(html);
    assert_non_null(strstr(html, "2 of 5 lines flagged \xe2\x80\x94 see the red marks"));
    assert_int_equal(count(html, "<tr data-line="), 5);
    assert_int_equal(count(html, "class=\"mark\""), 5);
    assert_int_equal(count(html, "class=\"mark\" data-mark=\"3\" data-verified=\"false\""), 1);
    assert_int_equal(count(html, "data-verified=\"false\""), 4); /* 2 rows, 2 marks */
    assert_int_equal(count(html, "<g class=\"lane\">"), 2);
    assert_non_null(strstr(html, "its receiver has not reported fetching it"));
    assert_non_null(strstr(html, "FLAGGED"));
    free(html);

    /* all verified: the verdict says so */
    json_object_set_new(line, "verified", json_true());
    json_object_set_new(json_array_get(json_object_get(a, "lines"), 2), "verified", json_true());
    html = render(a);
    assert_non_null(strstr(html, "All 5 events verified"));
    assert_int_equal(count(html, "data-verified=\"false\""), 0);
    free(html);

    /* one line */
    add_line(one, "2026-11-25T19:40:31Z", FPR_A, "Pat", "case-created", 0, "created", "bad");
    html = render(one);
    assert_non_null(strstr(html, "1 of 1 line flagged \xe2\x80\x94 see the red mark<"));
    assert_int_equal(count(html, "class=\"mark\""), 1);
    free(html);
    json_decref(one);
    json_decref(a);
}

static void
audit_html_draws_thousands_of_lines_and_caps_the_lanes(void **state)
{
    enum { LINES = 5000, ACTORS = 200 };
    json_t *a = audit_new("many", "Pat");
    char name[1100], fpr[41], when[32], *html;
    size_t len;

    (void)state;
    memset(name, 'N', 1000);
    name[1000] = '\0';
    for (int i = 0; i < LINES; i++) {
        int actor = i % ACTORS;
        snprintf(fpr, sizeof fpr, "%040X", actor);
        name[0] = (char)('A' + actor % 26);
        /* many lines at the very same second, then a year later */
        snprintf(when, sizeof when, "%s",
                 i < LINES / 2 ? "2026-01-01T00:00:00Z" : "2027-01-01T12:00:00Z");
        add_line(a, when, fpr, name, "bundle-opened", i % 7 != 0, "opened", "not a member then");
    }
    html = render(a);
    len = strlen(html);
    assert_self_contained(html);
    assert_int_equal(count(html, "<tr data-line="), LINES);
    assert_int_equal(count(html, "class=\"mark\""), LINES);
    assert_int_equal(count(html, "<g class=\"lane\">"), AUDIT_HTML_MAX_LANES);
    assert_non_null(strstr(html, "Other nodes"));
    assert_non_null(strstr(html, "715 of 5000 lines flagged"));
    /* a long name is cut in its lane, whole in the table */
    assert_non_null(strstr(html, "NNNNNNNN\xe2\x80\xa6</text>"));
    assert_true(len < 16 * 1024 * 1024);
    free(html);
    json_decref(a);
}

static void
audit_html_write_replaces_a_file_but_never_a_link_or_a_folder(void **state)
{
    json_t *a = audit_new("t", "Pat");
    char *dir = t_tempdir(), path[512], link_path[512], target[512], missing[512], *page;
    struct stat st;

    (void)state;
    add_line(a, "2026-11-25T19:40:31Z", FPR_A, "Pat", "case-created", 1, "created", "");
    snprintf(path, sizeof path, "%s/audit.html", dir);
    assert_int_equal(audit_html_write(path, a), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    page = t_read_file(path, NULL);
    assert_non_null(strstr(page, "The 1 event is verified"));
    free(page);
    /* again: the file is replaced, and no temporary file is left */
    add_line(a, "2026-11-25T19:41:31Z", FPR_A, "Pat", "member-added", 1, "granted", "");
    assert_int_equal(audit_html_write(path, a), 0);
    page = t_read_file(path, NULL);
    assert_non_null(strstr(page, "All 2 events verified"));
    free(page);
    assert_int_equal(t_count_entries(dir), 1);

    /* a symbolic link is not followed nor replaced, a folder not touched */
    snprintf(target, sizeof target, "%s/target", dir);
    snprintf(link_path, sizeof link_path, "%s/link.html", dir);
    t_write_file(target, "keep", 4);
    assert_int_equal(symlink(target, link_path), 0);
    assert_int_equal(audit_html_write(link_path, a), MRX_EEXIST);
    assert_non_null(strstr(mrx_error_last(), "not a regular file"));
    page = t_read_file(target, NULL);
    assert_string_equal(page, "keep");
    free(page);
    assert_int_equal(audit_html_write(dir, a), MRX_EEXIST);

    /* a folder that does not exist: nothing is made */
    snprintf(missing, sizeof missing, "%s/no/such/audit.html", dir);
    assert_int_equal(audit_html_write(missing, a), MRX_ENOTFOUND);
    assert_non_null(strstr(mrx_error_last(), "no such folder"));
    snprintf(missing, sizeof missing, "%s/target/audit.html", dir);
    assert_int_equal(audit_html_write(missing, a), MRX_ENOTFOUND);
    assert_int_equal(t_count_entries(dir), 3);
    json_decref(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(audit_html_escapes_markup_in_every_string),
        cmocka_unit_test(audit_html_with_no_lines_says_so),
        cmocka_unit_test(audit_html_counts_flagged_lines_in_the_verdict),
        cmocka_unit_test(audit_html_draws_thousands_of_lines_and_caps_the_lanes),
        cmocka_unit_test(audit_html_write_replaces_a_file_but_never_a_link_or_a_folder),
    };
    return T_RUN(tests);
}
