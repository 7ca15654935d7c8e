/* json.h: a small JSON reader (into a tree in an arena) for configurations, checkpoint headers and
 * MCP messages. Writing JSON is done with tx_buf_json_string() and tx_buf_printf() (memory.h).
 *
 * The reader treats its input as hostile: RFC 8259 syntax only, nesting at most TX_JSON_MAX_DEPTH,
 * strings validated as UTF-8 (escapes decoded, surrogate pairs joined, "\u0000" refused), numbers as
 * doubles (and exactly as int64 when integral and in range), duplicate keys kept in order (lookups find
 * the last). Errors name the place: "config.json:3:14: expected ',' or '}'".
 *
 * Ownership: every node and string belongs to the arena passed to tx_json_parse().
 */
#ifndef TX_JSON_H
#define TX_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "memory.h"

#define TX_JSON_MAX_DEPTH 256

enum tx_json_type {
    TX_JSON_NULL, TX_JSON_FALSE, TX_JSON_TRUE, TX_JSON_NUMBER, TX_JSON_STRING, TX_JSON_ARRAY,
    TX_JSON_OBJECT
};

typedef struct tx_json tx_json;
struct tx_json {
    int type;
    double num;            /* TX_JSON_NUMBER */
    int64_t integer;       /* TX_JSON_NUMBER, when is_integer */
    int is_integer;
    const char *str;       /* TX_JSON_STRING: NUL-terminated, may hold no NUL inside */
    size_t len;            /* string length, or number of items / members */
    tx_json **items;       /* TX_JSON_ARRAY and TX_JSON_OBJECT values, len of them */
    const char **keys;     /* TX_JSON_OBJECT member names, len of them */
    long line, column;     /* where the value starts, 1-based */
};

/* Parses len bytes of text. name is used in error messages. */
TX_API int tx_json_parse(const char *text, size_t len, const char *name, tx_arena *a, tx_json **out,
                         tx_error *err);
/* Member `key` of an object (the last one when repeated); NULL when j is not an object or lacks it. */
TX_API const tx_json *tx_json_get(const tx_json *j, const char *key);
/* Typed lookups with a default for a missing member or a member of the wrong type. */
TX_API double tx_json_get_num(const tx_json *j, const char *key, double dflt);
TX_API int64_t tx_json_get_int(const tx_json *j, const char *key, int64_t dflt);
TX_API const char *tx_json_get_str(const tx_json *j, const char *key, const char *dflt);
TX_API int tx_json_get_bool(const tx_json *j, const char *key, int dflt);

#endif
