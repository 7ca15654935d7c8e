/* abc-perf.c: the second half of the ABC reader: ties joined in written order, then each voice played
 * in performance order (repeats, endings, P: parts, ornaments) into notes at exact fractional times,
 * the way abc2midi plays them. It reads no text: abc.c builds the written form it plays. Every rule
 * that follows abc2midi was read from abc2midi's output, case by case (tests/test-abc.c holds them).
 */
#include "abc-priv.h"

/* ---- ties ---- */

/* Joins tied notes in written order, as abc2midi does before it plays anything: a tied note takes
 * the length of the next note group's note of the same pitch (or, across a bar line, of the same
 * written letter and octave, whose accidental the bar line reset), and that note then sounds as part
 * of it. So a tie into a first ending lasts the same on every pass. A tie with no such note is
 * dropped. */
void tx_abc_tie_notes(const tune_ctx *c, voice *v)
{
    for (size_t i = 0; i < v->n; i++) {
        ev *e = &v->evs[i];
        /* abc2midi does not tie from a staccato note: both sound, shortened */
        if (e->kind != E_NOTE || e->grace || staccato_sounds(e))
            continue;
        for (uint32_t k = 0; k < e->np; k++) {
            pitch_ent *p = &v->pool[e->p0 + k];
            if (!p->tie)
                continue;
            int bar = 0;
            size_t j = i + 1;
            for (; j < v->n; j++) {
                ev *t = &v->evs[j];
                if (t->kind == E_BAR)
                    bar = 1;
                else if (t->kind == E_REST && !t->grace) {
                    j = v->n;
                    break;
                } else if (t->kind == E_NOTE && !t->grace && t->np > 0)
                    break;
            }
            /* nor into a roll or trill, which abc2midi has already replaced by other notes */
            if (j >= v->n || (v->evs[j].deco & (DECO_ROLL | DECO_TRILL)))
                continue;
            ev *t = &v->evs[j];
            int32_t root = p->root >= 0 ? p->root : (int32_t)(e->p0 + k);
            for (uint32_t q = 0; q < t->np; q++) {
                pitch_ent *x = &v->pool[t->p0 + q];
                if (x->absorbed || !(x->pitch == p->pitch || (bar && x->pline == p->pline)))
                    continue;
                x->absorbed = 1;
                x->root = root;
                rat add = c->opt->standard_chords ? x->len : t->len;
                if (staccato_sounds(t))
                    add = rat_muli(add, 1, 2);   /* what a staccato continuation sounds */
                v->pool[root].tlen = rat_add(v->pool[root].tlen, add);
                break;
            }
        }
    }
}

/* ---- performance ---- */

static int perf_add(tune_ctx *c, perf *pf, rat onset, rat len, int pitch, int track, unsigned flags)
{
    if (pf->n >= TX_ABC_MAX_NOTES)
        return tx_abc_fail(c, 0, 0, "limit: more than %u notes after repeats", TX_ABC_MAX_NOTES);
    if (tx_grow((void **)&pf->notes, &pf->cap, pf->n + 1, sizeof *pf->notes))
        return tx_abc_fail(c, 0, 0, "out of memory");
    pnote *n = &pf->notes[pf->n++];
    n->onset = onset;
    n->len = len;
    n->pitch = pitch;
    n->track = track;
    n->flags = flags;
    return TX_OK;
}

typedef struct render {
    tune_ctx *c;
    voice *v;
    perf *pf;
    rat t;
    uint32_t tempo;
    int tpq;
} render;

static tx_tick to_ticks(const render *r, rat x) { return rat_floor_ticks(x, 4 * (int64_t)r->tpq); }

static void play_event(render *r, size_t i)
{
    tune_ctx *c = r->c;
    voice *v = r->v;
    ev *e = &v->evs[i];
    tx_score *s = c->score;
    int shift = v->transpose + 12 * v->octave;
    switch (e->kind) {
    case E_NOTE: {
        if (e->np == 0)
            return;
        if (e->grace) {
            rat at = r->t;
            for (uint32_t k = 0; k < e->np; k++) {
                pitch_ent *p = &v->pool[e->p0 + k];
                perf_add(c, r->pf, at, p->len, p->pitch + shift, v->track, TX_NOTE_GRACE);
            }
            return;
        }
        if (e->text)
            tx_score_add_text(s, to_ticks(r, r->t), v->track, TX_TEXT_LYRIC, e->text);
        /* ornaments played out as abc2midi plays them (single notes only) */
        if (e->np == 1 && (e->deco & (DECO_TRILL | DECO_ROLL))) {
            int main = v->pool[e->p0].pitch + shift, up = e->up + shift, down = e->down + shift;
            rat len = e->len;
            /* a tie from the ornamented note: a trill goes on through the tied notes, a roll's
             * last main note takes them */
            rat tied = v->pool[e->p0].tlen;
            if (e->deco & DECO_TRILL) {
                len = rat_add(len, tied);
                /* abc2midi's trill notes: the note's length as a reduced fraction n/d of a whole
                 * note is cut into n notes of 1/d, halved until one lasts at most 100 ms (so a
                 * length of 3/16 at 120 bpm gives six notes of 1/32, 1/6 four of 1/24) */
                rat sub = rat_make(1, len.d);
                int64_t count = len.n;
                uint64_t whole_us = 4 * (uint64_t)r->tempo;
                int guard = 0;
                while (whole_us > 100000 * (uint64_t)sub.d && sub.d < (RAT_LIMIT >> 1) && count <= 4096 &&
                       guard++ < 24) {
                    sub = rat_muli(sub, 1, 2);
                    count *= 2;
                }
                if (count < 1) {
                    perf_add(c, r->pf, r->t, len, main, v->track, 0);
                } else {
                    if (count > 4096)
                        count = 4096;
                    rat at = r->t;
                    for (int64_t j = 0; j < count; j++) {
                        perf_add(c, r->pf, at, sub, (j % 2 == 0) ? up : main, v->track, 0);
                        at = rat_add(at, sub);
                    }
                }
            } else {
                rat cut = rat_mul(rat_muli(e->unit, 1, 4), e->cutf);
                rat at = r->t;
                if (rat_cmp(len, rat_muli(e->unit, 3, 1)) == 0) {
                    rat rest = rat_sub(e->unit, cut);
                    perf_add(c, r->pf, at, e->unit, main, v->track, 0);
                    at = rat_add(at, e->unit);
                    perf_add(c, r->pf, at, cut, up, v->track, 0);
                    at = rat_add(at, cut);
                    perf_add(c, r->pf, at, rest, main, v->track, 0);
                    at = rat_add(at, rest);
                    perf_add(c, r->pf, at, cut, down, v->track, 0);
                    at = rat_add(at, cut);
                    perf_add(c, r->pf, at, rat_add(rest, tied), main, v->track, 0);
                } else if (rat_cmp(len, cut) > 0) {
                    perf_add(c, r->pf, at, cut, up, v->track, 0);
                    perf_add(c, r->pf, rat_add(at, cut), rat_add(rat_sub(len, cut), tied), main, v->track, 0);
                } else {
                    perf_add(c, r->pf, at, rat_add(len, tied), main, v->track, 0);
                }
            }
            r->t = rat_add(r->t, e->len);
            return;
        }
        for (uint32_t k = 0; k < e->np; k++) {
            pitch_ent *p = &v->pool[e->p0 + k];
            if (p->absorbed)
                continue;   /* sounds as part of the note tied into it (tie_notes) */
            rat len = c->opt->standard_chords ? p->len : e->len;
            if (staccato_sounds(e))
                len = rat_muli(len, 1, 2);
            len = rat_add(len, p->tlen);
            if (perf_add(c, r->pf, r->t, len, p->pitch + shift, v->track, p->tlen.n ? TX_NOTE_TIED : 0))
                return;
        }
        r->t = rat_add(r->t, e->len);
        break;
    }
    case E_REST:
        r->t = rat_add(r->t, e->len);
        break;
    case E_TEMPO:
        r->tempo = (uint32_t)e->a;
        tx_score_add_tempo(s, to_ticks(r, r->t), (uint32_t)e->a);
        break;
    case E_METER:
        if (e->a > 0 && e->a <= 255 && e->b > 0 && e->b <= 128 && (e->b & (e->b - 1)) == 0) {
            /* a meter restated where it is in force (a repeat that goes back over an M: field, a second
             * voice) is no change: as an event it would restart the bars there, off the grid after a
             * pickup */
            tx_tick at = to_ticks(r, r->t), best = -1;
            int same = 0;
            for (size_t k = 0; k < s->n_timesigs; k++)
                if (s->timesigs[k].tick <= at && s->timesigs[k].tick >= best) {
                    best = s->timesigs[k].tick;
                    same = s->timesigs[k].num == e->a && s->timesigs[k].den == e->b;
                }
            if (!same)
                tx_score_add_timesig(s, at, e->a, e->b);
        }
        break;
    case E_KEY:
        if (e->a >= -7 && e->a <= 7)
            tx_score_add_keysig(s, to_ticks(r, r->t), e->a, e->b);
        break;
    case E_TEXT:
        tx_score_add_text(s, to_ticks(r, r->t), v->track, e->a, e->text);
        break;
    default:
        break;
    }
}

/* Plays events [from, to) of a voice with repeats and endings in abc2midi's order. Its model, as its
 * output shows it: a `|:` saves a return point and starts pass 1; a `:|` on pass 1 goes back there
 * (pass 2), and on later passes only while the pass is below the highest ending number seen plus one;
 * an ending that does not match the pass is skipped up to the next bar line that closes a section
 * (`:|`, `|:`, `||`, `|]`, or another ending), which is consumed. Every range starts with an implied
 * `|:`. Without P: parts, abc2midi also implies a `|:` after a `:|` that is followed by another `:|`
 * with no `|:` between them, unless the first `:|` closed or opened an ending. */
static void play_range(render *r, size_t from, size_t to, int parts)
{
    voice *v = r->v;
    if (r->c->opt->written_order) {
        for (size_t i = from; i < to && !r->c->failed; i++)
            play_event(r, i);
        return;
    }
    /* implied[k]: 1 = a |: is implied before event k; 2 = bar k's :| is read as ::; 4 = bar k's |:
     * is read as :: (a second |: before any :|) */
    uint8_t *implied = tx_calloc(to - from + 1, 1);
    if (!implied) {
        tx_abc_fail(r->c, 0, 0, "out of memory");
        return;
    }
    if (parts) {
        implied[0] = 1;
    } else {
        /* abc2midi's repair of missing |: signs, as its output shows it: a :| (or ::, or a first
         * ending) met without an open |: gets one at the start; after an earlier :| it gets one at
         * the last double or final bar line (|| |] [|) since that :|, or else turns that :| into ::;
         * once an ending has been seen, a lone :| is left alone. abc2midi repairs a tune of one
         * voice only: with several voices (or overlays, or voices only declared) it leaves each :|
         * and |: as written, and only the start of the tune is an implied |:. */
        int repair = r->c->n_voices <= 1;
        long rp = -1, dbl = -1;
        int expect = 0, nplays = 0, sec_endings = 0;
        for (size_t i = from; i < to; i++) {
            ev *e = &v->evs[i];
            if (e->kind != E_BAR)
                continue;
            unsigned fl = (unsigned)e->a;
            int place = 0;
            if ((fl & TX_ABC_BAR_REPEAT_END) && (fl & TX_ABC_BAR_REPEAT_START)) {
                place = !expect;
                expect = 1;
            } else if (fl & TX_ABC_BAR_REPEAT_START) {
                if (expect && repair)
                    implied[i - from] |= 4;
                expect = 1;
            } else if (fl & TX_ABC_BAR_REPEAT_END) {
                place = !expect && nplays < 1;
                expect = 0;
            }
            if (place) {
                if (rp < 0)
                    implied[0] |= 1;
                else if (repair && dbl > rp)
                    implied[(size_t)dbl - from] |= 2;   /* || |] [| after the last :| becomes |: */
                else if (repair)
                    implied[(size_t)rp - from] |= 2;
            }
            if ((fl & TX_ABC_BAR_REPEAT_END) && !(fl & TX_ABC_BAR_REPEAT_START))
                rp = (long)i;
            if ((fl & (TX_ABC_BAR_DOUBLE | TX_ABC_BAR_FINAL)) &&
                !(fl & (TX_ABC_BAR_REPEAT_END | TX_ABC_BAR_REPEAT_START)))
                dbl = (long)i;
            if (fl & TX_ABC_BAR_REPEAT_START)
                sec_endings = 0;
            if (e->b && repair && (fl & TX_ABC_BAR_REPEAT_END) && !(fl & TX_ABC_BAR_REPEAT_START) &&
                sec_endings == 0) {
                /* :|2 as the first ending of its section: abc2midi reads the :| as ::, so the
                 * ending opens a new section on its first pass and is skipped */
                implied[i - from] |= 2;
                expect = 1;
            }
            if (e->b) {
                sec_endings++;
                if (nplays == 0 && !expect) {
                    if (rp < 0)
                        implied[0] |= 1;
                    else if (rp != (long)i && repair)
                        implied[(size_t)rp - from] |= 2;
                }
                nplays++;
            }
        }
    }
    size_t save = from;
    int pass = 1, maxpass = 2, expect = 0;
    size_t steps = 0;
    size_t i = from;
    int skip_flags = 0;   /* the bar at i was reached by a skip: its closing part is consumed */
    int returned = 0;     /* i was reached by a jump back */
    while (i < to && !r->c->failed) {
        if (++steps > (size_t)TX_ABC_MAX_NOTES) {
            tx_abc_fail(r->c, 0, 0, "limit: repeats expand beyond %u events", TX_ABC_MAX_NOTES);
            break;
        }
        if ((implied[i - from] & 1) && !skip_flags && !returned) {
            save = i;
            expect = 1;
            pass = 1;
            maxpass = 2;
        }
        returned = 0;
        ev *e = &v->evs[i];
        if (e->kind != E_BAR) {
            play_event(r, i);
            i++;
            continue;
        }
        unsigned fl = skip_flags ? 0 : (unsigned)e->a, endings = (unsigned)e->b;
        if (!skip_flags && (implied[i - from] & 2))
            fl |= TX_ABC_BAR_REPEAT_START;
        if (!skip_flags && (implied[i - from] & 4))
            fl |= TX_ABC_BAR_REPEAT_END;
        skip_flags = 0;
        int jump = 0;
        if ((fl & TX_ABC_BAR_REPEAT_END) && (fl & TX_ABC_BAR_REPEAT_START)) {
            if (pass > 1 || !expect) {
                save = i + 1;
                expect = 1;
                pass = 1;
                maxpass = 2;
            } else {
                pass++;
                jump = 1;
            }
        } else if (fl & TX_ABC_BAR_REPEAT_END) {
            if (pass == 1) {
                if (expect) {
                    pass++;
                    expect = 0;
                    jump = 1;
                }
            } else if (pass < maxpass) {
                expect = 0;
                pass++;
                jump = 1;
            }
        } else if (fl & TX_ABC_BAR_REPEAT_START) {
            save = i + 1;
            expect = 1;
            pass = 1;
            maxpass = 2;
        }
        if (jump) {
            i = save;
            returned = 1;   /* an implied |: at the return point must not reset the pass */
            continue;
        }
        if (endings) {
            int passnum = (expect || pass > 1) ? pass : 1;
            if (!(endings & (1u << (passnum < 31 ? passnum : 31)))) {
                size_t j = i + 1;
                while (j < to) {
                    ev *t = &v->evs[j];
                    if (t->kind == E_BAR && ((t->a & (TX_ABC_BAR_REPEAT_END | TX_ABC_BAR_REPEAT_START |
                                                      TX_ABC_BAR_DOUBLE | TX_ABC_BAR_FINAL)) || t->b))
                        break;
                    j++;
                }
                if (j >= to) {
                    i = to;
                    break;
                }
                ev *t = &v->evs[j];
                if ((t->a & (TX_ABC_BAR_REPEAT_END | TX_ABC_BAR_REPEAT_START | TX_ABC_BAR_DOUBLE |
                             TX_ABC_BAR_FINAL)) && t->b) {
                    i = j;            /* the bar part is consumed, its ending is read */
                    skip_flags = 1;
                } else {
                    i = j + 1;
                }
                continue;
            }
            if (maxpass < 4)
                maxpass = pass + 1;
        }
        i++;
    }
    tx_free(implied);
}

void tx_abc_play_voice(tune_ctx *c, voice *v, perf *pf, int tpq)
{
    render r = {c, v, pf, rat_make(0, 1), c->tempo ? c->tempo : TX_DEFAULT_TEMPO, tpq};
    /* parts count only when the P: order names at least one that this voice has */
    int has_parts = 0;
    for (size_t i = 0; i < v->n && !has_parts; i++)
        if (v->evs[i].kind == E_PART && v->evs[i].a > 0 && strchr(c->play_order, v->evs[i].a))
            has_parts = 1;
    if (!has_parts || !c->play_order[0] || c->opt->written_order) {
        /* without a P: order abc2midi plays the parts as written, as one stream */
        play_range(&r, 0, v->n, 0);
        return;
    }
    /* the part labels' ranges; events before the first label play once at the start */
    size_t first = v->n;
    for (size_t i = 0; i < v->n; i++)
        if (v->evs[i].kind == E_PART) {
            first = i;
            break;
        }
    play_range(&r, 0, first, 1);
    for (const char *o = c->play_order; *o && !c->failed; o++) {
        for (size_t i = first; i < v->n; i++) {
            if (v->evs[i].kind != E_PART || v->evs[i].a != *o)
                continue;
            size_t j = i + 1;
            while (j < v->n && v->evs[j].kind != E_PART)
                j++;
            play_range(&r, i + 1, j, 1);
            break;
        }
    }
}

