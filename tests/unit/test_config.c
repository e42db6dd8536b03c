/*
 * test_config: proto/mrx_config.c, the strict reading of mrxd.conf.
 */
#include "testlib.h"
#include "mrx_config.h"
#include "mrx_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FPR "74AAAFBC4C8A50BC32ABE868601288EF3F0522AB"

static char *dir;

static int
load_text(const char *text, mrx_config *cfg)
{
    char *path = NULL;
    int rc;

    assert_true(asprintf(&path, "%s/mrxd.conf", dir) > 0);
    t_write_file(path, text, strlen(text));
    rc = mrx_config_load(cfg, path);
    free(path);
    return rc;
}

static int
load_fails(const char *text, const char *needle)
{
    mrx_config cfg;
    int rc = load_text(text, &cfg);

    if (rc == 0) {
        mrx_config_release(&cfg);
        fail_msg("accepted: %s", text);
    }
    if (!strstr(mrx_error_last(), needle))
        fail_msg("message \"%s\" does not name \"%s\"", mrx_error_last(), needle);
    return rc;
}

static void
config_save_then_load_round_trips(void **state)
{
    mrx_config cfg, back;
    char *path = NULL;

    (void)state;
    mrx_config_init(&cfg);
    strcpy(cfg.name, "Klinik Zürich");
    cfg.role = MRX_ROLE_CLINIC;
    strcpy(cfg.fpr, FPR);
    assert_int_equal(mrx_config_add_listen(&cfg, "tcp://127.0.0.1:7401"), 0);
    assert_int_equal(mrx_config_add_listen(&cfg, "tcp://[::1]:7401"), 0);
    assert_true(asprintf(&path, "%s/rt.conf", dir) > 0);
    assert_int_equal(mrx_config_save(&cfg, path), 0);
    assert_int_equal(mrx_config_load(&back, path), 0);
    assert_string_equal(back.name, "Klinik Zürich");
    assert_int_equal(back.role, MRX_ROLE_CLINIC);
    assert_string_equal(back.fpr, FPR);
    assert_int_equal(back.n_listen, 2);
    assert_string_equal(back.listen[1], "tcp://[::1]:7401");
    mrx_config_release(&cfg);
    mrx_config_release(&back);
    free(path);
}

static void
config_rejects_unknown_key(void **state)
{
    (void)state;
    assert_int_equal(load_fails("{\"name\":\"A\",\"role\":\"clinic\",\"fingerprint\":\"" FPR
                                "\",\"colour\":\"red\"}",
                                "unknown setting \"colour\""),
                     MRX_EINVAL);
}

static void
config_rejects_wrong_types_and_values(void **state)
{
    (void)state;
    load_fails("{\"name\":5,\"role\":\"clinic\",\"fingerprint\":\"" FPR "\"}", "\"name\"");
    load_fails("{\"name\":\"A\",\"role\":\"surgeon\",\"fingerprint\":\"" FPR "\"}", "role");
    load_fails("{\"name\":\"A\",\"role\":\"clinic\",\"fingerprint\":\"abc\"}", "fingerprint");
    load_fails("{\"name\":\"A\",\"role\":\"clinic\",\"fingerprint\":\"" FPR
               "\",\"listen\":\"tcp://x:1\"}",
               "listen");
    load_fails("{\"name\":\"A\",\"role\":\"clinic\",\"fingerprint\":\"" FPR
               "\",\"listen\":[\"udp://x:1\"]}",
               "udp://x:1");
    load_fails("{\"name\":\"A\",\"role\":\"clinic\",\"fingerprint\":\"" FPR
               "\",\"listen\":[\"tcp://x:70000\"]}",
               "tcp://x:70000");
    load_fails("{\"name\":\"A\\nB\",\"role\":\"clinic\",\"fingerprint\":\"" FPR "\"}", "name");
}

static void
config_rejects_syntax_errors_with_position(void **state)
{
    (void)state;
    assert_int_equal(load_fails("{\"name\": \"A\",\n  \"role\": clinic}", "mrxd.conf:2:"),
                     MRX_EINVAL);
    load_fails("[1,2]", "one JSON object");
    load_fails("{\"name\":\"A\",\"name\":\"B\",\"role\":\"clinic\",\"fingerprint\":\"" FPR "\"}",
               "duplicate");
    load_fails("{\"name\":\"A\"}", "required");
}

static void
config_rejects_oversized_file(void **state)
{
    char *big = malloc(MRX_CONFIG_MAX + 2);

    (void)state;
    memset(big, ' ', MRX_CONFIG_MAX + 1);
    big[MRX_CONFIG_MAX + 1] = '\0';
    assert_int_equal(load_fails(big, "limit"), MRX_ELIMIT);
    free(big);
}

static int
setup(void **state)
{
    (void)state;
    dir = t_tempdir();
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(config_save_then_load_round_trips, setup),
        cmocka_unit_test_setup(config_rejects_unknown_key, setup),
        cmocka_unit_test_setup(config_rejects_wrong_types_and_values, setup),
        cmocka_unit_test_setup(config_rejects_syntax_errors_with_position, setup),
        cmocka_unit_test_setup(config_rejects_oversized_file, setup),
    };
    return T_RUN(tests);
}
