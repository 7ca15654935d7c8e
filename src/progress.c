/* progress.c: the terminal progress bar. Draws with a carriage return on one line; not a logger. */
#include "progress.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

double tx_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void tx_progress_start(tx_progress *p, FILE *out, const char *label, const char *unit, size_t total)
{
    const char *off = getenv("TACTUS_NO_PROGRESS");
    p->out = (out && isatty(fileno(out)) && !(off && *off)) ? out : NULL;
    p->label = label;
    p->unit = unit;
    p->start = p->last = tx_now();
    p->done = 0;
    p->total = total;
    p->drawn = 0;
}

void tx_progress_update(void *ud, size_t done, size_t total)
{
    tx_progress *p = ud;
    p->done = done;
    if (total)
        p->total = total;
    if (!p->out)
        return;
    double now = tx_now();
    if (now - p->last < 0.1 && done != p->total)
        return;
    p->last = now;
    double el = now - p->start;
    double rate = el > 0 ? (double)done / el : 0;
    if (p->total) {
        int width = 30, fill = (int)((double)width * (double)done / (double)p->total);
        if (fill > width)
            fill = width;
        double eta = rate > 0 ? (double)(p->total - (done < p->total ? done : p->total)) / rate : 0;
        fprintf(p->out, "\r%s [%.*s%*s] %zu/%zu %s, %.0f/s, ETA %.0fs ", p->label, fill,
                "##############################", width - fill, "", done, p->total, p->unit, rate, eta);
    } else {
        fprintf(p->out, "\r%s %zu %s, %.0f/s ", p->label, done, p->unit, rate);
    }
    fflush(p->out);
    p->drawn = 1;
}

void tx_progress_finish(tx_progress *p)
{
    if (p->out && p->drawn) {
        fprintf(p->out, "\r\033[K");
        fflush(p->out);
    }
    p->drawn = 0;
}
