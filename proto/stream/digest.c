/*
 * Running SHA-256 digest of a stream's framing units (see digest.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "proto/base/hex.h"
#include "proto/base/log.h"
#include "proto/stream/digest.h"

static EVP_MD *digest_md;
static pthread_once_t digest_once = PTHREAD_ONCE_INIT;
/* One context per thread, reused: the digest runs once per command. */
static __thread EVP_MD_CTX *digest_ctx;

static void
digest_fetch(void)
{
	if ((digest_md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		fatalx("digest: OpenSSL has no SHA256");
}

static EVP_MD_CTX *
digest_context(void)
{
	pthread_once(&digest_once, digest_fetch);
	if (digest_ctx == NULL && (digest_ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("digest: out of memory");
	return digest_ctx;
}

void
stream_digest_thread_done(void)
{
	EVP_MD_CTX_free(digest_ctx);
	digest_ctx = NULL;
}

void
stream_digest_init(struct stream_digest *d)
{
	memset(d->d, 0, sizeof(d->d));
}

void
stream_digest_add(struct stream_digest *d, const void *unit, size_t len)
{
	EVP_MD_CTX *ctx = digest_context();
	unsigned int n = 0;

	if (EVP_DigestInit_ex2(ctx, digest_md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, d->d, sizeof(d->d)) != 1 ||
	    EVP_DigestUpdate(ctx, unit, len) != 1 ||
	    EVP_DigestFinal_ex(ctx, d->d, &n) != 1 || n != sizeof(d->d))
		fatalx("digest: SHA-256 failed");
}

void
stream_digest_hex(const struct stream_digest *d, char out[STREAM_DIGEST_HEXLEN])
{
	hex_encode(out, STREAM_DIGEST_HEXLEN, d->d, sizeof(d->d));
}

int
stream_digest_parse(struct stream_digest *d, const char *hex)
{
	if (strlen(hex) != 2 * STREAM_DIGEST_LEN)
		return -1;
	return hex_decode(d->d, sizeof(d->d), hex, HEX_ANYCASE);
}
