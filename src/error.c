/* error.c: the error record and the fixed descriptions of status codes. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void tx_error_clear(tx_error *e)
{
    if (!e)
        return;
    e->code = TX_OK;
    e->msg[0] = '\0';
    e->line = e->column = 0;
    e->track = -1;
    e->offset = -1;
}

int tx_error_set(tx_error *e, int code, const char *fmt, ...)
{
    if (!e)
        return code;
    tx_error_clear(e);
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

const char *tx_strerror(int code)
{
    static const char *const text[TX_NCODES] = {
        [TX_OK] = "no error",
        [TX_ENOMEM] = "out of memory",
        [TX_EIO] = "input/output error",
        [TX_ESYNTAX] = "syntax error",
        [TX_EMIDI] = "malformed MIDI",
        [TX_EDB] = "corpus database error",
        [TX_EINVAL] = "invalid argument",
        [TX_EUNSUP] = "unsupported input",
        [TX_ELIMIT] = "input beyond a limit",
        [TX_EMODEL] = "model error",
    };
    if (code < 0 || code >= TX_NCODES)
        return "unknown error";
    return text[code];
}
