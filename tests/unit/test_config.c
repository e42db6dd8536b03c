/*
 * test_config: proto/mrx_config.c, the strict reading of mrxd.conf.
 */
#include "testlib.h"
#include "mrx_config.h"
#include "mrx_error.h"

#include <stddef.h>
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

#define REQUIRED "\"name\":\"A\",\"role\":\"clinic\",\"fingerprint\":\"" FPR "\""

/* Load the required settings plus setting ("\"key\": value"). */
static int
load_with(const char *setting, mrx_config *cfg)
{
    char *text = NULL;
    int rc;

    assert_true(asprintf(&text, "{" REQUIRED ",%s}", setting) > 0);
    rc = load_text(text, cfg);
    free(text);
    return rc;
}

/* The required settings plus setting must be refused naming needle. */
static void
setting_fails(const char *setting, const char *needle)
{
    char *text = NULL;

    assert_true(asprintf(&text, "{" REQUIRED ",%s}", setting) > 0);
    assert_int_equal(load_fails(text, needle), MRX_EINVAL);
    free(text);
}

static void
config_tunables_default_when_absent(void **state)
{
    mrx_config cfg;

    (void)state;
    mrx_config_init(&cfg);
    assert_int_equal(cfg.sync_interval, 300);
    assert_int_equal(cfg.workers, 2);
    assert_int_equal(cfg.request_max, 65536);
    assert_int_equal(cfg.log_level, MRX_LOG_INFO);
    assert_string_equal(mrx_log_level_name(cfg.log_level), "info");
    mrx_config_release(&cfg);
    assert_int_equal(load_text("{" REQUIRED "}", &cfg), 0);
    assert_int_equal(cfg.sync_interval, MRX_CONFIG_SYNC_INTERVAL_DEFAULT);
    assert_int_equal(cfg.workers, MRX_CONFIG_WORKERS_DEFAULT);
    assert_int_equal(cfg.request_max, MRX_CONFIG_REQUEST_MAX_DEFAULT);
    assert_int_equal(cfg.log_level, MRX_LOG_INFO);
    mrx_config_release(&cfg);
}

static void
config_accepts_tunables_within_range(void **state)
{
    static const struct {
        const char *setting;
        size_t offset;
        long value;
    } ok[] = {
        {"\"sync_interval\":5", offsetof(mrx_config, sync_interval), 5},
        {"\"sync_interval\":600", offsetof(mrx_config, sync_interval), 600},
        {"\"sync_interval\":86400", offsetof(mrx_config, sync_interval), 86400},
        {"\"workers\":1", offsetof(mrx_config, workers), 1},
        {"\"workers\":16", offsetof(mrx_config, workers), 16},
        {"\"request_max\":1024", offsetof(mrx_config, request_max), 1024},
        {"\"request_max\":1048576", offsetof(mrx_config, request_max), 1048576},
    };
    static const char *const levels[] = {"error", "warning", "info", "debug"};
    mrx_config cfg;

    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (load_with(ok[i].setting, &cfg) != 0)
            fail_msg("refused %s: %s", ok[i].setting, mrx_error_last());
        assert_int_equal(*(long *)((char *)&cfg + ok[i].offset), ok[i].value);
        mrx_config_release(&cfg);
    }
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        char setting[64];
        snprintf(setting, sizeof setting, "\"log_level\":\"%s\"", levels[i]);
        if (load_with(setting, &cfg) != 0)
            fail_msg("refused %s: %s", setting, mrx_error_last());
        assert_int_equal(cfg.log_level, (mrx_log_level)i);
        assert_string_equal(mrx_log_level_name(cfg.log_level), levels[i]);
        mrx_config_release(&cfg);
    }
    /* all of them at once */
    assert_int_equal(load_with("\"sync_interval\":60,\"workers\":4,\"request_max\":4096,"
                               "\"log_level\":\"debug\"",
                               &cfg),
                     0);
    assert_int_equal(cfg.sync_interval, 60);
    assert_int_equal(cfg.workers, 4);
    assert_int_equal(cfg.request_max, 4096);
    assert_int_equal(cfg.log_level, MRX_LOG_DEBUG);
    mrx_config_release(&cfg);
}

static void
config_refuses_tunables_out_of_range(void **state)
{
    (void)state;
    setting_fails("\"sync_interval\":4", "\"sync_interval\" must be between 5 and 86400, not 4");
    setting_fails("\"sync_interval\":86401", "\"sync_interval\" must be between 5 and 86400");
    setting_fails("\"sync_interval\":0", "\"sync_interval\"");
    setting_fails("\"sync_interval\":-300", "\"sync_interval\"");
    setting_fails("\"workers\":0", "\"workers\" must be between 1 and 16, not 0");
    setting_fails("\"workers\":17", "\"workers\" must be between 1 and 16");
    setting_fails("\"workers\":-1", "\"workers\"");
    setting_fails("\"request_max\":1023", "\"request_max\" must be between 1024 and 1048576");
    setting_fails("\"request_max\":1048577", "\"request_max\" must be between 1024 and 1048576");
    /* the extremes of a JSON integer are not cut down to fit */
    setting_fails("\"workers\":9223372036854775807", "\"workers\"");
    setting_fails("\"workers\":-9223372036854775808", "\"workers\"");
    setting_fails("\"request_max\":4294968320", "\"request_max\"");
}

static void
config_refuses_tunables_of_wrong_type(void **state)
{
    (void)state;
    setting_fails("\"sync_interval\":\"300\"", "\"sync_interval\" must be a whole number");
    setting_fails("\"sync_interval\":300.0", "\"sync_interval\" must be a whole number");
    setting_fails("\"workers\":2.5", "\"workers\" must be a whole number");
    setting_fails("\"workers\":true", "\"workers\"");
    setting_fails("\"workers\":null", "\"workers\"");
    setting_fails("\"request_max\":[65536]", "\"request_max\" must be a whole number");
    setting_fails("\"request_max\":{}", "\"request_max\"");
    setting_fails("\"log_level\":2", "\"log_level\" must be a string");
    setting_fails("\"log_level\":null", "\"log_level\"");
    setting_fails("\"log_level\":[\"info\"]", "\"log_level\"");
}

static void
config_refuses_unknown_log_level(void **state)
{
    (void)state;
    setting_fails("\"log_level\":\"verbose\"",
                  "\"log_level\" must be error, warning, info or debug, not \"verbose\"");
    setting_fails("\"log_level\":\"INFO\"", "\"log_level\"");
    setting_fails("\"log_level\":\"\"", "\"log_level\"");
    setting_fails("\"log_level\":\"info \"", "\"log_level\"");
    setting_fails("\"log_level\":\"warn\"", "\"log_level\"");
}

static void
config_refuses_repeated_tunable(void **state)
{
    (void)state;
    setting_fails("\"workers\":2,\"workers\":3", "duplicate");
}

static void
config_save_then_load_round_trips_tunables(void **state)
{
    mrx_config cfg, back;
    char *path = NULL, *text = NULL;
    size_t len = 0;

    (void)state;
    mrx_config_init(&cfg);
    strcpy(cfg.name, "A");
    cfg.role = MRX_ROLE_CLINIC;
    strcpy(cfg.fpr, FPR);
    cfg.sync_interval = 86400;
    cfg.workers = 16;
    cfg.request_max = 1024;
    cfg.log_level = MRX_LOG_ERROR;
    assert_true(asprintf(&path, "%s/tunables.conf", dir) > 0);
    assert_int_equal(mrx_config_save(&cfg, path), 0);
    text = t_read_file(path, &len);
    assert_non_null(strstr(text, "\"log_level\": \"error\""));
    assert_non_null(strstr(text, "\"workers\": 16"));
    free(text);
    assert_int_equal(mrx_config_load(&back, path), 0);
    assert_int_equal(back.sync_interval, 86400);
    assert_int_equal(back.workers, 16);
    assert_int_equal(back.request_max, 1024);
    assert_int_equal(back.log_level, MRX_LOG_ERROR);
    mrx_config_release(&back);
    /* and the defaults are written out too, and read back */
    mrx_config_init(&cfg);
    strcpy(cfg.name, "A");
    cfg.role = MRX_ROLE_CLINIC;
    strcpy(cfg.fpr, FPR);
    assert_int_equal(mrx_config_save(&cfg, path), 0);
    assert_int_equal(mrx_config_load(&back, path), 0);
    assert_int_equal(back.sync_interval, 300);
    assert_int_equal(back.workers, 2);
    assert_int_equal(back.request_max, 65536);
    assert_int_equal(back.log_level, MRX_LOG_INFO);
    mrx_config_release(&back);
    mrx_config_release(&cfg);
    free(path);
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
        cmocka_unit_test_setup(config_tunables_default_when_absent, setup),
        cmocka_unit_test_setup(config_accepts_tunables_within_range, setup),
        cmocka_unit_test_setup(config_refuses_tunables_out_of_range, setup),
        cmocka_unit_test_setup(config_refuses_tunables_of_wrong_type, setup),
        cmocka_unit_test_setup(config_refuses_unknown_log_level, setup),
        cmocka_unit_test_setup(config_refuses_repeated_tunable, setup),
        cmocka_unit_test_setup(config_save_then_load_round_trips_tunables, setup),
    };
    return T_RUN(tests);
}
