#include "triage_shims.h"

#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/err.h>

int triage_hkdf_expand(int hash, const uint8_t *secret, size_t secret_len, const uint8_t *info, size_t info_len,
                       uint8_t *out, size_t out_len) {
    const EVP_MD *md = hash == 384 ? EVP_sha384() : EVP_sha256();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    if (!ctx) return -1;
    size_t len = out_len;
    int ok = EVP_PKEY_derive_init(ctx) > 0
        && EVP_PKEY_CTX_set_hkdf_mode(ctx, EVP_PKEY_HKDEF_MODE_EXPAND_ONLY) > 0
        && EVP_PKEY_CTX_set_hkdf_md(ctx, md) > 0
        && EVP_PKEY_CTX_set1_hkdf_key(ctx, secret, (int)secret_len) > 0
        && EVP_PKEY_CTX_add1_hkdf_info(ctx, info, (int)info_len) > 0
        && EVP_PKEY_derive(ctx, out, &len) > 0 && len == out_len;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ok ? 0 : -1;
}

long triage_aead_open(int cipher, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
                      const uint8_t *sealed, size_t sealed_len, uint8_t *out) {
    if (sealed_len < 16) return -1;
    const EVP_CIPHER *c = cipher == 1 ? EVP_aes_128_gcm() : cipher == 2 ? EVP_aes_256_gcm() : cipher == 3 ? EVP_chacha20_poly1305() : NULL;
    if (!c) return -1;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) return -1;
    size_t text_len = sealed_len - 16;
    int len = 0, total = 0;
    int ok = EVP_DecryptInit_ex(ctx, c, NULL, NULL, NULL) > 0
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) > 0
        && EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) > 0
        && EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)aad_len) > 0
        && EVP_DecryptUpdate(ctx, out, &len, sealed, (int)text_len) > 0;
    total = len;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, (void *)(sealed + text_len)) > 0
        && EVP_DecryptFinal_ex(ctx, out + total, &len) > 0;
    total += len;
    EVP_CIPHER_CTX_free(ctx);
    ERR_clear_error();
    return ok ? (long)total : -1;
}
