/*
 * test_control: proto/mrx_control.c, the messages of mrxd's control API:
 * the request envelope, the parameter checks against a spec, the replies,
 * and the error kinds a reply carries back to the client.
 */
#include "testlib.h"
#include "mrx_control.h"
#include "mrx_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX 65536

/* The parameters of a made-up request that has one of each type. */
static const mrx_control_param spec[] = {
    {"title", MRX_PARAM_STRING, 1},
    {"file", MRX_PARAM_PATH, 0},
    {"members", MRX_PARAM_STRINGS, 0},
    {"files", MRX_PARAM_PATHS, 0},
    {"wait", MRX_PARAM_BOOL, 0},
};

#define N_SPEC (sizeof spec / sizeof spec[0])

static int
parse(mrx_control_request *req, const char *text)
{
    return mrx_control_request_parse(req, text, strlen(text), MAX);
}

/* text must be refused with code and a message naming needle; nothing but
 * (maybe) the tag is left in the request. */
static void
refused(const char *text, int code, const char *needle)
{
    mrx_control_request req;
    int rc = parse(&req, text);

    if (rc == 0) {
        mrx_control_request_release(&req);
        fail_msg("accepted: %s", text);
    }
    if (rc != code)
        fail_msg("%s: code %d, not %d (%s)", text, rc, code, mrx_error_last());
    if (!strstr(mrx_error_last(), needle))
        fail_msg("%s: message \"%s\" does not name \"%s\"", text, mrx_error_last(), needle);
    assert_string_equal(req.name, "");
    assert_null(req.params);
    mrx_control_request_release(&req);
}

/* A string of n copies of c; free it. */
static char *
repeat(char c, size_t n)
{
    char *s = malloc(n + 1);

    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void
control_request_parse_accepts_minimal_request(void **state)
{
    mrx_control_request req;

    (void)state;
    assert_int_equal(parse(&req, "{\"request\":\"status\"}"), 0);
    assert_string_equal(req.name, "status");
    assert_string_equal(req.tag, "");
    assert_true(json_is_object(req.params));
    assert_int_equal(json_object_size(req.params), 0);
    mrx_control_request_release(&req);
    assert_null(req.params);
    /* surrounding white space is not part of the request */
    assert_int_equal(parse(&req, " {\"request\" : \"status\"}\n"), 0);
    assert_string_equal(req.name, "status");
    mrx_control_request_release(&req);
}

static void
control_request_parse_keeps_tag_and_params(void **state)
{
    mrx_control_request req;

    (void)state;
    assert_int_equal(parse(&req, "{\"tag\":\"c-17\",\"request\":\"case-new\","
                                 "\"params\":{\"title\":\"fracture\",\"n\":[1,2]}}"),
                     0);
    assert_string_equal(req.name, "case-new");
    assert_string_equal(req.tag, "c-17");
    assert_string_equal(json_string_value(json_object_get(req.params, "title")), "fracture");
    assert_int_equal(json_array_size(json_object_get(req.params, "n")), 2);
    mrx_control_request_release(&req);
    /* an empty params object is as good as none */
    assert_int_equal(parse(&req, "{\"request\":\"status\",\"params\":{}}"), 0);
    assert_int_equal(json_object_size(req.params), 0);
    mrx_control_request_release(&req);
}

static void
control_request_parse_accepts_names_and_tags_at_their_limits(void **state)
{
    char *name = repeat('n', MRX_CONTROL_NAME_MAX), *tag = repeat('t', MRX_CONTROL_TAG_MAX);
    char *text = NULL;
    mrx_control_request req;

    (void)state;
    assert_true(asprintf(&text, "{\"request\":\"%s\",\"tag\":\"%s\"}", name, tag) > 0);
    assert_int_equal(parse(&req, text), 0);
    assert_string_equal(req.name, name);
    assert_string_equal(req.tag, tag);
    mrx_control_request_release(&req);
    /* printable punctuation other than quotes and backslashes is allowed */
    assert_int_equal(parse(&req, "{\"request\":\"a.b_c-d:1\",\"tag\":\"#!~/'*\"}"), 0);
    assert_string_equal(req.name, "a.b_c-d:1");
    assert_string_equal(req.tag, "#!~/'*");
    mrx_control_request_release(&req);
    free(text);
    free(name);
    free(tag);
}

static void
control_request_parse_refuses_over_max_bytes_naming_the_limit(void **state)
{
    const char *text = "{\"request\":\"status\"}";
    size_t len = strlen(text);
    mrx_control_request req;

    (void)state;
    assert_int_equal(mrx_control_request_parse(&req, text, len, len), 0);
    mrx_control_request_release(&req);
    assert_int_equal(mrx_control_request_parse(&req, text, len, len - 1), MRX_ELIMIT);
    assert_non_null(strstr(mrx_error_last(), "limit is 19"));
    assert_non_null(strstr(mrx_error_last(), "20 bytes"));
    assert_string_equal(req.name, "");
    assert_null(req.params);
    mrx_control_request_release(&req);
}

static void
control_request_parse_refuses_non_json(void **state)
{
    (void)state;
    refused("", MRX_EINVAL, "not JSON");
    refused("{", MRX_EINVAL, "not JSON");
    refused("request=status", MRX_EINVAL, "not JSON");
    refused("{'request':'status'}", MRX_EINVAL, "not JSON");
    refused("{\"request\":\"status\"} trailing", MRX_EINVAL, "not JSON");
    refused("{\"request\":\"a\"}{\"request\":\"b\"}", MRX_EINVAL, "not JSON");
    refused("{\"request\":\"a\\u0000b\"}", MRX_EINVAL, "not JSON");
    refused("{\"request\":\"bad \xc3\x28 utf8\"}", MRX_EINVAL, "not JSON");
}

static void
control_request_parse_refuses_non_object(void **state)
{
    (void)state;
    refused("[\"request\",\"status\"]", MRX_EINVAL, "must be a JSON object");
    refused("[]", MRX_EINVAL, "must be a JSON object");
    refused("\"status\"", MRX_EINVAL, "must be a JSON object");
    refused("42", MRX_EINVAL, "must be a JSON object");
    refused("null", MRX_EINVAL, "must be a JSON object");
}

static void
control_request_parse_refuses_missing_request(void **state)
{
    (void)state;
    refused("{}", MRX_EINVAL, "\"request\" is missing");
    refused("{\"params\":{}}", MRX_EINVAL, "\"request\" is missing");
    refused("{\"tag\":\"t1\"}", MRX_EINVAL, "\"request\" is missing");
}

static void
control_request_parse_refuses_bad_request_names(void **state)
{
    char *long_name = repeat('n', MRX_CONTROL_NAME_MAX + 1), *text = NULL;

    (void)state;
    refused("{\"request\":5}", MRX_EINVAL, "\"request\" must be a request name");
    refused("{\"request\":null}", MRX_EINVAL, "\"request\"");
    refused("{\"request\":[\"status\"]}", MRX_EINVAL, "\"request\"");
    refused("{\"request\":\"\"}", MRX_EINVAL, "\"request\"");
    refused("{\"request\":\"case new\"}", MRX_EINVAL, "\"request\"");
    refused("{\"request\":\"case\\\"new\"}", MRX_EINVAL, "\"request\"");
    refused("{\"request\":\"case\\\\new\"}", MRX_EINVAL, "\"request\"");
    refused("{\"request\":\"case\\tnew\"}", MRX_EINVAL, "\"request\"");
    refused("{\"request\":\"case\\u007fnew\"}", MRX_EINVAL, "\"request\"");
    refused("{\"request\":\"caf\xc3\xa9\"}", MRX_EINVAL, "\"request\"");
    assert_true(asprintf(&text, "{\"request\":\"%s\"}", long_name) > 0);
    refused(text, MRX_EINVAL, "1-32");
    free(text);
    free(long_name);
}

static void
control_request_parse_refuses_unknown_member(void **state)
{
    char *key = repeat('k', 40), *text = NULL, *shown = NULL;

    (void)state;
    refused("{\"request\":\"status\",\"colour\":\"red\"}", MRX_EINVAL, "unknown member \"colour\"");
    refused("{\"Request\":\"status\"}", MRX_EINVAL, "unknown member \"Request\"");
    refused("{\"request\":\"status\",\"\":1}", MRX_EINVAL, "unknown member \"\"");
    /* a long name is cut short in the message */
    assert_true(asprintf(&text, "{\"request\":\"status\",\"%s\":1}", key) > 0);
    key[32] = '\0';
    assert_true(asprintf(&shown, "\"%s\" in", key) > 0);
    refused(text, MRX_EINVAL, shown);
    free(shown);
    free(text);
    free(key);
}

static void
control_request_parse_refuses_params_that_are_not_an_object(void **state)
{
    (void)state;
    refused("{\"request\":\"status\",\"params\":[]}", MRX_EINVAL, "\"params\" must be");
    refused("{\"request\":\"status\",\"params\":\"title=x\"}", MRX_EINVAL, "\"params\"");
    refused("{\"request\":\"status\",\"params\":null}", MRX_EINVAL, "\"params\"");
    refused("{\"request\":\"status\",\"params\":7}", MRX_EINVAL, "\"params\"");
}

static void
control_request_parse_refuses_bad_tags(void **state)
{
    char *long_tag = repeat('t', MRX_CONTROL_TAG_MAX + 1), *text = NULL;

    (void)state;
    refused("{\"request\":\"status\",\"tag\":5}", MRX_EINVAL, "\"tag\" must be");
    refused("{\"request\":\"status\",\"tag\":null}", MRX_EINVAL, "\"tag\"");
    refused("{\"request\":\"status\",\"tag\":\"\"}", MRX_EINVAL, "\"tag\"");
    refused("{\"request\":\"status\",\"tag\":\"t 1\"}", MRX_EINVAL, "\"tag\"");
    refused("{\"request\":\"status\",\"tag\":\"t\\\"1\"}", MRX_EINVAL, "\"tag\"");
    refused("{\"request\":\"status\",\"tag\":\"t\\n1\"}", MRX_EINVAL, "\"tag\"");
    assert_true(asprintf(&text, "{\"request\":\"status\",\"tag\":\"%s\"}", long_tag) > 0);
    refused(text, MRX_EINVAL, "1-64");
    free(text);
    free(long_tag);
}

static void
control_request_parse_refuses_duplicate_keys(void **state)
{
    (void)state;
    refused("{\"request\":\"status\",\"request\":\"stop\"}", MRX_EINVAL, "duplicate");
    refused("{\"request\":\"status\",\"tag\":\"a\",\"tag\":\"b\"}", MRX_EINVAL, "duplicate");
    refused("{\"request\":\"x\",\"params\":{\"title\":\"a\",\"title\":\"b\"}}", MRX_EINVAL,
            "duplicate");
}

/* The tag of a refused request, or "" (the request must be refused). */
static const char *
tag_of_refused(mrx_control_request *req, const char *text)
{
    if (parse(req, text) == 0)
        fail_msg("accepted: %s", text);
    assert_string_equal(req->name, "");
    assert_null(req->params);
    return req->tag;
}

static void
control_request_parse_keeps_a_valid_tag_on_refusal(void **state)
{
    mrx_control_request req;

    (void)state;
    assert_string_equal(tag_of_refused(&req, "{\"tag\":\"t-1\"}"), "t-1");
    assert_string_equal(tag_of_refused(&req, "{\"tag\":\"t-1\",\"request\":\"a b\"}"), "t-1");
    assert_string_equal(tag_of_refused(&req, "{\"tag\":\"t-1\",\"request\":\"x\",\"colour\":1}"),
                        "t-1");
    assert_string_equal(tag_of_refused(&req, "{\"tag\":\"t-1\",\"request\":\"x\",\"params\":[]}"),
                        "t-1");
    /* wherever the tag stands, a refusal can be matched to its request */
    assert_string_equal(tag_of_refused(&req, "{\"request\":\"x\",\"colour\":1,\"tag\":\"t-1\"}"),
                        "t-1");
    /* an invalid tag is never kept */
    assert_string_equal(tag_of_refused(&req, "{\"tag\":\"t 1\",\"request\":\"x\"}"), "");
    /* nor is one in text that is not JSON, repeats a key, or is too long */
    assert_string_equal(tag_of_refused(&req, "{\"tag\":\"t-1\",\"request\":"), "");
    assert_string_equal(
        tag_of_refused(&req, "{\"tag\":\"t-1\",\"request\":\"a\",\"request\":\"b\"}"), "");
    assert_int_equal(mrx_control_request_parse(&req, "{\"tag\":\"t-1\"}", 13, 12), MRX_ELIMIT);
    assert_string_equal(req.tag, "");
    /* releasing a refused request is harmless */
    mrx_control_request_release(&req);
}

static void
control_request_encode_round_trips(void **state)
{
    json_t *params = json_pack("{s:s,s:[s,s],s:s}", "title", "fracture \"left\" arm", "members",
                               "A1", "B2", "file", "/tmp/x ray.dcm");
    mrx_control_request req;
    char *text;

    (void)state;
    assert_non_null(params);
    text = mrx_control_request_encode("case-new", params);
    assert_non_null(text);
    assert_int_equal(parse(&req, text), 0);
    assert_string_equal(req.name, "case-new");
    assert_string_equal(req.tag, "");
    assert_true(json_equal(req.params, params));
    assert_int_equal(mrx_control_check_params(&req, spec, N_SPEC), 0);
    mrx_control_request_release(&req);
    free(text);
    json_decref(params); /* borrowed by encode, still ours */

    text = mrx_control_request_encode("status", NULL);
    assert_non_null(text);
    assert_int_equal(parse(&req, text), 0);
    assert_string_equal(req.name, "status");
    assert_int_equal(json_object_size(req.params), 0);
    mrx_control_request_release(&req);
    free(text);
}

/* Check params (stolen) as those of a "case-new" request against spec. */
static int
check(json_t *params)
{
    mrx_control_request req;
    int rc;

    assert_non_null(params);
    assert_int_equal(parse(&req, "{\"request\":\"case-new\"}"), 0);
    json_decref(req.params);
    req.params = params;
    rc = mrx_control_check_params(&req, spec, N_SPEC);
    mrx_control_request_release(&req);
    return rc;
}

/* params (stolen) must be refused with a message naming the request and
 * needle. */
static void
check_refused(json_t *params, const char *needle)
{
    char *text = json_dumps(params, JSON_COMPACT);
    int rc = check(params);

    if (rc == 0)
        fail_msg("accepted: %s", text);
    assert_int_equal(rc, MRX_EINVAL);
    if (!strstr(mrx_error_last(), "case-new: ") || !strstr(mrx_error_last(), needle))
        fail_msg("%s: message \"%s\" does not name \"%s\"", text, mrx_error_last(), needle);
    free(text);
}

/* An array of n copies of item (stolen). */
static json_t *
array_of(json_t *item, size_t n)
{
    json_t *array = json_array();

    assert_non_null(array);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(json_array_append(array, item), 0);
    json_decref(item);
    return array;
}

static void
control_check_params_accepts_each_type(void **state)
{
    (void)state;
    assert_int_equal(check(json_pack("{s:s}", "title", "x")), 0);
    assert_int_equal(
        check(json_pack("{s:s,s:s,s:[s,s],s:[s]}", "title", "fracture", "file", "/srv/scan.dcm",
                        "members", "A1", "relative/ok", "files", "/")),
        0);
    assert_int_equal(check(json_pack("{s:s,s:b}", "title", "x", "wait", 1)), 0);
    assert_int_equal(check(json_pack("{s:s,s:b}", "title", "x", "wait", 0)), 0);
}

static void
control_check_params_refuses_unknown_parameter(void **state)
{
    (void)state;
    check_refused(json_pack("{s:s,s:s}", "title", "x", "colour", "red"),
                  "unknown parameter \"colour\"");
    check_refused(json_pack("{s:s,s:s}", "title", "x", "Title", "y"),
                  "unknown parameter \"Title\"");
}

static void
control_check_params_refuses_wrong_types(void **state)
{
    (void)state;
    check_refused(json_pack("{s:i}", "title", 5), "\"title\" must be a string");
    check_refused(json_pack("{s:s,s:n}", "title", "x", "file"), "\"file\" must be a string");
    check_refused(json_pack("{s:s,s:[s]}", "title", "x", "file", "/a"),
                  "\"file\" must be a string");
    check_refused(json_pack("{s:s,s:s}", "title", "x", "members", "A1"),
                  "\"members\" must be an array");
    check_refused(json_pack("{s:s,s:{}}", "title", "x", "files"), "\"files\" must be an array");
    check_refused(json_pack("{s:s,s:s}", "title", "x", "wait", "yes"),
                  "\"wait\" must be true or false");
    check_refused(json_pack("{s:s,s:i}", "title", "x", "wait", 1), "\"wait\" must be true or false");
    check_refused(json_pack("{s:s,s:n}", "title", "x", "wait"), "\"wait\" must be true or false");
}

static void
control_check_params_refuses_missing_required(void **state)
{
    (void)state;
    check_refused(json_object(), "\"title\" is required");
    check_refused(json_pack("{s:s}", "file", "/a"), "\"title\" is required");
}

static void
control_check_params_limits_strings(void **state)
{
    char *longest = repeat('x', MRX_CONTROL_STRING_MAX);
    char *too_long = repeat('x', MRX_CONTROL_STRING_MAX + 1);

    (void)state;
    check_refused(json_pack("{s:s}", "title", ""), "\"title\" must be 1-4096 bytes");
    assert_int_equal(check(json_pack("{s:s}", "title", longest)), 0);
    check_refused(json_pack("{s:s}", "title", too_long), "\"title\" must be 1-4096 bytes");
    /* the text cannot carry a NUL (\u0000 is not JSON to us), a checked
     * object built by hand still must not */
    check_refused(json_pack("{s:o}", "title", json_stringn("a\0b", 3)), "without NUL");
    free(too_long);
    free(longest);
}

static void
control_check_params_needs_absolute_paths(void **state)
{
    (void)state;
    check_refused(json_pack("{s:s,s:s}", "title", "x", "file", "scan.dcm"),
                  "\"file\" must be an absolute path");
    check_refused(json_pack("{s:s,s:s}", "title", "x", "file", "./scan.dcm"), "absolute path");
    check_refused(json_pack("{s:s,s:s}", "title", "x", "file", ""), "\"file\" must be 1-4096");
    /* a title is not a path: no slash needed */
    assert_int_equal(check(json_pack("{s:s}", "title", "scan.dcm")), 0);
}

static void
control_check_params_limits_arrays(void **state)
{
    (void)state;
    check_refused(json_pack("{s:s,s:[]}", "title", "x", "members"),
                  "\"members\" must be an array of 1-1024 strings");
    check_refused(json_pack("{s:s,s:[]}", "title", "x", "files"), "\"files\" must be an array");
    assert_int_equal(check(json_pack("{s:s,s:o}", "title", "x", "members",
                                     array_of(json_string("A1"), MRX_CONTROL_ARRAY_MAX))),
                     0);
    check_refused(json_pack("{s:s,s:o}", "title", "x", "members",
                            array_of(json_string("A1"), MRX_CONTROL_ARRAY_MAX + 1)),
                  "1-1024");
    check_refused(json_pack("{s:s,s:o}", "title", "x", "files",
                            array_of(json_string("/a"), MRX_CONTROL_ARRAY_MAX + 1)),
                  "1-1024");
}

static void
control_check_params_checks_each_array_item(void **state)
{
    (void)state;
    check_refused(json_pack("{s:s,s:[s,i]}", "title", "x", "members", "A1", 2),
                  "\"members\" must be a string");
    check_refused(json_pack("{s:s,s:[s,[s]]}", "title", "x", "members", "A1", "B2"),
                  "\"members\" must be a string");
    check_refused(json_pack("{s:s,s:[s,s]}", "title", "x", "members", "A1", ""),
                  "\"members\" must be 1-4096");
    check_refused(
        json_pack("{s:s,s:[s,o]}", "title", "x", "members", "A1", json_stringn("B\0c", 3)),
        "without NUL");
    check_refused(json_pack("{s:s,s:[s,s]}", "title", "x", "files", "/a", "b"),
                  "\"files\" must be an absolute path");
    check_refused(json_pack("{s:s,s:[n]}", "title", "x", "files"), "\"files\" must be a string");
}

static void
control_string_and_array_return_checked_params(void **state)
{
    mrx_control_request req;

    (void)state;
    assert_int_equal(parse(&req, "{\"request\":\"case-new\",\"params\":{\"title\":\"t\","
                                 "\"members\":[\"A1\"]}}"),
                     0);
    assert_int_equal(mrx_control_check_params(&req, spec, N_SPEC), 0);
    assert_string_equal(mrx_control_string(&req, "title"), "t");
    assert_null(mrx_control_string(&req, "file"));
    assert_null(mrx_control_string(&req, "members"));
    assert_int_equal(json_array_size(mrx_control_array(&req, "members")), 1);
    assert_null(mrx_control_array(&req, "files"));
    assert_null(mrx_control_array(&req, "title"));
    assert_int_equal(mrx_control_flag(&req, "wait"), 0); /* absent is false */
    mrx_control_request_release(&req);
    assert_int_equal(parse(&req, "{\"request\":\"sync\",\"params\":{\"title\":\"t\","
                                 "\"wait\":true}}"),
                     0);
    assert_int_equal(mrx_control_check_params(&req, spec, N_SPEC), 0);
    assert_int_equal(mrx_control_flag(&req, "wait"), 1);
    mrx_control_request_release(&req);
}

static void
control_result_reply_round_trips(void **state)
{
    json_t *result = json_pack("{s:s,s:i}", "case", "3f2a9c", "members", 2), *body = NULL;
    mrx_control_reply_kind kind = MRX_REPLY_ERROR;
    char *text;

    (void)state;
    assert_non_null(result);
    json_incref(result); /* the builder steals one reference */
    text = mrx_control_result("c-17", result);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"tag\":\"c-17\""));
    assert_int_equal(mrx_control_reply_parse(&kind, &body, text, strlen(text)), 0);
    assert_int_equal(kind, MRX_REPLY_RESULT);
    assert_true(json_equal(body, result));
    json_decref(body);
    json_decref(result);
    free(text);

    /* no tag, and a result that is not an object */
    text = mrx_control_result(NULL, json_string("done"));
    assert_non_null(text);
    assert_null(strstr(text, "tag"));
    assert_int_equal(mrx_control_reply_parse(&kind, &body, text, strlen(text)), 0);
    assert_int_equal(kind, MRX_REPLY_RESULT);
    assert_string_equal(json_string_value(body), "done");
    json_decref(body);
    free(text);
    text = mrx_control_result("", json_object());
    assert_non_null(text);
    assert_string_equal(text, "{\"result\":{}}");
    free(text);
}

static void
control_progress_reply_round_trips(void **state)
{
    json_t *body = NULL;
    mrx_control_reply_kind kind = MRX_REPLY_ERROR;
    char *text = mrx_control_progress("c-17", "encrypt", 3, 10);

    (void)state;
    assert_non_null(text);
    assert_int_equal(mrx_control_reply_parse(&kind, &body, text, strlen(text)), 0);
    assert_int_equal(kind, MRX_REPLY_PROGRESS);
    assert_string_equal(json_string_value(json_object_get(body, "stage")), "encrypt");
    assert_int_equal(json_integer_value(json_object_get(body, "done")), 3);
    assert_int_equal(json_integer_value(json_object_get(body, "total")), 10);
    json_decref(body);
    free(text);

    text = mrx_control_progress(NULL, "sign", (uint64_t)5 << 40, (uint64_t)6 << 40);
    assert_non_null(text);
    assert_int_equal(mrx_control_reply_parse(&kind, &body, text, strlen(text)), 0);
    assert_int_equal(kind, MRX_REPLY_PROGRESS);
    assert_int_equal(json_integer_value(json_object_get(body, "done")), (json_int_t)5 << 40);
    assert_int_equal(json_integer_value(json_object_get(body, "total")), (json_int_t)6 << 40);
    json_decref(body);
    free(text);
}

static void
control_error_reply_returns_its_code_and_sets_the_message(void **state)
{
    json_t *body = NULL;
    mrx_control_reply_kind kind = MRX_REPLY_RESULT;
    char *text;

    (void)state;
    for (int code = MRX_EINVAL; code >= MRX_EUNAVAILABLE; code--) {
        char message[64];
        snprintf(message, sizeof message, "case 3f2a: failure %d", code);
        text = mrx_control_error("c-17", code, message);
        assert_non_null(text);
        mrx_error_clear();
        body = (json_t *)1;
        kind = MRX_REPLY_RESULT;
        assert_int_equal(mrx_control_reply_parse(&kind, &body, text, strlen(text)), code);
        assert_int_equal(kind, MRX_REPLY_ERROR);
        assert_null(body);
        assert_string_equal(mrx_error_last(), message);
        free(text);
    }

    /* the reply carries the kind's name and mrx(1)'s exit code */
    text = mrx_control_error(NULL, MRX_ENOTFOUND, "no case 3f2a");
    assert_non_null(text);
    {
        json_t *root = json_loads(text, 0, NULL), *error = json_object_get(root, "error");
        assert_non_null(root);
        assert_null(json_object_get(root, "tag"));
        assert_string_equal(json_string_value(json_object_get(error, "kind")), "not found");
        assert_string_equal(json_string_value(json_object_get(error, "message")), "no case 3f2a");
        assert_int_equal(json_integer_value(json_object_get(error, "exit")), 3);
        json_decref(root);
    }
    free(text);
}

static void
control_error_reply_of_unknown_kind_is_an_io_error(void **state)
{
    const char *text = "{\"error\":{\"kind\":\"disk on fire\",\"message\":\"newer mrxd\"}}";
    json_t *body = NULL;
    mrx_control_reply_kind kind = MRX_REPLY_RESULT;

    (void)state;
    assert_int_equal(mrx_control_reply_parse(&kind, &body, text, strlen(text)), MRX_EIO);
    assert_int_equal(kind, MRX_REPLY_ERROR);
    assert_string_equal(mrx_error_last(), "newer mrxd");
    /* an error reply never means success, not even of kind "ok" */
    text = "{\"error\":{\"kind\":\"ok\",\"message\":\"fine\"}}";
    assert_int_equal(mrx_control_reply_parse(&kind, &body, text, strlen(text)), MRX_EIO);
    assert_null(body);
}

/* buf must be refused as malformed, leaving no body. */
static void
reply_malformed(const char *buf)
{
    json_t *body = (json_t *)1;
    mrx_control_reply_kind kind;
    int rc = mrx_control_reply_parse(&kind, &body, buf, strlen(buf));

    if (rc != MRX_EFORMAT)
        fail_msg("%s: %d, not MRX_EFORMAT (%s)", buf, rc, mrx_error_last());
    assert_null(body);
}

static void
control_reply_parse_refuses_non_objects(void **state)
{
    (void)state;
    reply_malformed("");
    reply_malformed("{\"result\":");
    reply_malformed("[{\"result\":1}]");
    reply_malformed("\"result\"");
    reply_malformed("null");
    assert_non_null(strstr(mrx_error_last(), "not a JSON object"));
}

static void
control_reply_parse_refuses_replies_of_no_known_kind(void **state)
{
    (void)state;
    reply_malformed("{}");
    reply_malformed("{\"tag\":\"c-17\"}");
    reply_malformed("{\"answer\":42}");
    reply_malformed("{\"progress\":5}");
    reply_malformed("{\"progress\":[\"sign\",1,2]}");
    reply_malformed("{\"error\":\"boom\"}");
    reply_malformed("{\"error\":{\"message\":\"boom\"}}");
    reply_malformed("{\"error\":{\"kind\":\"not found\"}}");
    reply_malformed("{\"error\":{\"kind\":3,\"message\":\"boom\"}}");
    reply_malformed("{\"error\":{\"kind\":\"not found\",\"message\":null}}");
    assert_non_null(strstr(mrx_error_last(), "no known kind"));
    /* a progress reply says how far, and a reply is of one kind only */
    reply_malformed("{\"progress\":{}}");
    reply_malformed("{\"progress\":{\"stage\":\"hashing\",\"done\":\"1\",\"total\":2}}");
    reply_malformed("{\"result\":{},\"error\":{\"kind\":\"denied\",\"message\":\"no\"}}");
    assert_non_null(strstr(mrx_error_last(), "exactly one of"));
}

static void
error_code_named_maps_each_name_back(void **state)
{
    static const struct {
        const char *name;
        int code;
    } known[] = {
        {"invalid input", MRX_EINVAL},  {"i/o error", MRX_EIO},
        {"out of memory", MRX_ENOMEM},  {"already exists", MRX_EEXIST},
        {"not found", MRX_ENOTFOUND},   {"cryptographic check failed", MRX_ECRYPTO},
        {"malformed", MRX_EFORMAT},     {"denied", MRX_EDENIED},
        {"limit exceeded", MRX_ELIMIT}, {"unavailable", MRX_EUNAVAILABLE},
    };

    (void)state;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        assert_int_equal(mrx_error_code_named(known[i].name), known[i].code);
        assert_string_equal(mrx_error_name(known[i].code), known[i].name);
    }
}

static void
error_code_named_makes_unknown_names_io_errors(void **state)
{
    (void)state;
    assert_int_equal(mrx_error_code_named("disk on fire"), MRX_EIO);
    assert_int_equal(mrx_error_code_named(""), MRX_EIO);
    assert_int_equal(mrx_error_code_named("Not Found"), MRX_EIO);
    assert_int_equal(mrx_error_code_named("not found "), MRX_EIO);
    assert_int_equal(mrx_error_code_named("error"), MRX_EIO);
}

static void
control_check_params_takes_a_document_up_to_64_kib(void **state)
{
    static const mrx_control_param doc_spec[] = {{"certificate", MRX_PARAM_DOCUMENT, 1}};
    mrx_control_request req;
    char *big = malloc(MRX_CONTROL_DOCUMENT_MAX + 2), *text = NULL;
    size_t sizes[] = {MRX_CONTROL_STRING_MAX + 1, MRX_CONTROL_DOCUMENT_MAX,
                      MRX_CONTROL_DOCUMENT_MAX + 1};

    (void)state;
    assert_non_null(big);
    for (size_t i = 0; i < 3; i++) {
        memset(big, 'c', sizes[i]);
        big[sizes[i]] = '\0';
        assert_true(asprintf(&text, "{\"request\":\"peer-add\",\"params\":{\"certificate\":\"%s\"}}",
                             big) > 0);
        assert_int_equal(mrx_control_request_parse(&req, text, strlen(text), SIZE_MAX), 0);
        assert_int_equal(mrx_control_check_params(&req, doc_spec, 1), i < 2 ? 0 : MRX_EINVAL);
        if (i == 2)
            assert_non_null(strstr(mrx_error_last(), "\"certificate\" must be 1-65536 bytes"));
        mrx_control_request_release(&req);
        free(text);
        text = NULL;
    }
    free(big);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(control_request_parse_accepts_minimal_request),
        cmocka_unit_test(control_request_parse_keeps_tag_and_params),
        cmocka_unit_test(control_request_parse_accepts_names_and_tags_at_their_limits),
        cmocka_unit_test(control_request_parse_refuses_over_max_bytes_naming_the_limit),
        cmocka_unit_test(control_request_parse_refuses_non_json),
        cmocka_unit_test(control_request_parse_refuses_non_object),
        cmocka_unit_test(control_request_parse_refuses_missing_request),
        cmocka_unit_test(control_request_parse_refuses_bad_request_names),
        cmocka_unit_test(control_request_parse_refuses_unknown_member),
        cmocka_unit_test(control_request_parse_refuses_params_that_are_not_an_object),
        cmocka_unit_test(control_request_parse_refuses_bad_tags),
        cmocka_unit_test(control_request_parse_refuses_duplicate_keys),
        cmocka_unit_test(control_request_parse_keeps_a_valid_tag_on_refusal),
        cmocka_unit_test(control_request_encode_round_trips),
        cmocka_unit_test(control_check_params_accepts_each_type),
        cmocka_unit_test(control_check_params_takes_a_document_up_to_64_kib),
        cmocka_unit_test(control_check_params_refuses_unknown_parameter),
        cmocka_unit_test(control_check_params_refuses_wrong_types),
        cmocka_unit_test(control_check_params_refuses_missing_required),
        cmocka_unit_test(control_check_params_limits_strings),
        cmocka_unit_test(control_check_params_needs_absolute_paths),
        cmocka_unit_test(control_check_params_limits_arrays),
        cmocka_unit_test(control_check_params_checks_each_array_item),
        cmocka_unit_test(control_string_and_array_return_checked_params),
        cmocka_unit_test(control_result_reply_round_trips),
        cmocka_unit_test(control_progress_reply_round_trips),
        cmocka_unit_test(control_error_reply_returns_its_code_and_sets_the_message),
        cmocka_unit_test(control_error_reply_of_unknown_kind_is_an_io_error),
        cmocka_unit_test(control_reply_parse_refuses_non_objects),
        cmocka_unit_test(control_reply_parse_refuses_replies_of_no_known_kind),
        cmocka_unit_test(error_code_named_maps_each_name_back),
        cmocka_unit_test(error_code_named_makes_unknown_names_io_errors),
    };
    return T_RUN(tests);
}
