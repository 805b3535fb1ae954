#pragma once
// Incremental message digests from OpenSSL's libcrypto, for Swift.
//
// Why a C target: the hub client checks LFS blobs against their SHA-256 and other
// files against their git blob id (SHA-1). libcrypto is already on every machine
// that has libcurl (Debian's libcurl links it), so this costs no build time, while
// swift-crypto compiles its own BoringSSL on Linux (measured in the Hub notes).
// OpenSSL picks the SHA extensions of the CPU at run time.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ccrypto_algorithm {
    CCRYPTO_SHA256 = 0,
    CCRYPTO_SHA1 = 1,
} ccrypto_algorithm;

/// Largest digest any algorithm here writes (SHA-256).
#define CCRYPTO_MAX_DIGEST_LENGTH 32

typedef struct ccrypto_digest ccrypto_digest;

/// A fresh hasher; NULL when libcrypto cannot provide it (out of memory).
ccrypto_digest *ccrypto_digest_new(ccrypto_algorithm algorithm);
/// Adds bytes. Returns 0 on success.
int ccrypto_digest_update(ccrypto_digest *digest, const void *data, size_t length);
/// Writes the digest into `output` (at least CCRYPTO_MAX_DIGEST_LENGTH bytes) and
/// returns its length (32 or 20), or 0 on failure. The hasher cannot be updated afterwards.
size_t ccrypto_digest_final(ccrypto_digest *digest, uint8_t *output);
void ccrypto_digest_free(ccrypto_digest *digest);

#ifdef __cplusplus
}
#endif
