/*
 * test_manifest: proto/mrx_manifest.c, MANIFEST building and strict parsing.
 */
#include "testlib.h"
#include "mrx_error.h"
#include "mrx_manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTHOR "74AAAFBC4C8A50BC32ABE868601288EF3F0522AB"
#define HASH_A "3dd31e5cc835b3f2cdd46c9da1982f59251e78518fefa8163d914631c66437d6"
#define HASH_B "c14c7f0c6e25bd4dfbb822fe264e540fc7142bf1c9d15d4c652ec8f5f97fa9e8"

static const char good[] = "# mrx-bundle: 1\n"
                           "# kind: imaging\n"
                           "# author: " AUTHOR "\n"
                           "# created: 2026-11-25T17:00:49Z\n"
                           "# files: 2\n"
                           "# bytes: 2138194\n"
                           "# size: 39206\n" HASH_A "  imaging/CT_small.dcm\n"
                           "# size: 2098988\n" HASH_B "  imaging/mr/MR2_UNCR.dcm\n";

static int
parse_text(const char *text)
{
    mrx_manifest *m = NULL;
    int rc = mrx_manifest_parse(&m, text, strlen(text));

    mrx_manifest_destroy(&m);
    return rc;
}

/* good, with one substring replaced */
static int
parse_variant(const char *from, const char *to)
{
    char buf[4096];
    const char *at = strstr(good, from);
    int rc;

    assert_non_null(at);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
    rc = parse_text(buf);
    return rc;
}

static void
manifest_format_then_parse_round_trips(void **state)
{
    mrx_manifest *m = NULL, *back = NULL;
    char *text = NULL;
    size_t len = 0;

    (void)state;
    assert_int_equal(mrx_manifest_new(&m, MRX_KIND_IMAGING, AUTHOR, 1795000000), 0);
    assert_int_equal(mrx_manifest_add(m, "imaging/CT_small.dcm", 39206, HASH_A), 0);
    assert_int_equal(mrx_manifest_add(m, "imaging/mr/MR2_UNCR.dcm", 2098988, HASH_B), 0);
    assert_int_equal(mrx_manifest_format(m, &text, &len), 0);
    assert_int_equal(mrx_manifest_parse(&back, text, len), 0);
    assert_int_equal(mrx_manifest_count(back), 2);
    assert_int_equal(mrx_manifest_total(back), 39206 + 2098988);
    assert_int_equal(mrx_manifest_kind(back), MRX_KIND_IMAGING);
    assert_string_equal(mrx_manifest_author(back), AUTHOR);
    assert_int_equal(mrx_manifest_created(back), 1795000000);
    assert_int_equal(mrx_manifest_find(back, "imaging/mr/MR2_UNCR.dcm"), 1);
    assert_int_equal(mrx_manifest_find(back, "imaging/nope"), -1);
    assert_true(mrx_manifest_has_dir(back, "imaging/mr"));
    assert_true(mrx_manifest_has_dir(back, "imaging"));
    assert_false(mrx_manifest_has_dir(back, "imaging/m"));
    assert_false(mrx_manifest_has_dir(back, "imaging/mr/MR2_UNCR.dcm"));
    free(text);
    mrx_manifest_destroy(&m);
    mrx_manifest_destroy(&back);
}

static void
manifest_parse_accepts_the_documented_example(void **state)
{
    (void)state;
    assert_int_equal(parse_text(good), 0);
}

static void
manifest_parse_rejects_malformed_headers(void **state)
{
    (void)state;
    assert_int_equal(parse_variant("# mrx-bundle: 1", "# mrx-bundle: 2"), MRX_EFORMAT);
    assert_int_equal(parse_variant("# kind: imaging", "# kind: x-ray"), MRX_EFORMAT);
    assert_int_equal(parse_variant("# author: 74AA", "# author: 74aa"), MRX_EFORMAT);
    assert_int_equal(parse_variant("2026-11-25T17:00:49Z", "yesterday"), MRX_EFORMAT);
    assert_int_equal(parse_variant("# files: 2", "# files: 3"), MRX_EFORMAT);
    assert_int_equal(parse_variant("# bytes: 2138194", "# bytes: 2138195"), MRX_EFORMAT);
    assert_int_equal(parse_variant("# files: 2\n", ""), MRX_EFORMAT);
    assert_int_equal(parse_variant("# files: 2", "# files: 100001"), MRX_ELIMIT);
}

static void
manifest_parse_rejects_bad_entries(void **state)
{
    (void)state;
    /* a missing size line, an uppercase hash, one space, no newline at the end */
    assert_int_equal(parse_variant("# size: 39206\n", ""), MRX_EFORMAT);
    assert_int_equal(parse_variant("3dd31e5c", "3DD31E5C"), MRX_EFORMAT);
    assert_int_equal(parse_variant(HASH_A "  ", HASH_A " "), MRX_EFORMAT);
    assert_int_equal(parse_variant("MR2_UNCR.dcm\n", "MR2_UNCR.dcm"), MRX_EFORMAT);
    assert_int_equal(parse_variant("# size: 39206", "# size: -1"), MRX_EFORMAT);
}

static void
manifest_parse_rejects_path_traversal(void **state)
{
    (void)state;
    assert_int_equal(parse_variant("imaging/CT_small.dcm", "/etc/passwd"), MRX_EFORMAT);
    assert_int_equal(parse_variant("imaging/CT_small.dcm", "imaging/../../x"), MRX_EFORMAT);
    assert_int_equal(parse_variant("imaging/CT_small.dcm", "imaging/./x"), MRX_EFORMAT);
    assert_int_equal(parse_variant("imaging/CT_small.dcm", "imaging//x"), MRX_EFORMAT);
    assert_int_equal(parse_variant("imaging/CT_small.dcm", "imaging/a\\b"), MRX_EFORMAT);
    assert_int_equal(parse_variant("imaging/CT_small.dcm", "records/CT_small.dcm"), MRX_EFORMAT);
    assert_int_equal(parse_variant("imaging/CT_small.dcm", "imaging/"), MRX_EFORMAT);
    assert_int_equal(parse_variant("imaging/CT_small.dcm", "imaging/a\x01"), MRX_EFORMAT);
}

static void
manifest_parse_rejects_duplicates_and_nul(void **state)
{
    char buf[4096];

    (void)state;
    assert_int_equal(parse_variant("imaging/mr/MR2_UNCR.dcm", "imaging/CT_small.dcm"),
                     MRX_EFORMAT);
    memcpy(buf, good, sizeof good);
    buf[20] = '\0';
    {
        mrx_manifest *m = NULL;
        assert_int_equal(mrx_manifest_parse(&m, buf, sizeof good - 1), MRX_EFORMAT);
        assert_null(m);
    }
}

static void
manifest_format_refuses_a_path_twice(void **state)
{
    mrx_manifest *m = NULL;
    char *text = NULL;

    (void)state;
    assert_int_equal(mrx_manifest_new(&m, MRX_KIND_PHOTOS, AUTHOR, 1), 0);
    assert_int_equal(mrx_manifest_add(m, "photos/a.jpg", 1, HASH_A), 0);
    assert_int_equal(mrx_manifest_add(m, "photos/a.jpg", 2, HASH_B), 0);
    assert_int_equal(mrx_manifest_format(m, &text, NULL), MRX_EINVAL);
    assert_null(text);
    assert_non_null(strstr(mrx_error_last(), "photos/a.jpg"));
    assert_int_equal(mrx_manifest_add(m, "imaging/a.jpg", 1, HASH_A), MRX_EINVAL);
    mrx_manifest_destroy(&m);
    mrx_manifest_destroy(&m);
}

static void
path_rules(void **state)
{
    char long_component[300];

    (void)state;
    assert_true(mrx_path_valid("photos/before surgery/left side.jpg"));
    assert_true(mrx_path_valid("photos/Ästhetik.jpg"));
    assert_false(mrx_path_valid(""));
    assert_false(mrx_path_valid("a/"));
    assert_false(mrx_path_valid("/a"));
    assert_false(mrx_path_valid("a/../b"));
    assert_false(mrx_path_valid(".."));
    assert_false(mrx_path_valid("a/\n/b"));
    memset(long_component, 'x', 256);
    long_component[256] = '\0';
    assert_false(mrx_path_valid(long_component));
    long_component[255] = '\0';
    assert_true(mrx_path_valid(long_component));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(manifest_format_then_parse_round_trips),
        cmocka_unit_test(manifest_parse_accepts_the_documented_example),
        cmocka_unit_test(manifest_parse_rejects_malformed_headers),
        cmocka_unit_test(manifest_parse_rejects_bad_entries),
        cmocka_unit_test(manifest_parse_rejects_path_traversal),
        cmocka_unit_test(manifest_parse_rejects_duplicates_and_nul),
        cmocka_unit_test(manifest_format_refuses_a_path_twice),
        cmocka_unit_test(path_rules),
    };
    return T_RUN(tests);
}
