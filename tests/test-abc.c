/* test-abc.c: unit tests of the ABC reader (tokenizers/abc.c): lengths, pitches and keys, broken
 * rhythm, tuplets, chords, ties, repeats and play order, ornaments, texts, voices, voice overlay,
 * field continuation, errors with their places, bad input, and the rules (bar lines, decorations,
 * chords, parts) read from abc2midi's output for the corpus tunes that differed. The expected notes
 * were taken from abc2midi's output for the same text (onsets one tick earlier and durations one
 * tick longer than abc2midi writes them, see tests/known-abc-differences.md). The whole-corpus
 * comparison is tests/abc-oracle.c. */
#include "harness.h"

#include "tokenizers/abc.h"

/* Parses one tune with the given body and header; NULL (and a failed check) when it fails. */
static tx_score *tune(const char *header, const char *body, const tx_abc_options *opt)
{
    char text[4096];
    snprintf(text, sizeof text, "X:1\n%sK:%s\n", header, body);
    tx_score *s = NULL;
    tx_error err;
    int rc = tx_abc_read_tune(text, strlen(text), "t.abc", opt, &s, &err);
    if (rc)
        fprintf(stderr, "parse failed: %s\n", err.msg);
    CHECK_INT(rc, TX_OK);
    return s;
}

/* The non-grace notes as "onset/pitch/duration ..." for compact comparison. */
static const char *notes(const tx_score *s)
{
    static char buf[8192];
    size_t n = 0;
    buf[0] = 0;
    if (!s)
        return "(none)";
    for (size_t i = 0; i < s->n_notes && n + 40 < sizeof buf; i++) {
        const tx_note *x = &s->notes[i];
        if (x->flags & TX_NOTE_GRACE)
            continue;
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%lld/%d/%lld", n ? " " : "", (long long)x->onset,
                              x->pitch, (long long)x->duration);
    }
    return buf;
}

static void expect(const char *header, const char *body, const char *want)
{
    tx_score *s = tune(header, body, NULL);
    CHECK_STR(notes(s), want);
    tx_score_free(s);
}

#define H8 "M:4/4\nL:1/8\n"
#define H4 "M:4/4\nL:1/4\n"

static void test_lengths(void)
{
    expect(H8, "C\nA2 A A/ A/2 A3/2 A// A|", "0/69/480 480/69/240 720/69/120 840/69/120 960/69/360 1320/69/60 1380/69/240");
    /* default L: 1/16 below 3/4, 1/8 from 3/4 */
    expect("M:2/4\n", "C\nA B|", "0/69/120 120/71/120");
    expect("M:3/4\n", "C\nA B|", "0/69/240 240/71/240");
    /* rests, invisible rests, multi-bar rests, spacers */
    expect(H8, "C\nA z2 y x A Z2 A|", "0/69/240 960/69/240 5040/69/240");
}

static void test_pitches(void)
{
    expect(H8, "C\nC c c' C, ^C _B =B ^^C __E|", "0/60/240 240/72/240 480/84/240 720/48/240 960/61/240 1200/70/240 1440/71/240 1680/62/240 1920/62/240");
    /* key signatures and modes */
    expect(H8, "D\nf c F|", "0/78/240 240/73/240 480/66/240");
    expect(H8, "Ador\nf c|", "0/78/240 240/72/240");
    expect(H8, "G mix\nf|", "0/77/240");
    expect(H8, "Bb\nB e|", "0/70/240 240/75/240");
    expect(H8, "D dor ^g\nf g|", "0/77/240 240/80/240");
    expect(H8, "D exp ^f\nf c|", "0/78/240 240/72/240");
    expect(H8, "none\nf c|", "0/77/240 240/72/240");
    /* abc2midi carries an accidental to every octave of its letter until the bar line */
    expect(H8, "C\n^f f F f'|f|", "0/78/240 240/78/240 480/66/240 720/90/240 960/77/240");
    tx_abc_options o;
    tx_abc_options_init(&o);
    o.standard_accidentals = 1;
    tx_score *s = tune(H8, "C\n^f f F f'|f|", &o);
    CHECK_STR(notes(s), "0/78/240 240/78/240 480/65/240 720/89/240 960/77/240");
    tx_score_free(s);
    /* %%MIDI nobarlines: an accidental holds for its own note only */
    expect(H8 "%%MIDI nobarlines\n", "C\n^F F G F|F|", "0/66/240 240/65/240 480/67/240 720/65/240 960/65/240");
    /* transpose= and %%MIDI transpose */
    expect(H8, "C transpose=-2\nc|", "0/70/240");
    expect(H8 "%%MIDI transpose 12\n", "C\nc|", "0/84/240");
}

static void test_broken_and_tuplets(void)
{
    expect(H8, "C\nA>B A<B A>>B c|", "0/69/360 360/71/120 480/69/120 600/71/360 960/69/420 1380/71/60 1440/72/240");
    /* abc2midi breaks only groups of equal written length; staccato counts half */
    expect(H8, "C\nA>B/ c|", "0/69/240 240/71/120 360/72/240");
    expect(H8, "C\n.A>B c|", "0/69/120 240/71/240 480/72/240");
    expect(H8, "C\n(3abc (5abcde d|", "0/81/160 160/83/160 320/72/160 480/81/96 576/83/96 672/72/96 768/74/96 864/76/96 960/74/240");
    expect(H8, "C\n(3:2:4ABcd e|", "0/69/160 160/71/160 320/72/160 480/74/160 640/76/240");
    /* times between ticks round down, durations from each note's own length */
    expect(H8, "C\n(7abcdefg|", "0/81/68 68/83/68 137/72/68 205/74/68 274/76/68 342/77/68 411/79/68");
    /* (5 and (9 take 3 when the numerator is divisible by 3, 3/4 included */
    expect("M:3/4\nL:1/8\n", "C\n(5abcde (9abcdefgab|", "0/81/144 144/83/144 288/72/144 432/74/144 576/76/144 720/81/80 800/83/80 880/72/80 960/74/80 1040/76/80 1120/77/80 1200/79/80 1280/81/80 1360/83/80");
    /* %%MIDI ratio sets >; a roll after > takes both factors from the first note */
    expect(H8 "%%MIDI ratio 2 1\n", "C\nA>B c|", "0/69/320 320/71/160 480/72/240");
    expect(H8, "C\nA>~B c|", "0/69/180 180/72/30 210/71/90 300/72/240");
    /* R:hornpipe swings pairs of eighths 2:1 in 4/4 */
    expect(H8 "R:hornpipe\n", "C\ndAB c2 def|", "0/74/320 320/69/160 480/71/240 720/72/480 1200/74/240 1440/76/320 1760/77/160");
}

static void test_chords_and_ties(void)
{
    expect(H8, "C\n[CEG]2 [C4E2] [C2E4]2 [CE]/|", "0/60/480 0/64/480 0/67/480 480/60/960 480/64/960 1440/60/480 1440/64/480 1920/60/120 1920/64/120");
    expect(H8, "C\nA2-A2 A4-|A2 [CE]-[CE] c|", "0/69/960 960/69/1440 2400/60/480 2400/64/480 2880/72/240");
    /* ties are joined in written order: a tie into a first ending lasts the same on every pass */
    expect(H4, "C\n|:C D E F-|1 F G A B:|2 A B c2|", "0/60/480 480/62/480 960/64/480 1440/65/960 2400/67/480 2880/69/480 3360/71/480 3840/60/480 4320/62/480 4800/64/480 5280/65/960 5760/69/480 6240/71/480 6720/72/960");
    /* no tie from a staccato note nor into a roll; across a bar line the written letter counts */
    expect(H8, "C\n.A2-A2 F-~F2 ^F2-|F2 c|", "0/69/240 480/69/480 960/65/240 1200/67/60 1260/65/420 1680/66/960 2640/72/240");
    tx_score *s = tune(H8, "C\nA-A|", NULL);
    CHECK_INT(s ? s->n_notes : 0, 1);
    CHECK(s && (s->notes[0].flags & TX_NOTE_TIED));
    tx_score_free(s);
    tx_abc_options o;
    tx_abc_options_init(&o);
    o.standard_chords = 1;
    s = tune(H8, "C\n[C2E4]2 c|", &o);
    CHECK_STR(notes(s), "0/60/960 0/64/1920 960/72/240");
    tx_score_free(s);
}

/* Rules read from abc2midi's output for the tunes of the corpus that differed (see
 * known-abc-differences.md); each expected string is abc2midi's output for the same text. */
static void test_broken_rules(void)
{
    /* a broken rhythm compares the lengths as they stand: in A>B>A the second > finds B halved
     * (not applied); inside a tuplet both notes carry the tuplet factor */
    expect(H8, "C\nA>B>A B2 (3A>BA B2|", "0/69/360 360/71/120 480/69/240 720/71/480 1200/69/240 1440/71/80 1520/69/160 1680/71/480");
    /* a tuplet inside an open tuplet is ignored: (3a2 a (3g takes g as the first one's third note */
    expect(H4, "C\n(3a2 a (3g f g a|", "0/81/640 640/81/320 960/79/320 1280/77/480 1760/79/480 2240/81/480");
    /* it waits for its second note across a bar line */
    expect(H8, "C\nAB A> |B c4 d2|", "0/69/240 240/71/240 480/69/360 840/71/120 960/72/960 1920/74/480");
    /* a chord in [ ] passes the length check whatever its length */
    expect(H8, "C\n[Ac]<a3 a3<[Ac] B2|", "0/69/120 0/72/120 120/81/1080 1200/81/360 1560/69/360 1560/72/360 1920/71/480");
    /* hornpipe: a > after a swung pair compares the swung length (c>A not applied); a < between
     * two notes of the pair's length is played long-short like every such pair */
    expect("M:2/4\nR:hornpipe\n", "G\nBc>A e>dc<d|", "0/71/160 160/72/80 240/69/160 400/76/80 480/74/160 640/72/80 720/74/120");
    /* A>~B: the first note takes both factors, except inside a slur */
    expect("M:C\nL:1/8\nQ:90\n", "G\nd e>~f g (d e>~f) g|", "0/74/240 240/76/180 420/79/30 450/78/90 540/79/240 780/74/240 1020/76/360 1380/79/30 1410/78/90 1500/79/240");
}

static void test_bar_line_rules(void)
{
    /* ||: and |]: are a bar line and a stray colon: no repeat starts there */
    expect(H4, "C\nAB|cd||:ef:|", "0/69/480 480/71/480 960/72/480 1440/74/480 1920/76/480 2400/77/480 2880/69/480 3360/71/480 3840/72/480 4320/74/480 4800/76/480 5280/77/480");
    /* :|: is :| and a stray colon; the next :| then turns the first into :: */
    expect(H4, "C\nAB:|cd|:ef:|:gf:|", "0/69/480 480/71/480 960/69/480 1440/71/480 1920/72/480 2400/74/480 2880/76/480 3360/77/480 3840/76/480 4320/77/480 4800/79/480 5280/77/480 5760/79/480 6240/77/480");
    /* a :| without |: after an earlier :| goes back to the last || |] [| since that :| */
    expect(H4, "C\nAB:|cd||ef|ga:|", "0/69/480 480/71/480 960/69/480 1440/71/480 1920/72/480 2400/74/480 2880/76/480 3360/77/480 3840/79/480 4320/81/480 4800/76/480 5280/77/480 5760/79/480 6240/81/480");
    /* :[| closes no repeat */
    expect(H4, "C\nAB:[|cd|]", "0/69/480 480/71/480 960/72/480 1440/74/480");
    /* the standard reading, as an option: ||: opens a repeat, :[| closes one */
    tx_abc_options o;
    tx_abc_options_init(&o);
    o.standard_bars = 1;
    tx_score *s = tune(H4, "C\nAB|cd||:ef:|", &o);
    CHECK_STR(notes(s), "0/69/480 480/71/480 960/72/480 1440/74/480 1920/76/480 2400/77/480 2880/76/480 3360/77/480");
    tx_score_free(s);
    s = tune(H4, "C\nAB:[|cd|]", &o);
    CHECK_STR(notes(s), "0/69/480 480/71/480 960/69/480 1440/71/480 1920/72/480 2400/74/480");
    tx_score_free(s);
    /* an ending number is read only right after | or :| (not after a blank, nor after ||) */
    expect(H4, "C\nAB| 1 cd:| 2 ef|]", "0/69/480 480/71/480 960/72/480 1440/74/480 1920/69/480 2400/71/480 2880/72/480 3360/74/480 3840/76/480 4320/77/480");
    expect(H4, "C\nAB||1 cd:|2 ef|]", "0/69/480 480/71/480 960/72/480 1440/74/480 1920/69/480 2400/71/480 2880/72/480 3360/74/480");
    /* abc2midi repairs missing |: signs in a tune of one voice only: with two voices the second
     * :| of each voice plays once */
    expect("M:2/4\nL:1/8\n", "D\nAB AB:|cd||ef:|", "0/69/240 240/71/240 480/69/240 720/71/240 960/69/240 1200/71/240 1440/69/240 1680/71/240 1920/73/240 2160/74/240 2400/76/240 2640/78/240 2880/76/240 3120/78/240");
    expect("M:2/4\nL:1/8\nV:1\nV:2\n", "D\nV:1\nAB AB:|cd||ef:|\nV:2\nFG FG:|EF EF:|", "0/66/240 0/69/240 240/67/240 240/71/240 480/66/240 480/69/240 720/67/240 720/71/240 960/66/240 960/69/240 1200/67/240 1200/71/240 1440/66/240 1440/69/240 1680/67/240 1680/71/240 1920/64/240 1920/73/240 2160/66/240 2160/74/240 2400/64/240 2400/76/240 2640/66/240 2640/78/240");
    /* :|2 as the first ending of its section is read as ::, so the ending is skipped */
    expect(H4, "C\n|:AB:|2 cd||ef|]", "0/69/480 480/71/480 960/69/480 1440/71/480 1920/76/480 2400/77/480");
}

static void test_decoration_rules(void)
{
    /* a one-character decoration not followed directly by its note is lost (T e, .!2!d, ~ c,
     * T"C"B); !name! decorations wait for the next note, and a grace note takes them */
    expect(H8, "C\nT e2 .!2!d2 ~ c2 T\"C\"B2|", "0/76/480 480/74/480 960/72/480 1440/71/480");
    expect(H8, "C\n!trill!\"C\"e2 !trill!(d2) !trill!{g}c2 z2|", "0/77/60 60/76/60 120/77/60 180/76/60 240/77/60 300/76/60 360/77/60 420/76/60 480/76/60 540/74/60 600/76/60 660/74/60 720/76/60 780/74/60 840/76/60 900/74/60 960/72/480");
    /* trill notes: a length n/d of a whole note gives n notes of 1/d, halved until one lasts at
     * most 100 ms (9/64: nine of 1/64; a triplet quarter 1/6: four of 1/24) */
    expect(H8, "C\nTG9/8 E7/8 (3TG2EF d2|", "0/69/30 30/67/30 60/69/30 90/67/30 120/69/30 150/67/30 180/69/30 210/67/30 240/69/30 270/64/210 480/69/80 560/67/80 640/69/80 720/67/80 800/64/160 960/65/160 1120/74/480");
    /* a tie from a roll lengthens its last note; a trill goes on through the tied note */
    expect(H8, "C\n~g2-ge Tg2-ge|", "0/81/60 60/79/660 720/76/240 960/81/60 1020/79/60 1080/81/60 1140/79/60 1200/81/60 1260/79/60 1320/81/60 1380/79/60 1440/81/60 1500/79/60 1560/81/60 1620/79/60 1680/76/240");
    /* a !...! decoration runs to the next ! on its line, however long */
    expect(H8, "C\nAB!cdefgabcdefgabcdefgabcdefgabcdefgabcdefgabcdefgabcdefgabcdefgabcdefg!cd|", "0/69/240 240/71/240 480/72/240 720/74/240");
}

static void test_chord_rules(void)
{
    /* a rest inside [ ] takes no time of its own; first, its length is the chord's */
    expect("M:2/4\nL:1/16\n", "C\nc2 [C2z2] [z2] (3[Cz]DE D|", "0/72/240 240/60/240 720/60/80 800/62/80 880/64/80 960/62/120");
    /* a chord's staccato (before the [ or on its first note) shortens it only when no length is
     * written after the ] */
    expect(H8, "D\n.[Af]2 [.Af]2 .[Af]>[Af] [Af]>[.Af] z2|", "0/69/480 0/78/480 480/69/480 480/78/480 960/69/180 960/78/180 1320/69/120 1320/78/120 1440/69/360 1440/78/360 1800/69/60 1800/78/60");
    expect(H8, "D\n.[Af] [.Af] [.A2f] z3|", "0/69/120 0/78/120 240/69/120 240/78/120 480/69/240 480/78/240");
    /* a bar line inside [ ] is read and the chord goes on to its ], over line ends too; a [ inside
     * a chord is ignored */
    expect(H4, "C\nAB[ce|g]fed|", "0/69/480 480/71/480 960/72/480 960/76/480 960/79/480 1440/77/480 1920/76/480 2400/74/480");
    expect(H4, "C\nAB[c2e|gf\ned]c|", "0/69/480 480/71/480 960/72/960 960/74/960 960/76/960 960/76/960 960/77/960 960/79/960 1920/72/480");
    expect(H4, "C\nA[c[e]g]f|", "0/69/480 480/72/480 480/76/480 960/79/480 1440/77/480");
    /* a chord never closed is refused (abc2midi piles the rest of the tune into it), at its first
     * bar line or else at the chord */
    const char *text = "X:1\nL:1/4\nK:C\nAB[c2e|gf\ned|\n";
    tx_score *s = NULL;
    tx_error err;
    CHECK_INT(tx_abc_read_tune(text, strlen(text), "t.abc", NULL, &s, &err), TX_ESYNTAX);
    CHECK_STR(err.msg, "t.abc:4:7: bar line inside a chord");
    CHECK(s == NULL);
    text = "X:1\nL:1/4\nK:C\nAB[c2e\n";
    CHECK_INT(tx_abc_read_tune(text, strlen(text), "t.abc", NULL, &s, &err), TX_ESYNTAX);
    CHECK_STR(err.msg, "t.abc:4:3: unterminated chord");
    /* a chord gathers at most TX_ABC_MAX_CHORD notes */
    static char big[16 + 2 * (TX_ABC_MAX_CHORD + 1) + 8];
    size_t n = (size_t)snprintf(big, sizeof big, "X:1\nK:C\n[");
    for (int i = 0; i <= TX_ABC_MAX_CHORD; i++) {
        big[n++] = 'C';
        big[n++] = (char)(i % 64 == 63 ? '\n' : ' ');
    }
    big[n++] = ']';
    CHECK_INT(tx_abc_read_tune(big, n, "big.abc", NULL, &s, &err), TX_ELIMIT);
    CHECK(strstr(err.msg, "more than 4096 notes in one chord") != NULL);
}

static void test_part_rules(void)
{
    /* an order with a character abc2midi refuses is ignored (parts as written); a part label
     * that is not A-Z is no label ("P:dc" stays in part B) */
    const char *text = "X:1\nP:BA x\nM:4/4\nL:1/4\nK:C\nP:A\nCDEF|\nP:B\nGABc|\nP:dc\nc2z2|\n";
    tx_score *s = NULL;
    tx_error err;
    CHECK_INT(tx_abc_read_tune(text, strlen(text), "p.abc", NULL, &s, &err), TX_OK);
    CHECK_STR(notes(s), "0/60/480 480/62/480 960/64/480 1440/65/480 1920/67/480 2400/69/480 2880/71/480 3360/72/480 3840/72/960");
    tx_score_free(s);
    text = "X:1\nP:BA\nM:4/4\nL:1/4\nK:C\nP:A\nCDEF|\nP:B\nGABc|\n";
    s = NULL;
    CHECK_INT(tx_abc_read_tune(text, strlen(text), "p.abc", NULL, &s, &err), TX_OK);
    CHECK_STR(notes(s), "0/67/480 480/69/480 960/71/480 1440/72/480 1920/60/480 2400/62/480 2880/64/480 3360/65/480");
    tx_score_free(s);
    /* a P: line in the body starts the part in every voice, and a voice that appears later
     * inside a part belongs to it */
    expect("M:2/4\nL:1/8\nP:ABA\n", "D\nP:A\n[V:1] AB:|\n[V:2] FG:|\nP:B\n[V:1] cd:|\n[V:2] EF:|", "0/66/240 0/69/240 240/67/240 240/71/240 480/66/240 480/69/240 720/67/240 720/71/240 960/64/240 960/73/240 1200/66/240 1200/74/240 1440/64/240 1440/73/240 1680/66/240 1680/74/240 1920/66/240 1920/69/240 2160/67/240 2160/71/240 2400/66/240 2400/69/240 2640/67/240 2640/71/240");
}

static void test_repeats(void)
{
    expect(H4, "C\n|:C D:|E F|", "0/60/480 480/62/480 960/60/480 1440/62/480 1920/64/480 2400/65/480");
    expect(H4, "C\n|:C|1 D:|2 E|]", "0/60/480 480/62/480 960/60/480 1440/64/480");
    expect(H4, "C\n C::D:|E|", "0/60/480 480/60/480 960/62/480 1440/62/480 1920/64/480");
    /* abc2midi: a :| without |: goes back to the start, or to the end of the previous repeat */
    expect(H4, "C\n C:|D:|E:|", "0/60/480 480/60/480 960/62/480 1440/62/480 1920/64/480 2400/64/480");
    expect(H4, "C\nC|D:|E|[1 F:|[2 G|]", "0/60/480 480/62/480 960/60/480 1440/62/480 1920/64/480 2400/65/480 2880/64/480 3360/67/480");
    expect(H4, "C\n|:C|1 D:|2 E:|F:|", "0/60/480 480/62/480 960/60/480 1440/64/480 1920/60/480 2400/65/480");
    /* P: play order; repeats inside a part */
    expect(H4 "P:ABA\n", "C\nP:A\nC D:|\nP:B\nE|]", "0/60/480 480/62/480 960/60/480 1440/62/480 1920/64/480 2400/60/480 2880/62/480 3360/60/480 3840/62/480");
    expect(H4 "P:(AB)2\n", "C\nP:A\nC|\nP:B\nD|]", "0/60/480 480/62/480 960/60/480 1440/62/480");
    tx_abc_options o;
    tx_abc_options_init(&o);
    o.written_order = 1;
    tx_score *s = tune(H4, "C\n|:C|1 D:|2 E|]", &o);
    CHECK_STR(notes(s), "0/60/480 480/62/480 960/64/480");
    tx_score_free(s);
}

static void test_ornaments(void)
{
    /* trills: upper and main note in the longest quarter/2^k that lasts at most 100 ms */
    expect(H8, "C\nTA c|", "0/71/60 60/69/60 120/71/60 180/69/60 240/72/240");
    expect(H8 "Q:1/4=60\n", "C\nTA c|", "0/71/30 30/69/30 60/71/30 90/69/30 120/71/30 150/69/30 180/71/30 210/69/30 240/72/240");
    /* rolls: a cut of a quarter unit, or main-cut-main-cut-main on three units */
    expect(H8, "C\n~A c|", "0/71/60 60/69/180 240/72/240");
    expect(H8, "C\n~A3 c|", "0/69/240 240/71/60 300/69/180 480/67/60 540/69/180 720/72/240");
    /* staccato sounds half; fermatas are ignored as abc2midi -NFER does */
    expect(H8, "C\n.A2 HA|", "0/69/240 480/69/240");
    /* grace notes take no time and are flagged */
    tx_score *s = tune(H8, "C\n{g}A B|", NULL);
    CHECK_STR(notes(s), "0/69/240 240/71/240");
    size_t grace = 0;
    for (size_t i = 0; s && i < s->n_notes; i++)
        grace += (s->notes[i].flags & TX_NOTE_GRACE) != 0;
    CHECK_INT(grace, 1);
    tx_score_free(s);
}

static const tx_text *find_text(const tx_score *s, int kind, const char *text)
{
    for (size_t i = 0; s && i < s->n_texts; i++)
        if (s->texts[i].kind == kind && strcmp(s->texts[i].text, text) == 0)
            return &s->texts[i];
    return NULL;
}

static void test_texts_and_meta(void)
{
    tx_score *s = tune("T:Tune One\nT:alt\nC:Trad\nO:Ireland\nM:6/8\nL:1/8\nQ:3/8=60\n",
                       "G\n\"G\"G2 \"^fine\"A !trill!B|\nw:la-la lu\n", NULL);
    CHECK_STR(tx_score_meta(s, "title"), "Tune One");
    CHECK_STR(tx_score_meta(s, "composer"), "Trad");
    CHECK_STR(tx_score_meta(s, "abc:O"), "Ireland");
    CHECK_STR(tx_score_meta(s, "abc:X"), "1");
    const tx_text *t = find_text(s, TX_TEXT_CHORD, "G");
    CHECK(t && t->tick == 0);
    t = find_text(s, TX_TEXT_ANNOTATION, "fine");
    CHECK(t && t->tick == 480);
    CHECK(find_text(s, TX_TEXT_ANNOTATION, "trill") != NULL);
    t = find_text(s, TX_TEXT_LYRIC, "la-");
    CHECK(t && t->tick == 0);
    t = find_text(s, TX_TEXT_LYRIC, "lu");
    CHECK(t && t->tick == 720);
    CHECK_INT(s ? s->n_timesigs : 0, 1);
    CHECK(s && s->timesigs[0].num == 6 && s->timesigs[0].den == 8);
    CHECK(s && s->keysigs[0].fifths == 1 && s->keysigs[0].mode == TX_MODE_MAJOR);
    CHECK_INT(s ? s->tempos[0].usec_per_quarter : 0, 666667);
    tx_score_free(s);
    /* a pickup bar */
    s = tune("M:3/4\nL:1/4\n", "C\nC|D E F|", NULL);
    CHECK_INT(s ? s->pickup : -1, 480);
    tx_score_free(s);
}

static void test_voices(void)
{
    tx_score *s = tune(H4 "V:1 name=\"Top\"\nV:2\n", "C\n[V:1]c d|\n[V:2]C D|\nV:1\ne|\n%%MIDI program 40\n", NULL);
    CHECK_INT(s ? s->n_tracks : 0, 2);
    CHECK_STR(s ? s->tracks[0].name : NULL, "Top");
    CHECK_STR(notes(s), "0/60/480 0/72/480 480/62/480 480/74/480 960/76/480");
    CHECK_INT(s ? s->notes[1].track : -1, 0);
    CHECK_INT(s ? s->notes[0].track : -1, 1);
    CHECK_INT(s ? s->tracks[0].program : -1, 40);
    tx_score_free(s);
}

/* The notes of one track as "onset/pitch/duration ...". */
static const char *track_notes(const tx_score *s, int track)
{
    static char buf[4096];
    size_t n = 0;
    buf[0] = 0;
    if (!s)
        return "(none)";
    for (size_t i = 0; i < s->n_notes && n + 40 < sizeof buf; i++) {
        const tx_note *x = &s->notes[i];
        if (x->track != track || (x->flags & TX_NOTE_GRACE))
            continue;
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%lld/%d/%lld", n ? " " : "", (long long)x->onset,
                              x->pitch, (long long)x->duration);
    }
    return buf;
}

/* Voice overlay: abc2midi plays each level on a track of its own (expected notes from its output). */
/* A repeat that goes back over an M: field after a pickup restates the meter in force: no second time
 * signature (it would restart the bars off the grid), while a real change stays. */
static void test_meter_restated(void)
{
    tx_score *s = tune("M:4/4\nL:1/4\n", "C\nM:6/8\nL:1/8\nf|:ecc c2f|edc B3:|\n", NULL);
    CHECK_INT(s ? s->n_timesigs : 0, 1);
    CHECK_INT(s ? s->timesigs[0].num : 0, 6);
    CHECK_INT(s ? s->pickup : 0, 240);
    tx_score_free(s);
    s = tune("M:4/4\nL:1/4\n", "C\nCDEF | [M:3/4] CDE | [M:4/4] CDEF |]\n", NULL);
    CHECK_INT(s ? s->n_timesigs : 0, 3);
    tx_score_free(s);
}

static void test_overlay(void)
{
    tx_score *s = tune(H4, "C\nCDEF & GABc | cdef | G4 & c2 e2 & E4 |]\n", NULL);
    CHECK_INT(s ? s->n_tracks : 0, 3);
    CHECK_STR(track_notes(s, 0), "0/60/480 480/62/480 960/64/480 1440/65/480 1920/72/480 2400/74/480 "
                                 "2880/76/480 3360/77/480 3840/67/1920");
    CHECK_STR(track_notes(s, 1), "0/67/480 480/69/480 960/71/480 1440/72/480 3840/72/960 4800/76/960");
    CHECK_STR(track_notes(s, 2), "3840/64/1920");
    CHECK_STR(s ? s->tracks[1].name : NULL, "1 &1");
    tx_score_free(s);
    /* the overlay voice copies its parent's bar lines: repeats and endings play it too */
    s = tune(H4, "C\n|: CDEF & GABc | cdef :| g4 & e4 |]\n", NULL);
    CHECK_STR(track_notes(s, 1), "0/67/480 480/69/480 960/71/480 1440/72/480 3840/67/480 4320/69/480 "
                                 "4800/71/480 5280/72/480 7680/76/1920");
    tx_score_free(s);
    s = tune(H4, "C\n|: C4 & E4 |1 D4 & F4 :|2 G4 & B4 |]\n", NULL);
    CHECK_STR(track_notes(s, 1), "0/64/1920 1920/65/1920 3840/64/1920 5760/71/1920");
    tx_score_free(s);
    /* no accidentals from the parent's bar; a pickup bar is as long as written; a short overlay is
     * not padded, so the next one starts early */
    s = tune(H4, "C\n^C D E F & C D E F | C4 |]\n", NULL);
    CHECK_STR(track_notes(s, 1), "0/60/480 480/62/480 960/64/480 1440/65/480");
    CHECK_STR(track_notes(s, 0), "0/61/480 480/62/480 960/64/480 1440/65/480 1920/60/1920");
    tx_score_free(s);
    s = tune(H4, "C\nC | DEFG & ABcd | e4 | f2 g2 & a4 |]\n", NULL);
    CHECK_STR(track_notes(s, 1), "480/69/480 960/71/480 1440/72/480 1920/74/480 4320/81/1920");
    tx_score_free(s);
    s = tune(H4, "C\nC D E F & G | A B c d & e f | g4 |]\n", NULL);
    CHECK_STR(track_notes(s, 1), "0/67/480 480/76/480 960/77/480");
    tx_score_free(s);
    /* an overlay runs across a line end to the bar line; ties stay within the overlay voice */
    s = tune(H4, "C\nCDEF & GA\nBc | d4 | e4 |]\n", NULL);
    CHECK_STR(track_notes(s, 1), "0/67/480 480/69/480 960/71/480 1440/72/480");
    CHECK_STR(track_notes(s, 0), "0/60/480 480/62/480 960/64/480 1440/65/480 1920/74/1920 3840/76/1920");
    tx_score_free(s);
    s = tune(H4, "C\nCDE F- & GAB c- | F D E G & c A B c |]\n", NULL);
    CHECK_STR(track_notes(s, 0), "0/60/480 480/62/480 960/64/480 1440/65/960 2400/62/480 2880/64/480 3360/67/480");
    CHECK_STR(track_notes(s, 1), "0/67/480 480/69/480 960/71/480 1440/72/960 2400/69/480 2880/71/480 3360/72/480");
    tx_score_free(s);
    /* (& ... &): from the start of the bar where (& stands, across bar lines */
    s = tune(H4, "C\nC D (& E F | G A B c & e f | g a b c' &) | d4 |]\n", NULL);
    CHECK_STR(track_notes(s, 1), "0/76/480 480/77/480 960/79/480 1440/81/480 1920/83/480 2400/84/480");
    CHECK_STR(track_notes(s, 0), "0/60/480 480/62/480 960/64/480 1440/65/480 1920/67/480 2400/69/480 "
                                 "2880/71/480 3360/72/480 3840/74/1920");
    tx_score_free(s);
    /* overlay tracks come in the order they are first used */
    s = tune(H4, "C\nV:1\nC4 | D4 |\nV:2\nC,4 | D,4 & F,4 |\nV:1\nE4 & G4 | F4 |]\nV:2\nE,4 | F,4 |]\n", NULL);
    CHECK_INT(s ? s->n_tracks : 0, 4);
    CHECK_STR(s ? s->tracks[2].name : NULL, "2 &1");
    CHECK_STR(track_notes(s, 2), "1920/53/1920");
    CHECK_STR(track_notes(s, 3), "3840/67/1920");
    CHECK_STR(track_notes(s, 1), "0/48/1920 1920/50/1920 3840/52/1920 5760/53/1920");
    tx_score_free(s);
}

/* +: continues the field line before it (ABC 2.1 section 3.3), with a space between the parts */
static void test_field_continuation(void)
{
    tx_score *s = tune("T:The Long\n+:Title\nW:first words\n% a comment\n+:and more\n" H8,
                       "C\nA B c d|\nw:la la\n+:lu li\nT:part\n+:two\n", NULL);
    CHECK_STR(tx_score_meta(s, "title"), "The Long Title");
    CHECK_STR(tx_score_meta(s, "abc:W"), "first words and more");
    const tx_text *t = find_text(s, TX_TEXT_LYRIC, "lu");
    CHECK(t && t->tick == 480);
    t = find_text(s, TX_TEXT_LYRIC, "li");
    CHECK(t && t->tick == 720);
    CHECK(find_text(s, TX_TEXT_MARKER, "part two") != NULL);
    CHECK_STR(notes(s), "0/69/240 240/71/240 480/72/240 720/74/240");
    tx_score_free(s);
    /* abc2midi ignores +: after K: (and the other fields that change the music); ABC 2.1 joins it */
    expect(H4, "C\n+:transpose=2\nC D|", "0/60/480 480/62/480");
    tx_abc_options o;
    tx_abc_options_init(&o);
    o.standard_continuation = 1;
    s = tune(H4, "C\n+:transpose=2\nC D|", &o);
    CHECK_STR(notes(s), "0/62/480 480/64/480");
    tx_score_free(s);
    /* a +: line with no field before it is passed over */
    expect(H4, "C\nC D|\n+:E F\nG|", "0/60/480 480/62/480 960/67/480");
}

static void test_file_and_errors(void)
{
    const char *text =
        "%abc-2.1\nL:1/4\n\n"
        "X:1\nT:First\nK:C\nC D|\n\n"
        "free text between tunes\n\n"
        "X:2\nT:Broken\nK:C\nC \"unterminated|\n\n"
        "X:3\nT:Third\nK:C\nE {CE|\n\n"
        "X:4\nT:Fourth\nK:C\nE F|\n";
    tx_abc_file *f = NULL;
    tx_error err;
    CHECK_INT(tx_abc_parse(text, strlen(text), "set.abc", NULL, &f, &err), TX_OK);
    CHECK_INT(f ? f->n_tunes : 0, 4);
    CHECK_INT(f ? f->n_failed : 0, 2);
    if (!f || f->n_tunes != 4) {
        tx_abc_file_free(f);
        return;
    }
    CHECK_INT(f->tunes[0].status, TX_OK);
    CHECK_STR(f->tunes[0].title, "First");
    /* the file header's L:1/4 applies to every tune */
    CHECK_STR(notes(f->tunes[0].score), "0/60/480 480/62/480");
    CHECK_INT(f->tunes[1].status, TX_ESYNTAX);
    CHECK(f->tunes[1].score == NULL);
    CHECK_STR(f->tunes[1].error.msg, "set.abc:14:3: unterminated string");
    CHECK_INT(f->tunes[1].error.line, 14);
    CHECK_INT(f->tunes[1].error.column, 3);
    CHECK_STR(f->tunes[2].error.msg, "set.abc:19:1: unterminated grace notes");
    CHECK_INT(f->tunes[3].status, TX_OK);
    CHECK_INT(f->tunes[3].number, 4);
    CHECK_INT(f->tunes[3].line, 21);
    tx_score *s = tx_abc_take_score(f, 3);
    CHECK(s != NULL && f->tunes[3].score == NULL);
    tx_score_free(s);
    /* bars are kept in written order */
    CHECK_INT(f->tunes[0].n_bars, 1);
    tx_abc_file_free(f);

    /* one tune picked by its number */
    tx_abc_options o;
    tx_abc_options_init(&o);
    o.tune = 4;
    CHECK_INT(tx_abc_parse(text, strlen(text), "set.abc", &o, &f, &err), TX_OK);
    CHECK_INT(f ? f->n_tunes : 0, 1);
    tx_abc_file_free(f);

    /* no tune at all */
    s = NULL;
    CHECK_INT(tx_abc_read_tune("T:x\n", 4, "none.abc", NULL, &s, &err), TX_ESYNTAX);
    CHECK(s == NULL);
    CHECK_INT(tx_abc_read_tune("X:1\nT:x\nC D\n", 12, "nokey.abc", NULL, &s, &err), TX_ESYNTAX);
    CHECK_STR(err.msg, "nokey.abc:1:1: tune without a K: field");
    CHECK(s == NULL);
}

static void test_written_bars(void)
{
    const char *text = "X:1\nM:4/4\nL:1/4\nK:C\n|:C D E F|1 G:|2 A|]\n";
    tx_abc_file *f = NULL;
    tx_error err;
    CHECK_INT(tx_abc_parse(text, strlen(text), "b.abc", NULL, &f, &err), TX_OK);
    tx_abc_tune *t = f && f->n_tunes ? &f->tunes[0] : NULL;
    CHECK_INT(t ? t->n_bars : 0, 4);
    if (t && t->n_bars == 4) {
        CHECK(t->bars[0].flags & TX_ABC_BAR_REPEAT_START);
        CHECK_INT(t->bars[1].endings, 1u << 1);
        CHECK_INT(t->bars[1].tick, 1920);
        CHECK(t->bars[2].flags & TX_ABC_BAR_REPEAT_END);
        CHECK_INT(t->bars[2].endings, 1u << 2);
        CHECK(t->bars[3].flags & TX_ABC_BAR_FINAL);
        CHECK_INT(t->bars[3].column, 19);
    }
    tx_abc_file_free(f);
}

/* Hostile input: each must parse or fail cleanly, quickly. */
static void test_bad_input(void)
{
    static char big[1 << 20];
    const char *cases[] = {
        "X:1\nK:C\n[[[[[[[[\n", "X:1\nK:C\n((((((((((((3\n", "X:1\nK:C\n{{{{\n", "X:1\nK:C\n\"\"\"\n",
        "X:1\nK:C\n[K:\n", "X:1\nK:C\nA/99999999999999999999\n", "X:1\nK:C\n(999:999:999ABC\n",
        "X:1\nK:C\nA>>>>>>>>>>>B\n", "X:1\nL:0/0\nM:0/0\nK:Zb\nC\n", "X:1\nK:C\n:|:|:|:|::::::|[1[2[3\n",
        "X:1\nP:((((((((((((A9)9)9)9)9)9)9)9)9)9\nK:C\nP:A\nC|\n", "X:\nK:\n\x01\x02\xff\n",
        "X:1\nK:C\nc''''''''''''''''''''' C,,,,,,,,,,,,,,,,,,,,\n", "X:1\nK:C\n[V:99999999999999]\n",
        "X:1\nK:C\nA/1/1/1/1/1/1/1 (3:1000A (1000:1:1000 B\n",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tx_abc_file *f = NULL;
        tx_error err;
        int rc = tx_abc_parse(cases[i], strlen(cases[i]), "bad.abc", NULL, &f, &err);
        CHECK_INT(rc, TX_OK);
        for (size_t t = 0; f && t < f->n_tunes; t++) {
            if (f->tunes[t].status == TX_OK)
                CHECK_INT(tx_score_check(f->tunes[t].score, &err), TX_OK);
            else
                CHECK(strncmp(f->tunes[t].error.msg, "bad.abc:", 8) == 0);
        }
        tx_abc_file_free(f);
    }
    /* a 1 MB single line of notes */
    memcpy(big, "X:1\nK:C\n", 8);
    for (size_t i = 8; i < sizeof big - 1; i++)
        big[i] = "abcdefg|"[i % 8];
    tx_abc_file *f = NULL;
    tx_error err;
    CHECK_INT(tx_abc_parse(big, sizeof big - 1, "big.abc", NULL, &f, &err), TX_OK);
    CHECK_INT(f && f->n_tunes ? f->tunes[0].status : -1, TX_OK);
    tx_abc_file_free(f);
    /* binary bytes with NULs */
    for (size_t i = 0; i < 4096; i++)
        big[i] = (char)(i * 131 + 7);
    memcpy(big, "X:1\nK:C\n", 8);
    CHECK_INT(tx_abc_parse(big, 4096, "bin.abc", NULL, &f, &err), TX_OK);
    tx_abc_file_free(f);
    CHECK_INT(tx_abc_parse(NULL, 0, "empty.abc", NULL, &f, &err), TX_OK);
    CHECK_INT(f ? f->n_tunes : 1, 0);
    tx_abc_file_free(f);
}

int main(void)
{
    RUN(test_lengths);
    RUN(test_pitches);
    RUN(test_broken_and_tuplets);
    RUN(test_chords_and_ties);
    RUN(test_repeats);
    RUN(test_ornaments);
    RUN(test_texts_and_meta);
    RUN(test_voices);
    RUN(test_meter_restated);
    RUN(test_overlay);
    RUN(test_field_continuation);
    RUN(test_file_and_errors);
    RUN(test_written_bars);
    RUN(test_bad_input);
    RUN(test_broken_rules);
    RUN(test_bar_line_rules);
    RUN(test_decoration_rules);
    RUN(test_chord_rules);
    RUN(test_part_rules);
    return tx_test_finish();
}
