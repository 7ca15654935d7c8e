/* slow-analyze-kern.c: the key finder on the 370 Bach chorales in **kern (shared corpora,
 * bach-chorales-kern), an out-of-sample check of the default profile, whose weights were chosen on
 * POP909 and the ABC corpora.
 *
 * Each chorale is read through tx_score_read_file; its reference key is its first key designation
 * (`*G:`, `*a:`), read from the file's text here and checked against the key event the reader made.
 * Chorales whose first designation is modal (`*g:dor`, `*G:mix`, `*e:phr`) are left out, as the finder
 * names 24 major and minor keys; 322 remain, the set on which music21's Aarden-Essen finder is right
 * 0.922 of the time (Krumhansl-Schmuckler 0.804, Temperley-Kostka-Payne 0.885, Bellman-Budge 0.907,
 * Simple 0.919: figures from issue 8). It prints exact accuracy and mean MIREX score per profile beside
 * those figures, and whether the default beats Aarden-Essen here; it asserts only what is robust: every
 * file reads, the designations agree with the key events, 322 are labelled, every profile is right on
 * more than 0.7 of them. Skips (77) without the corpora. The per-profile tally is key-tally.h's, the
 * one slow-analyze-corpora.c keeps on POP909 and the ABC corpora. */
#include "harness.h"

#include "analyze.h"
#include "key-tally.h"
#include "paths.h"
#include "progress.h"
#include "scoreio.h"

/* The first key designation of a kern text: tonic pitch class and mode (major, minor, or the church
 * mode's TX_MODE_*); -1 when there is none. Independent of the reader on purpose. */
static int first_designation(const char *text, int *tonic, int *mode)
{
    static const int nat[7] = {9, 11, 0, 2, 4, 5, 7};   /* a..g */
    static const struct { const char *name; int mode; } modes[] = {
        {"dor", TX_MODE_DORIAN}, {"phr", TX_MODE_PHRYGIAN}, {"lyd", TX_MODE_LYDIAN},
        {"mix", TX_MODE_MIXOLYDIAN}, {"aeo", TX_MODE_AEOLIAN}, {"loc", TX_MODE_LOCRIAN},
        {"ion", TX_MODE_IONIAN},
    };
    for (const char *p = text; *p; p++) {
        if (*p != '*' || (p != text && p[-1] != '\t' && p[-1] != '\n'))
            continue;
        const char *q = p + 1;
        int c = *q;
        if ((c | 0x20) < 'a' || (c | 0x20) > 'g')
            continue;
        int pc = nat[(c | 0x20) - 'a'];
        for (q++; *q == '#' || *q == '-'; q++)
            pc += *q == '#' ? 1 : -1;
        if (*q != ':')
            continue;
        q++;
        *tonic = (pc % 12 + 12) % 12;
        *mode = c >= 'a' ? TX_MODE_MINOR : TX_MODE_MAJOR;
        for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
            if (strncmp(q, modes[i].name, 3) == 0)
                *mode = modes[i].mode;
        return 0;
    }
    return -1;
}

static int is_krn(const char *path, void *ud)
{
    char ext[8];
    return strcmp(tx_extension(path, ext, sizeof ext), "krn") == 0;
}

int main(void)
{
    const char *root = tx_test_corpora();
    char dir[4200];
    if (root)
        snprintf(dir, sizeof dir, "%s/bach-chorales-kern/kern", root);
    char **paths = NULL;
    size_t n = 0;
    if (!root || tx_find_files(dir, is_krn, NULL, &paths, &n, NULL) != TX_OK || n == 0) {
        printf("shared corpora (bach-chorales-kern) not found: skipped\n");
        return 77;
    }
    tx_test_current = "chorales";
    tally t = {0};
    size_t failed = 0, disagree = 0, modal = 0, unlabelled = 0, notes = 0;
    double t0 = tx_now();
    for (size_t i = 0; i < n; i++) {
        uint8_t *data;
        size_t len;
        tx_error err;
        if (tx_read_file(paths[i], 1u << 24, &data, &len, &err)) {
            failed++;
            continue;
        }
        tx_score *s = NULL;
        int fmt;
        int rc = tx_score_read_mem(data, len, paths[i], &s, &fmt, &err);
        int tonic = 0, mode = 0;
        int labelled = first_designation((const char *)data, &tonic, &mode) == 0;
        tx_free(data);
        if (rc || fmt != TX_FORMAT_KERN) {
            fprintf(stderr, "%s\n", err.msg);
            failed++;
            tx_score_free(s);
            continue;
        }
        notes += s->n_notes;
        if (!labelled) {
            unlabelled++;
        } else if (!s->n_keysigs || s->keysigs[0].mode != mode ||
                   tx_key_tonic(s->keysigs[0].fifths, s->keysigs[0].mode) != tonic) {
            fprintf(stderr, "%s: the first key event does not match the first designation\n", paths[i]);
            disagree++;
        } else if (mode != TX_MODE_MAJOR && mode != TX_MODE_MINOR) {
            modal++;
        } else {
            score_keys(s, tonic, mode, &t);
        }
        tx_score_free(s);
    }
    double secs = tx_now() - t0;
    printf("Bach chorales (**kern): %zu files, %zu read (%zu notes, %.2f s), %zu labelled major/minor, "
           "%zu modal, %zu without a designation\n", n, n - failed, notes, secs, t.n, modal, unlabelled);
    /* music21's figures on the same 322 chorales, from issue 8, in tx_key_profile order (none for the
     * ensemble) */
    static const double music21[TX_KEY_NPROFILES] = {0.804, 0.922, 0.919, 0.907, 0.885, -1};
    printf("  %-24s %8s %8s %10s\n", "profile", "exact", "MIREX", "music21");
    for (int p = 0; p < TX_KEY_NPROFILES; p++) {
        double exact = t.n ? (double)t.exact[p] / (double)t.n : 0;
        printf("  %-24s %8.4f %8.4f ", tx_key_profile_name(p), exact, t.n ? t.mirex[p] / (double)t.n : 0);
        if (music21[p] >= 0)
            printf("%10.3f\n", music21[p]);
        else
            printf("%10s\n", "-");
        CHECK(exact > 0.7);
    }
    printf("  default (%s) %s Aarden-Essen here: %zu against %zu right\n", tx_key_profile_name(TX_KEY_DEFAULT),
           t.exact[TX_KEY_DEFAULT] > t.exact[TX_KEY_AARDEN_ESSEN] ? "beats"
           : t.exact[TX_KEY_DEFAULT] == t.exact[TX_KEY_AARDEN_ESSEN] ? "ties with" : "does not beat",
           t.exact[TX_KEY_DEFAULT], t.exact[TX_KEY_AARDEN_ESSEN]);
    CHECK_INT(n, 370);
    CHECK_INT(failed, 0);
    CHECK_INT(disagree, 0);
    CHECK_INT(t.n, 322);
    tx_free_paths(paths, n);
    return tx_test_finish();
}
