/* paths.h: where tactus finds its data (bundled models, the sample corpus, vocabularies), installed
 * or run from a build folder, and small path helpers.
 * Ownership: returned strings are tx_malloc'd and freed by the caller with tx_free, unless noted. */
#ifndef TX_PATHS_H
#define TX_PATHS_H

#include <stddef.h>

#include "error.h"

/* The data file `rel` (for example "corpora/sample/001.mid"), looked for in this order: the folder
 * named by $TACTUS_DATA, the installed data folder, and the source tree the binary was built from.
 * NULL when none holds it. Caller frees. */
TX_API char *tx_data_path(const char *rel);
/* The part of path after the last '/'. Borrowed from path. */
TX_API const char *tx_basename(const char *path);
/* The extension of path in lower case without the dot ("mid"), into buf of size n; "" if none. */
TX_API const char *tx_extension(const char *path, char *buf, size_t n);

/* Every regular file under root (root itself when it is a file) that keep(path, ud) accepts (keep NULL
 * accepts all), sorted in byte order. Names starting with '.' are skipped; links are followed, except
 * a link back to a folder being walked (a loop); at most 64 folders deep; unreadable folders are
 * skipped. Appends to *paths / *n (which may already hold
 * paths: the whole list is sorted again). Caller frees with tx_free_paths(). */
TX_API int tx_find_files(const char *root, int (*keep)(const char *path, void *ud), void *ud, char ***paths,
                         size_t *n, tx_error *err);
TX_API void tx_free_paths(char **paths, size_t n);

#endif
