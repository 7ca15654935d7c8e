/* common.c: helpers every command uses: error messages, usage text, checked output. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void verror(const char *fmt, va_list ap)
{
    fputs("tactus: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(fmt, ap);
    va_end(ap);
}

void cli_usage(FILE *out, const char *name, const char *options)
{
    const tx_command *c = cli_find_command(name);
    if (!c)
        return;
    fprintf(out, "usage: %s\n\n%s.\n", c->synopsis, c->summary);
    if (options && *options)
        fprintf(out, "\noptions:\n%s", options);
    fprintf(out, "\nSee man tactus-%s for more.\n", name);
}

int cli_usage_error(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'tactus %s --help'.\n", name);
    return EXIT_USAGE;
}

int cli_flush_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        /* a reader that went away (`| head`) is not worth a message; a full disk is */
        if (errno != EPIPE)
            cli_error("error writing to standard output: %s", strerror(errno));
        return EXIT_INPUT;
    }
    return EXIT_OK;
}
