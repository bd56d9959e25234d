/*
 * Running SHA-256 digest of a stream's framing units (see digest.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

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
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < STREAM_DIGEST_LEN; i++) {
		out[2 * i] = hex[d->d[i] >> 4];
		out[2 * i + 1] = hex[d->d[i] & 0xf];
	}
	out[2 * STREAM_DIGEST_LEN] = '\0';
}

static int
digest_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
stream_digest_parse(struct stream_digest *d, const char *hex)
{
	uint8_t out[STREAM_DIGEST_LEN];
	int hi, lo;
	size_t i;

	if (strlen(hex) != 2 * STREAM_DIGEST_LEN)
		return -1;
	for (i = 0; i < STREAM_DIGEST_LEN; i++) {
		hi = digest_nibble(hex[2 * i]);
		lo = digest_nibble(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(d->d, out, sizeof(out));
	return 0;
}
