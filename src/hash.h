/* hash.h: SHA-256 (FIPS 180-4), for comparing token streams with published sums and for content
 * hashing of corpus files.
 *
 * This is a plain, portable implementation: one streaming context, one one-shot helper, and a hex
 * formatter. It is not a general crypto library (no HMAC, no other digests) and makes no constant-time
 * promises. Ownership: a tx_sha256_ctx holds no heap memory; it lives wherever the caller puts it.
 */
#ifndef TX_HASH_H
#define TX_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define TX_SHA256_SIZE 32
#define TX_SHA256_HEX_SIZE 65   /* 64 hex digits and the NUL */

typedef struct tx_sha256_ctx {
    uint32_t state[8];
    uint64_t bytes;               /* message length so far */
    uint8_t block[64];            /* pending input, `bytes % 64` of it */
} tx_sha256_ctx;

TX_API void tx_sha256_init(tx_sha256_ctx *h);
TX_API void tx_sha256_update(tx_sha256_ctx *h, const void *data, size_t len);
/* Writes the 32-byte digest; the context must be initialised again before reuse. */
TX_API void tx_sha256_final(tx_sha256_ctx *h, uint8_t out[TX_SHA256_SIZE]);
/* One call: digest of len bytes. */
TX_API void tx_sha256(const void *data, size_t len, uint8_t out[TX_SHA256_SIZE]);
/* Lowercase hex of a digest into hex (TX_SHA256_HEX_SIZE bytes); returns hex. */
TX_API char *tx_sha256_hex(const uint8_t digest[TX_SHA256_SIZE], char hex[TX_SHA256_HEX_SIZE]);

#endif
