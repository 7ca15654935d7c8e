/* commands.c: the command table. It drives dispatch, `tactus help`, and the synopsis test that
 * compares each command's usage with its man page. */
#include <string.h>

#include "cli.h"

const tx_command tx_commands[] = {
    {"info", cmd_info, "describe score files (MIDI, ABC): tracks, notes, duration, tempi, signatures",
     "tactus info [--json] FILE..."},
    {"convert", cmd_convert, "convert a score to another file, format from the extension",
     "tactus convert [--tune N] [--grid N] [--bars A-B] [--force] IN OUT"},
    {"tokenize", cmd_tokenize, "turn scores into tokens: REMI / REMI+ as MidiTok makes them, or ABC text",
     "tactus tokenize [--tokenizer remi|remi+|abc] [--config FILE] [--bpe FILE] [--ids] [--json] "
     "[--miditok-compat] [--strip-text] [--strip-titles] [--keep-x] FILE..."},
    {"detokenize", cmd_detokenize, "turn REMI / REMI+ tokens back into a MIDI file, ABC tokens into ABC text",
     "tactus detokenize [--tokenizer remi|remi+|abc] [--config FILE] [--bpe FILE] [--ids] [--programs LIST] "
     "-o OUT FILE"},
    {"vocab", cmd_vocab, "learn BPE merges for a tokenizer from files and folders of scores",
     "tactus vocab train --tokenizer remi|remi+|abc --bpe N --out FILE [--config FILE] [-j N] "
     "[--min-frequency N] [--strip-text] [--strip-titles] [--keep-x] [--json] INPUT..."},
    {"analyze", cmd_analyze, "key, chords, voice leading and statistics of scores",
     "tactus analyze [--json] [--tune N] [--profile NAME] [--max-list N] [--explain] [--surprisal] "
     "[--model CKPT] FILE..."},
    {"corpus", cmd_corpus, "index and analyze a corpus in SQLite; search, query, statistics, shards",
     "tactus corpus --db FILE [options] index|analyze|search|query|stats|export [ARG...]"},
    {"train", cmd_train, "train a model on corpus shards; checkpoints resume exactly",
     "tactus train --config MODEL.json --data SHARD.json --out CKPT [--valid SHARD.json] [--steps N] "
     "[--batch B] [--context T] [--lr X] [--warmup N] [--seed S] [--accum N] [--eval-every N] "
     "[--resume CKPT] [options]"},
    {"eval", cmd_eval, "loss, perplexity, bits per token and per note of a checkpoint on shards",
     "tactus eval (--model CKPT | --ngram N --train SHARD.json) --data SHARD.json [--context T] "
     "[--batch B] [--json]"},
    {"generate", cmd_generate, "continue a prompt with a checkpoint, under the tokenizer grammar",
     "tactus generate --model CKPT [--prompt FILE | --tokens TEXT] [-n N] [--temp X] [--top-k K] "
     "[--top-p P] [--min-p P] [--repeat-penalty X] [--seed S] [--out OUT.mid] [--ids]"},
    {"render", cmd_render, "draw a score as a piano roll (SVG): bars, beats, tracks, a marked span",
     "tactus render [--tune N] [--mark BARS] [--width PX] [--ppq PX] -o OUT.svg IN"},
    {"continue", cmd_continue, "continue a piece (MIDI, ABC) with the bundled model or another checkpoint",
     "tactus continue [--model CKPT] [--bars N | -n TOKENS] [--prompt-bars N] [--tune N] [--only-new] "
     "[--svg FILE] [--temp X] "
     "[--top-k K] [--top-p P] [--min-p P] [--seed S] [--json] -o OUT IN"},
    {"infill", cmd_infill, "write bars of a piece again from what comes before and after them",
     "tactus infill --bars A-B [--model CKPT] [--tune N] [--svg FILE] [--nll] [--temp X] [--top-k K] "
     "[--top-p P] [--min-p P] [--seed S] [--json] -o OUT IN"},
    {"help", cmd_help, "show the commands, or one command's usage",
     "tactus help [COMMAND]"},
    {NULL, NULL, NULL, NULL},
};

const tx_command *cli_find_command(const char *name)
{
    for (const tx_command *c = tx_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}
