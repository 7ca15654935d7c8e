/* json.c: a strict JSON reader into an arena tree (RFC 8259), with places in every error.
 * Recursive descent with an explicit depth limit; not a streaming parser and not a writer. */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *p, *end, *line_start;
    long line;
    const char *name;
    tx_arena *a;
    tx_error *err;
    int depth;
} parser;

static int fail(parser *ps, const char *at, const char *what)
{
    long col = (long)(at - ps->line_start) + 1;
    int rc = tx_error_set(ps->err, TX_ESYNTAX, "%s:%ld:%ld: %s", ps->name, ps->line, col, what);
    if (ps->err) {
        ps->err->line = ps->line;
        ps->err->column = col;
    }
    return rc;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end) {
        char c = *ps->p;
        if (c == '\n') {
            ps->line++;
            ps->line_start = ps->p + 1;
        } else if (c != ' ' && c != '\t' && c != '\r') {
            return;
        }
        ps->p++;
    }
}

static tx_json *new_node(parser *ps, int type)
{
    tx_json *j = tx_arena_alloc(ps->a, sizeof *j);
    if (!j)
        return NULL;
    memset(j, 0, sizeof *j);
    j->type = type;
    j->line = ps->line;
    j->column = (long)(ps->p - ps->line_start) + 1;
    return j;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    } else if (c < 0x800) {
        o[0] = (char)(0xc0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    } else if (c < 0x10000) {
        o[0] = (char)(0xe0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        o[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    o[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

/* Parses a string at ps->p (on the opening quote). The decoded text is never longer than the source,
 * so one arena block of the source's length holds it. */
static int parse_string(parser *ps, const char **out, size_t *outlen)
{
    const char *start = ps->p++;
    const char *q = ps->p;
    while (q < ps->end && *q != '"') {
        if (*q == '\\')
            q++;
        q++;
    }
    if (q >= ps->end)
        return fail(ps, start, "unterminated string");
    char *buf = tx_arena_alloc(ps->a, (size_t)(q - ps->p) + 1);
    if (!buf)
        return tx_error_set(ps->err, TX_ENOMEM, "%s: out of memory", ps->name);
    size_t n = 0;
    while (*ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20)
            return fail(ps, ps->p, "control character in string");
        if (c == '\\') {
            const char *esc = ps->p++;
            switch (*ps->p++) {
            case '"': buf[n++] = '"'; break;
            case '\\': buf[n++] = '\\'; break;
            case '/': buf[n++] = '/'; break;
            case 'b': buf[n++] = '\b'; break;
            case 'f': buf[n++] = '\f'; break;
            case 'n': buf[n++] = '\n'; break;
            case 'r': buf[n++] = '\r'; break;
            case 't': buf[n++] = '\t'; break;
            case 'u': {
                unsigned cp, lo;
                if (ps->end - ps->p < 4 || hex4(ps->p, &cp))
                    return fail(ps, esc, "bad \\u escape");
                ps->p += 4;
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' || hex4(ps->p + 2, &lo) ||
                        lo < 0xdc00 || lo > 0xdfff)
                        return fail(ps, esc, "unpaired surrogate in \\u escape");
                    ps->p += 6;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                    return fail(ps, esc, "unpaired surrogate in \\u escape");
                } else if (cp == 0) {
                    return fail(ps, esc, "\\u0000 in string");
                }
                /* 6 source bytes ("\uXXXX") always cover the at most 4 bytes written */
                n += put_utf8(buf + n, cp);
                break;
            }
            default:
                return fail(ps, esc, "bad escape in string");
            }
            continue;
        }
        /* validate UTF-8 */
        int len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (len == 0 || ps->end - ps->p < len)
            return fail(ps, ps->p, "invalid UTF-8 in string");
        unsigned cp = len == 1 ? c : c & (0x7fu >> len);
        for (int i = 1; i < len; i++) {
            unsigned char cc = (unsigned char)ps->p[i];
            if ((cc & 0xc0) != 0x80)
                return fail(ps, ps->p, "invalid UTF-8 in string");
            cp = (cp << 6) | (cc & 0x3f);
        }
        static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return fail(ps, ps->p, "invalid UTF-8 in string");
        memcpy(buf + n, ps->p, (size_t)len);
        n += (size_t)len;
        ps->p += len;
    }
    ps->p++;   /* closing quote */
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return TX_OK;
}

static int parse_number(parser *ps, tx_json *j)
{
    const char *s = ps->p, *q = s;
    if (q < ps->end && *q == '-')
        q++;
    if (q >= ps->end || !(*q >= '0' && *q <= '9'))
        return fail(ps, s, "bad number");
    if (*q == '0')
        q++;
    else
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    int integral = 1;
    if (q < ps->end && *q == '.') {
        integral = 0;
        q++;
        if (q >= ps->end || !(*q >= '0' && *q <= '9'))
            return fail(ps, s, "bad number");
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        integral = 0;
        q++;
        if (q < ps->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= ps->end || !(*q >= '0' && *q <= '9'))
            return fail(ps, s, "bad number");
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    char tmp[64];
    size_t n = (size_t)(q - s);
    char *copy = n < sizeof tmp ? tmp : tx_arena_strndup(ps->a, s, n);
    if (!copy)
        return tx_error_set(ps->err, TX_ENOMEM, "%s: out of memory", ps->name);
    if (copy == tmp) {
        memcpy(tmp, s, n);
        tmp[n] = '\0';
    }
    j->num = strtod(copy, NULL);
    if (integral) {
        errno = 0;
        long long v = strtoll(copy, NULL, 10);
        if (errno == 0) {
            j->integer = v;
            j->is_integer = 1;
        }
    } else if (j->num == floor(j->num) && fabs(j->num) < 9.2e18) {
        j->integer = (int64_t)j->num;
        j->is_integer = 1;
    }
    ps->p = q;
    return TX_OK;
}

/* Growable list of children in scratch memory, copied into the arena when complete. */
typedef struct list {
    tx_json **items;
    const char **keys;
    size_t n, cap, kcap;
} list;

static int list_push(list *l, const char *key, tx_json *v, int with_key)
{
    if (tx_grow((void **)&l->items, &l->cap, l->n + 1, sizeof *l->items))
        return -1;
    if (with_key && tx_grow((void **)&l->keys, &l->kcap, l->n + 1, sizeof *l->keys))
        return -1;
    l->items[l->n] = v;
    if (with_key)
        l->keys[l->n] = key;
    l->n++;
    return 0;
}

static int parse_value(parser *ps, tx_json **out);

static int parse_container(parser *ps, tx_json *j, int object)
{
    char close = object ? '}' : ']';
    list l = {0};
    int rc = TX_OK;
    if (++ps->depth > TX_JSON_MAX_DEPTH) {
        rc = fail(ps, ps->p, "nesting too deep");
        goto out;
    }
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        goto done;
    }
    for (;;) {
        const char *key = NULL;
        size_t klen;
        skip_ws(ps);
        if (object) {
            if (ps->p >= ps->end || *ps->p != '"') {
                rc = fail(ps, ps->p, "expected a member name");
                goto out;
            }
            if ((rc = parse_string(ps, &key, &klen)))
                goto out;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                rc = fail(ps, ps->p, "expected ':'");
                goto out;
            }
            ps->p++;
        }
        tx_json *v;
        if ((rc = parse_value(ps, &v)))
            goto out;
        if (list_push(&l, key, v, object)) {
            rc = tx_error_set(ps->err, TX_ENOMEM, "%s: out of memory", ps->name);
            goto out;
        }
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            break;
        }
        rc = fail(ps, ps->p, object ? "expected ',' or '}'" : "expected ',' or ']'");
        goto out;
    }
done:
    j->len = l.n;
    if (l.n) {
        j->items = tx_arena_alloc(ps->a, l.n * sizeof *j->items);
        if (object)
            j->keys = tx_arena_alloc(ps->a, l.n * sizeof *j->keys);
        if (!j->items || (object && !j->keys)) {
            rc = tx_error_set(ps->err, TX_ENOMEM, "%s: out of memory", ps->name);
            goto out;
        }
        memcpy(j->items, l.items, l.n * sizeof *j->items);
        if (object)
            memcpy(j->keys, l.keys, l.n * sizeof *j->keys);
    }
out:
    ps->depth--;
    tx_free(l.items);
    tx_free(l.keys);
    return rc;
}

static int literal(parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail(ps, ps->p, "unexpected character");
    ps->p += n;
    return TX_OK;
}

static int parse_value(parser *ps, tx_json **out)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, ps->p, "unexpected end of input");
    char c = *ps->p;
    int type = c == '{' ? TX_JSON_OBJECT : c == '[' ? TX_JSON_ARRAY : c == '"' ? TX_JSON_STRING
             : c == 't' ? TX_JSON_TRUE : c == 'f' ? TX_JSON_FALSE : c == 'n' ? TX_JSON_NULL : TX_JSON_NUMBER;
    tx_json *j = new_node(ps, type);
    if (!j)
        return tx_error_set(ps->err, TX_ENOMEM, "%s: out of memory", ps->name);
    int rc;
    switch (type) {
    case TX_JSON_OBJECT: rc = parse_container(ps, j, 1); break;
    case TX_JSON_ARRAY: rc = parse_container(ps, j, 0); break;
    case TX_JSON_STRING: rc = parse_string(ps, &j->str, &j->len); break;
    case TX_JSON_TRUE: rc = literal(ps, "true"); break;
    case TX_JSON_FALSE: rc = literal(ps, "false"); break;
    case TX_JSON_NULL: rc = literal(ps, "null"); break;
    default:
        if (c != '-' && !(c >= '0' && c <= '9'))
            return fail(ps, ps->p, "unexpected character");
        rc = parse_number(ps, j);
        break;
    }
    *out = j;
    return rc;
}

int tx_json_parse(const char *text, size_t len, const char *name, tx_arena *a, tx_json **out,
                  tx_error *err)
{
    parser ps = {text, text + len, text, 1, name ? name : "<json>", a, err, 0};
    *out = NULL;
    /* a UTF-8 byte order mark is tolerated */
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        ps.p = ps.line_start = text + 3;
    tx_json *j;
    int rc = parse_value(&ps, &j);
    if (rc)
        return rc;
    skip_ws(&ps);
    if (ps.p != ps.end)
        return fail(&ps, ps.p, "unexpected text after the JSON value");
    *out = j;
    return TX_OK;
}

const tx_json *tx_json_get(const tx_json *j, const char *key)
{
    if (!j || j->type != TX_JSON_OBJECT)
        return NULL;
    for (size_t i = j->len; i-- > 0;)
        if (strcmp(j->keys[i], key) == 0)
            return j->items[i];
    return NULL;
}

double tx_json_get_num(const tx_json *j, const char *key, double dflt)
{
    const tx_json *v = tx_json_get(j, key);
    return v && v->type == TX_JSON_NUMBER ? v->num : dflt;
}

int64_t tx_json_get_int(const tx_json *j, const char *key, int64_t dflt)
{
    const tx_json *v = tx_json_get(j, key);
    return v && v->type == TX_JSON_NUMBER && v->is_integer ? v->integer : dflt;
}

const char *tx_json_get_str(const tx_json *j, const char *key, const char *dflt)
{
    const tx_json *v = tx_json_get(j, key);
    return v && v->type == TX_JSON_STRING ? v->str : dflt;
}

int tx_json_get_bool(const tx_json *j, const char *key, int dflt)
{
    const tx_json *v = tx_json_get(j, key);
    return v && v->type == TX_JSON_TRUE ? 1 : v && v->type == TX_JSON_FALSE ? 0 : dflt;
}
