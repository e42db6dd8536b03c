/*
 * test_text: keys/mrx_text.c, the small strict text checks.
 */
#include "testlib.h"
#include "mrx_error.h"
#include "mrx_text.h"

#include <string.h>

static void
single_line_accepts_utf8_names(void **state)
{
    (void)state;
    assert_true(mrx_text_is_single_line("Clinic Aurora", 64));
    assert_true(mrx_text_is_single_line("Klinik Zürich – Ästhetik", 64));
}

static void
single_line_rejects_control_and_bad_utf8(void **state)
{
    (void)state;
    assert_false(mrx_text_is_single_line("", 64));
    assert_false(mrx_text_is_single_line("two\nlines", 64));
    assert_false(mrx_text_is_single_line("tab\there", 64));
    assert_false(mrx_text_is_single_line(" leading", 64));
    assert_false(mrx_text_is_single_line("trailing ", 64));
    assert_false(mrx_text_is_single_line("bad \xc3\x28 utf8", 64));
    assert_false(mrx_text_is_single_line("overlong \xc0\xaf", 64));
    assert_false(mrx_text_is_single_line("surrogate \xed\xa0\x80", 64));
    assert_false(mrx_text_is_single_line("c1 \xc2\x85 control", 64));
    assert_false(mrx_text_is_single_line("abcdef", 5));
}

static void
fingerprint_is_normalized(void **state)
{
    char out[MRX_FPR_LEN + 1];

    (void)state;
    assert_int_equal(mrx_text_normalize_fpr(out, "f18d 04a2 3e05 10da 8c17  70ca 79ff 84df 9ae2 7ebe"),
                     0);
    assert_string_equal(out, "F18D04A23E0510DA8C1770CA79FF84DF9AE27EBE");
    assert_true(mrx_text_is_fpr(out));
    assert_int_equal(mrx_text_normalize_fpr(out, "F18D04A23E0510DA8C1770CA79FF84DF9AE27EB"),
                     MRX_EINVAL);
    assert_int_equal(mrx_text_normalize_fpr(out, "F18D04A23E0510DA8C1770CA79FF84DF9AE27EBEE"),
                     MRX_EINVAL);
    assert_int_equal(mrx_text_normalize_fpr(out, "G18D04A23E0510DA8C1770CA79FF84DF9AE27EBE"),
                     MRX_EINVAL);
    assert_false(mrx_text_is_fpr("f18d04a23e0510da8c1770ca79ff84df9ae27ebe"));
}

static void
time_round_trips_and_rejects_impossible_dates(void **state)
{
    char buf[MRX_TIME_LEN + 1];
    time_t t;

    (void)state;
    mrx_text_format_time(buf, 1795000000);
    assert_int_equal(mrx_text_parse_time(&t, buf), 0);
    assert_int_equal(t, 1795000000);
    assert_int_equal(mrx_text_parse_time(&t, "2026-02-31T00:00:00Z"), MRX_EINVAL);
    assert_int_equal(mrx_text_parse_time(&t, "2026-11-25 16:49:28Z"), MRX_EINVAL);
    assert_int_equal(mrx_text_parse_time(&t, "2026-11-25T16:49:28+01:00"), MRX_EINVAL);
    assert_int_equal(mrx_text_parse_time(&t, ""), MRX_EINVAL);
}

static void
u64_parse_is_strict(void **state)
{
    unsigned long long v;

    (void)state;
    assert_int_equal(mrx_text_parse_u64(&v, "0"), 0);
    assert_int_equal(v, 0);
    assert_int_equal(mrx_text_parse_u64(&v, "18446744073709551615"), 0);
    assert_int_equal(mrx_text_parse_u64(&v, "18446744073709551616"), MRX_EINVAL);
    assert_int_equal(mrx_text_parse_u64(&v, "007"), MRX_EINVAL);
    assert_int_equal(mrx_text_parse_u64(&v, "-1"), MRX_EINVAL);
    assert_int_equal(mrx_text_parse_u64(&v, "+1"), MRX_EINVAL);
    assert_int_equal(mrx_text_parse_u64(&v, " 1"), MRX_EINVAL);
    assert_int_equal(mrx_text_parse_u64(&v, "1x"), MRX_EINVAL);
}

static void
field_split_needs_key_colon_space(void **state)
{
    char good[] = "endpoint: tcp://127.0.0.1:7401", bad1[] = "Name: x", bad2[] = "name:x",
         bad3[] = ": x";
    char *k, *v;

    (void)state;
    assert_int_equal(mrx_text_split_field(&k, &v, good), 0);
    assert_string_equal(k, "endpoint");
    assert_string_equal(v, "tcp://127.0.0.1:7401");
    assert_int_equal(mrx_text_split_field(&k, &v, bad1), MRX_EFORMAT);
    assert_int_equal(mrx_text_split_field(&k, &v, bad2), MRX_EFORMAT);
    assert_int_equal(mrx_text_split_field(&k, &v, bad3), MRX_EFORMAT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(single_line_accepts_utf8_names),
        cmocka_unit_test(single_line_rejects_control_and_bad_utf8),
        cmocka_unit_test(fingerprint_is_normalized),
        cmocka_unit_test(time_round_trips_and_rejects_impossible_dates),
        cmocka_unit_test(u64_parse_is_strict),
        cmocka_unit_test(field_split_needs_key_colon_space),
    };
    return T_RUN(tests);
}
