/* rk_sha256: see rk_sha256.h. One EVP_MD fetched once per process and one
 * EVP_MD_CTX per thread (freed when the thread ends), so a hash costs no
 * allocation and no algorithm lookup. */
#include "rk_sha256.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static pthread_key_t s_key;
static EVP_MD *s_md;

static void
s_free_ctx(void *p) {
    EVP_MD_CTX_free(p);
}

static void
s_init(void) {
    s_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!s_md || pthread_key_create(&s_key, s_free_ctx) != 0) {
        fputs("renraku: fatal: libcrypto has no SHA-256\n", stderr);
        abort();
    }
}

static void
s_fail(void) {
    fputs("renraku: fatal: libcrypto could not compute SHA-256 (out of "
          "memory)\n",
          stderr);
    abort();
}

void
rk_sha256(uint8_t out[RK_SHA256_LEN], const rk_part_t *parts, size_t n) {
    EVP_MD_CTX *ctx;
    unsigned int len = 0;

    pthread_once(&s_once, s_init);
    ctx = pthread_getspecific(s_key);
    if (!ctx) {
        ctx = EVP_MD_CTX_new();
        if (!ctx || pthread_setspecific(s_key, ctx) != 0)
            s_fail();
    }
    if (EVP_DigestInit_ex(ctx, s_md, NULL) != 1)
        s_fail();
    for (size_t i = 0; i < n; i++)
        if (parts[i].len > 0 &&
            EVP_DigestUpdate(ctx, parts[i].data, parts[i].len) != 1)
            s_fail();
    if (EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != RK_SHA256_LEN)
        s_fail();
}
