/* kern.h: the reader for Humdrum **kern, the text form of the Bach chorale editions and of much of
 * the Humdrum corpus: tab-separated spines, one record (line) per time slice.
 *
 * What becomes of a file (tx_kern_read):
 * - Every **kern spine is a track, in spine order (left to right: the chorales put the bass first),
 *   named by its `*I"Name` record, else by its `*Icode` instrument code (`*Ibass`), else ""; program
 *   52 (choir aahs) after `*ICvox`, else 0; channel -1. Other spines (**dynam, **text ...) are read for
 *   their structure only. A spine split with `*^` adds a voice to the same track; `*v` joins, `*x`
 *   exchanges, `*+` adds a spine (a track once a `**kern` names it), `*-` ends one.
 * - Durations: reciprocals (1 2 4 8 16 ... and tuplet values 3 6 12 ...), 0 / 00 / 000 for breve,
 *   long and maxima, `N%M` (M/N of a whole note), augmentation dots. The resolution (ticks per
 *   quarter) is the smallest one that holds every duration of the file exactly.
 * - Pitches: c = C4 (60), cc = C5, C = C3, CC = C2; # and - (doubled for double sharps and flats);
 *   n is a natural. **kern spells the sounding pitch, so key signatures change nothing. Rests r.
 *   Chords are notes separated by spaces in one token. Grace notes (q, Q) have no duration and carry
 *   TX_NOTE_GRACE. Ties `[` `_` `]` join into one note flagged TX_NOTE_TIED. Velocity 80 throughout.
 * - Timing: a record starts when the earliest event of the records before it ends (Humdrum's rule); a
 *   token other than `.` in a spine whose event still sounds is an error. Non-kern spines do not
 *   count in the timing.
 * - `*M3/4` time signatures; `*MM100` tempo; `*k[f#c#]` key signatures (mode major, as a MIDI key
 *   signature without a stated mode); key designations `*G:` (major) `*g:` (minor) `*g:dor` `*G:mix`
 *   (and phr, lyd, loc, ion, aeo) as key events with their mode. A designation overrides a signature
 *   at the same tick, and its event holds the designated key with that key's usual signature, which
 *   may differ from the written one (Bach writes G minor with one flat: the event says two flats).
 * - Barlines give the pickup (a first bar shorter than the meter's) and keep bars aligned: where a
 *   barline falls off the meter's grid (a short bar before a repeat), the meter is stated again there.
 *   The file is read as written: expansion lists (`*>[A,A,B]`) and repeats are not unfolded.
 * - A fermata (;) is an annotation text "fermata" on the note's track at its onset.
 * - Reference records `!!!KEY: value` are metadata "kern:KEY"; OTL (or, without one, OTL@@lang and
 *   then OTL@lang) is also the "title", COM the "composer". Other comments are skipped.
 * Not read: other layout and analytic signifiers (beams, stems, slurs, articulations, ornaments:
 * skipped), **kern's editorial marks, `*rscale` and other tandem interpretations not named here,
 * spines other than **kern, a second segment after every spine has ended (TX_EUNSUP). There is no
 * writer.
 *
 * Ownership: tx_kern_read() gives the caller a score to free with tx_score_free().
 */
#ifndef TX_KERN_H
#define TX_KERN_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "score.h"

#define TX_KERN_MAX_SPINES 1024          /* spines open at once; more is TX_ELIMIT */
#define TX_KERN_MAX_TICKS ((int64_t)1 << 48)   /* a score longer than this many ticks is TX_ELIMIT */

/* Parses len bytes of **kern into a score (see above). name (NULL gives "kern") names the source in
 * messages, which read "NAME:LINE:COLUMN: ..." with err->line and err->column set. Returns TX_OK;
 * TX_ESYNTAX for malformed input (records before the exclusive interpretations, token counts that do
 * not match the spines, unknown manipulators' misuse, malformed durations or pitches, pitches outside
 * MIDI's 0..127, overlapping events in a spine, no **kern spine); TX_ELIMIT beyond TX_KERN_MAX_SPINES
 * open spines, TX_MAX_TRACKS tracks, TX_KERN_MAX_TICKS, or durations that need more than TX_MAX_TPQ
 * ticks per quarter; TX_EUNSUP for a second segment; TX_ENOMEM. *out is NULL on failure. */
TX_API int tx_kern_read(const uint8_t *data, size_t len, const char *name, tx_score **out, tx_error *err);

/* Whether data looks like **kern: its first record that is not a comment or blank is a line of
 * exclusive interpretations with a `**kern` among them (the first 64 KiB are looked at). */
TX_API int tx_kern_detect(const uint8_t *data, size_t len);

#endif
