#ifndef GATEHOUSE_CLIBSSL_SHIM_H
#define GATEHOUSE_CLIBSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

/// SSL_set_tlsext_host_name is a macro: the server name sent in the handshake (SNI).
static inline long gatehouse_ssl_set_sni(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}

/// SSL_CTX_set_min_proto_version is a macro.
static inline long gatehouse_ssl_ctx_min_tls12(SSL_CTX *ctx) {
    return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}
#endif
