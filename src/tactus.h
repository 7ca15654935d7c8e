/* tactus.h: the public interface of libtactus, one include for everything.
 * Each header states its own ownership rule at its top. */
#ifndef TACTUS_H
#define TACTUS_H

#include "error.h"
#include "memory.h"
#include "json.h"
#include "score.h"
#include "midi.h"
#include "progress.h"
#include "paths.h"
#include "scoreio.h"
#include "grid.h"
#include "kern.h"
#include "analyze.h"
#include "render.h"
#include "hash.h"
#include "abc.h"
#include "remi.h"
#include "bpe.h"
#include "abctok.h"
#include "corpus.h"
#include "model.h"
#include "safetensors.h"
#include "dist.h"
#include "ngram.h"

/* The library's version, "MAJOR.MINOR.PATCH". */
TX_API const char *tx_version(void);

#endif
