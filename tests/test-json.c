/* test-json.c: the JSON reader: values, escapes, places in errors, hostile input, and the writer side
 * (tx_buf_json_string) read back. */
#include "harness.h"
#include "json.h"

static tx_json *parse(tx_arena *a, const char *text, tx_error *err)
{
    tx_json *j = NULL;
    tx_json_parse(text, strlen(text), "t.json", a, &j, err);
    return j;
}

static void test_values(void)
{
    tx_arena a = TX_ARENA_INIT;
    tx_error err;
    tx_json *j = parse(&a, " {\"a\": 1, \"b\": [true, false, null, -2.5e1, \"x\"], \"c\": {}, \"a\": 7}", &err);
    CHECK(j != NULL);
    if (j) {
        CHECK_INT(j->type, TX_JSON_OBJECT);
        CHECK_INT(j->len, 4);
        CHECK_INT(tx_json_get_int(j, "a", 0), 7);   /* the last of duplicate keys wins */
        const tx_json *b = tx_json_get(j, "b");
        CHECK(b && b->type == TX_JSON_ARRAY && b->len == 5);
        if (b && b->len == 5) {
            CHECK_INT(b->items[0]->type, TX_JSON_TRUE);
            CHECK_INT(b->items[1]->type, TX_JSON_FALSE);
            CHECK_INT(b->items[2]->type, TX_JSON_NULL);
            CHECK_NEAR(b->items[3]->num, -25.0, 0);
            CHECK_INT(b->items[3]->is_integer, 1);
            CHECK_STR(b->items[4]->str, "x");
        }
        CHECK_INT(tx_json_get(j, "c")->len, 0);
        CHECK_STR(tx_json_get_str(j, "missing", "dflt"), "dflt");
        CHECK_INT(tx_json_get_bool(j, "a", -1), -1);
    }
    j = parse(&a, "12345678901234567", &err);
    CHECK(j && j->is_integer && j->integer == 12345678901234567LL);
    j = parse(&a, "0.5", &err);
    CHECK(j && !j->is_integer && j->num == 0.5);
    tx_arena_free(&a);
}

static void test_strings(void)
{
    tx_arena a = TX_ARENA_INIT;
    tx_error err;
    tx_json *j = parse(&a, "\"a\\\"b\\\\c\\/\\n\\u00e9\\ud834\\udd1e\"", &err);
    CHECK(j != NULL);
    if (j)
        CHECK_STR(j->str, "a\"b\\c/\n\xc3\xa9\xf0\x9d\x84\x9e");
    /* writing and reading back gives the same bytes; invalid UTF-8 becomes U+FFFD */
    tx_buf b = TX_BUF_INIT;
    tx_buf_json_string(&b, "tab\there \"q\" \x01 \xc3\xa9 \xff");
    j = parse(&a, b.data, &err);
    CHECK(j != NULL);
    if (j)
        CHECK_STR(j->str, "tab\there \"q\" \x01 \xc3\xa9 \xef\xbf\xbd");
    tx_buf_free(&b);
    tx_arena_free(&a);
}

static void test_errors(void)
{
    static const struct { const char *text; long line, col; const char *msg; } cases[] = {
        {"", 1, 1, "unexpected end of input"},
        {"{\"a\" 1}", 1, 6, "expected ':'"},
        {"{\n  \"a\": 1\n  \"b\": 2}", 3, 3, "expected ',' or '}'"},
        {"[1, 2", 1, 6, "expected ',' or ']'"},
        {"\"abc", 1, 1, "unterminated string"},
        {"\"\\x\"", 1, 2, "bad escape in string"},
        {"\"\\ud800\"", 1, 2, "unpaired surrogate in \\u escape"},
        {"\"\\u0000\"", 1, 2, "\\u0000 in string"},
        {"\"\xc3\"", 1, 2, "invalid UTF-8 in string"},
        {"\"\xc0\xaf\"", 1, 2, "invalid UTF-8 in string"},
        {"01", 1, 2, "unexpected text after the JSON value"},
        {"-", 1, 1, "bad number"},
        {"1.", 1, 1, "bad number"},
        {"tru", 1, 1, "unexpected character"},
        {"[1] x", 1, 5, "unexpected text after the JSON value"},
        {"{\"a\":1,}", 1, 8, "expected a member name"},
        {"\"a\tb\"", 1, 3, "control character in string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tx_arena a = TX_ARENA_INIT;
        tx_error err;
        tx_error_clear(&err);
        tx_json *j = parse(&a, cases[i].text, &err);
        CHECK(j == NULL);
        CHECK_INT(err.code, TX_ESYNTAX);
        CHECK_INT(err.line, cases[i].line);
        CHECK_INT(err.column, cases[i].col);
        char want[256];
        snprintf(want, sizeof want, "t.json:%ld:%ld: %s", cases[i].line, cases[i].col, cases[i].msg);
        CHECK_STR(err.msg, want);
        tx_arena_free(&a);
    }
}

static void test_depth(void)
{
    /* nesting at the limit parses; one deeper fails cleanly (no stack overflow) */
    char deep[2 * (TX_JSON_MAX_DEPTH + 1) + 1];
    for (int extra = 0; extra <= 1; extra++) {
        int n = TX_JSON_MAX_DEPTH + extra;
        for (int i = 0; i < n; i++) {
            deep[i] = '[';
            deep[2 * n - 1 - i] = ']';
        }
        deep[2 * n] = '\0';
        tx_arena a = TX_ARENA_INIT;
        tx_error err;
        tx_json *j = parse(&a, deep, &err);
        CHECK((j != NULL) == (extra == 0));
        tx_arena_free(&a);
    }
    /* a long flat array */
    tx_buf b = TX_BUF_INIT;
    tx_buf_putc(&b, '[');
    for (int i = 0; i < 100000; i++)
        tx_buf_printf(&b, "%s%d", i ? "," : "", i);
    tx_buf_putc(&b, ']');
    tx_arena a = TX_ARENA_INIT;
    tx_error err;
    tx_json *j = parse(&a, b.data, &err);
    CHECK(j && j->len == 100000 && j->items[99999]->integer == 99999);
    tx_arena_free(&a);
    tx_buf_free(&b);
}

int main(void)
{
    RUN(test_values);
    RUN(test_strings);
    RUN(test_errors);
    RUN(test_depth);
    return tx_test_finish();
}
