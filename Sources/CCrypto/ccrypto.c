#include "ccrypto.h"

#include <openssl/evp.h>
#include <stdlib.h>

struct ccrypto_digest {
    EVP_MD_CTX *context;
};

ccrypto_digest *ccrypto_digest_new(ccrypto_algorithm algorithm) {
    const EVP_MD *md = algorithm == CCRYPTO_SHA1 ? EVP_sha1() : EVP_sha256();
    ccrypto_digest *digest = calloc(1, sizeof(ccrypto_digest));
    if (digest == NULL) return NULL;
    digest->context = EVP_MD_CTX_new();
    if (digest->context == NULL || EVP_DigestInit_ex(digest->context, md, NULL) != 1) {
        EVP_MD_CTX_free(digest->context);
        free(digest);
        return NULL;
    }
    return digest;
}

int ccrypto_digest_update(ccrypto_digest *digest, const void *data, size_t length) {
    return EVP_DigestUpdate(digest->context, data, length) == 1 ? 0 : -1;
}

size_t ccrypto_digest_final(ccrypto_digest *digest, uint8_t *output) {
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(digest->context, output, &length) != 1) return 0;
    return length;
}

void ccrypto_digest_free(ccrypto_digest *digest) {
    if (digest == NULL) return;
    EVP_MD_CTX_free(digest->context);
    free(digest);
}
