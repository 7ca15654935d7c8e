/* render.h: a piano-roll picture of a score as a standalone SVG 1.1 document.
 *
 * Time runs left to right (a width per quarter note, scaled down to fit a maximum width), pitch bottom
 * to top over the score's range plus a margin, on a keyboard-like background (black-key rows shaded,
 * C rows labelled C4 ...). Bar lines come from the time-signature map and the pickup (numbered as
 * musicians count: a pickup is bar 0, the first full bar is bar 1), with fainter beat lines; notes are
 * rectangles coloured per track (a fixed palette of twelve colours, cycling), their velocity shown as
 * opacity; a legend names the tracks and a title comes from the score's metadata. A marked span of
 * time (what a model generated, say) is shaded and its notes outlined.
 *
 * The output is always well-formed XML: texts are escaped, bytes that are not UTF-8 (MIDI texts are
 * often Latin-1) become U+FFFD, and every number written is finite. This is not a score engraver: no
 * staves, no note heads, no spelling.
 *
 * Ownership: the caller owns the tx_buf the document is appended to (and frees it with tx_buf_free).
 */
#ifndef TX_RENDER_H
#define TX_RENDER_H

#include "error.h"
#include "memory.h"
#include "score.h"

typedef struct tx_render_options {
    double px_per_quarter;    /* width of a quarter note before any scaling down (default 24) */
    double max_width;         /* the picture's largest width in pixels; a wider roll is scaled down to
                                 fit (default 3000; 0: no limit) */
    double row_height;        /* pixels per semitone; 0 (the default): 6, or up to 12 for a narrow
                                 pitch range */
    tx_tick mark_from;        /* start of the marked span in ticks; < 0: nothing marked (default -1) */
    tx_tick mark_to;          /* its end (exclusive); < 0: to the end of the score (default -1) */
    const char *mark_label;   /* the marked span's label (default "generated"); borrowed */
    const char *title;        /* overrides the score's "title" metadata when not NULL; borrowed */
} tx_render_options;

/* Fills o with the defaults above. */
TX_API void tx_render_options_init(tx_render_options *o);

/* Appends an SVG document showing s to out. o may be NULL (defaults). Returns TX_OK; TX_EINVAL for
 * an option out of range (a width or height that is not a positive finite number, a mark that ends
 * before it starts) or a score that breaks its invariants (resolution, negative times); TX_ELIMIT for
 * a note that ends beyond tick 2^48; or TX_ENOMEM. On failure out may hold a partial document.
 * A score without notes gives a small picture that says so. */
TX_API int tx_render_svg(const tx_score *s, const tx_render_options *o, tx_buf *out, tx_error *err);

#endif
