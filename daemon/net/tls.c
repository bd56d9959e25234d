/*
 * TLS 1.3 connections with mutual authentication (see tls.h).
 */
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "proto/base/log.h"
#include "daemon/net/tls.h"
#include "proto/msg/frame.h"
#include "proto/msg/wire.h"

#define TLS_ALPN_WIRE "\x09" WIRE_ALPN
#define TLS_READ_BUF	(256u << 10)
#define TLS_WRITE_BUF	(256u << 10)
#define TLS_RING	(4u << 20)      /* tls_reader_start's read-ahead */
#define TLS_SUITES	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:" \
	"TLS_CHACHA20_POLY1305_SHA256"

/* Told to a client that speaks plaintext to a TLS port. */
static const char tls_plaintext_reply[] =
    "btrsend: this port speaks TLS 1.3 only (ALPN " WIRE_ALPN
    ") with client certificates\n";

/*
 * OpenSSL's allocations, each zeroed as it is freed (and a moved
 * realloc's old block): loading the key leaves freed buffers holding it
 * (OpenSSL 3.0.19 frees a block with the key's PKCS#8 DER uncleared),
 * and every receive worker forked later would inherit them in its heap.
 */
static void *
tls_mem_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return malloc(n);
}

static void
tls_mem_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

static void *
tls_mem_realloc(void *p, size_t n, const char *file, int line)
{
	size_t have;
	void *q;

	if (p == NULL)
		return tls_mem_malloc(n, file, line);
	if (n == 0) {
		tls_mem_free(p, file, line);
		return NULL;
	}
	if ((have = malloc_usable_size(p)) >= n)
		return p;
	if ((q = malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, have);
	tls_mem_free(p, file, line);
	return q;
}

int
tls_init(void)
{
	return CRYPTO_set_mem_functions(tls_mem_malloc, tls_mem_realloc,
	    tls_mem_free) == 1 ? 0 : -1;
}

/* The most specific OpenSSL error on the queue, as text. */
static void
tls_errstr(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		frame_errf(buf, len, "no OpenSSL error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
}

/*
 * A mark on a server's SSL whose client offered only an older btrsend's
 * protocol (WIRE_ALPN_V1), so that its refusal says to upgrade it.
 */
static int tls_old_idx = -1;
static pthread_once_t tls_old_once = PTHREAD_ONCE_INIT;

static void
tls_old_init(void)
{
	tls_old_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* Whether an ALPN protocol list (RFC 7301 wire form) holds proto. */
static bool
tls_alpn_lists(const unsigned char *in, unsigned int inlen,
    const char *proto)
{
	size_t plen = strlen(proto);
	unsigned int i;

	for (i = 0; i < inlen; i += 1 + in[i])
		if (in[i] == plen && i + 1 + plen <= inlen &&
		    memcmp(in + i + 1, proto, plen) == 0)
			return true;
	return false;
}

/* Only WIRE_ALPN: an older peer is refused, and told so (tls_explain). */
static int
tls_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *sel;

	(void)arg;
	if (SSL_select_next_proto(&sel, outlen,
	    (const unsigned char *)TLS_ALPN_WIRE, sizeof(TLS_ALPN_WIRE) - 1,
	    in, inlen) != OPENSSL_NPN_NEGOTIATED) {
		if (tls_alpn_lists(in, inlen, WIRE_ALPN_V1) && tls_old_idx != -1)
			(void)SSL_set_ex_data(ssl, tls_old_idx, (void *)1);
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* Whether a ClientHello lists TLS 1.3 among its supported versions. */
static bool
tls_hello_offers_13(SSL *ssl)
{
	const unsigned char *p;
	size_t len, i;

	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions, &p,
	    &len) != 1 || len < 1 || p[0] != len - 1)
		return false;
	for (i = 1; i + 1 < len; i += 2)
		if (p[i] == 0x03 && p[i + 1] == 0x04)
			return true;
	return false;
}

/*
 * A client that offers no ALPN at all never reaches tls_alpn_select
 * (OpenSSL calls it only for the extension), and would complete the
 * handshake to be dropped without a word: refuse it here, with the
 * alert that one offering another protocol gets.  A client without
 * TLS 1.3 is let through, to get the version check's own alert.
 */
static int
tls_client_hello(SSL *ssl, int *al, void *arg)
{
	const unsigned char *ext;
	size_t len;

	(void)arg;
	if (!tls_hello_offers_13(ssl) || SSL_client_hello_get0_ext(ssl,
	    TLSEXT_TYPE_application_layer_protocol_negotiation, &ext,
	    &len) == 1)
		return SSL_CLIENT_HELLO_SUCCESS;
	*al = SSL_AD_NO_APPLICATION_PROTOCOL;
	return SSL_CLIENT_HELLO_ERROR;
}

/* The certificate and its key, or only the CA (keyed false). */
static int
tls_ctx_files(SSL_CTX *ctx, const struct tls_conf *c, bool server,
    bool keyed, char *err, size_t errlen)
{
	char why[256];
	STACK_OF(X509_NAME) *cas;

	if (!keyed)
		goto ca;
	if (SSL_CTX_use_certificate_chain_file(ctx, c->certificate) != 1) {
		tls_errstr(why, sizeof(why));
		frame_errf(err, errlen, "tls certificate %s: %s",
		    c->certificate, why);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, c->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		tls_errstr(why, sizeof(why));
		frame_errf(err, errlen, "tls key %s (for %s): %s", c->key,
		    c->certificate, why);
		return -1;
	}
ca:
	if (SSL_CTX_load_verify_locations(ctx, c->ca, NULL) != 1) {
		tls_errstr(why, sizeof(why));
		frame_errf(err, errlen, "tls ca %s: %s", c->ca, why);
		return -1;
	}
	if (server) {
		if ((cas = SSL_load_client_CA_file(c->ca)) == NULL) {
			frame_errf(err, errlen, "tls ca %s: no certificates",
			    c->ca);
			return -1;
		}
		SSL_CTX_set_client_CA_list(ctx, cas);
	}
	return 0;
}

static SSL_CTX *
tls_ctx_make(const struct tls_conf *c, bool server, bool keyed, char *err,
    size_t errlen)
{
	SSL_CTX *ctx;
	int mode = SSL_VERIFY_PEER;

	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (ctx == NULL) {
		frame_errf(err, errlen, "tls: cannot create a context");
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		frame_errf(err, errlen, "tls: this OpenSSL lacks TLS 1.3");
		goto fail;
	}
	/*
	 * AES-128-GCM first: with AES-NI it is the cheapest TLS 1.3 suite
	 * (10 AES rounds, not 14), and at 1.5 GB per transfer the cipher is
	 * a good part of both sides' CPU.  The server's order decides.
	 */
	if (SSL_CTX_set_ciphersuites(ctx, TLS_SUITES) != 1) {
		frame_errf(err, errlen, "tls: cannot set the cipher suites");
		goto fail;
	}
	if (server)
		SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (tls_ctx_files(ctx, c, server, keyed, err, errlen) == -1)
		goto fail;
	if (server) {
		mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		SSL_CTX_set_client_hello_cb(ctx, tls_client_hello, NULL);
		pthread_once(&tls_old_once, tls_old_init);
		SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_select, NULL);
		/* One transfer per connection: tickets would only be noise. */
		SSL_CTX_set_num_tickets(ctx, 0);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	} else if (SSL_CTX_set_alpn_protos(ctx,
	    (const unsigned char *)TLS_ALPN_WIRE, sizeof(TLS_ALPN_WIRE) - 1)) {
		frame_errf(err, errlen, "tls: cannot set ALPN");
		goto fail;
	}
	SSL_CTX_set_verify(ctx, mode, NULL);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * A server context carries a twin without certificate and key (in its
 * ex_data, freed with it): every connection is born of the twin and
 * switched to the keyed context for its handshake, so that once the
 * handshake is done, tls_drop_key can leave the connection with no
 * reference to the key at all.  An SSL keeps a reference to the context
 * it was born of for all its life (its session context, which
 * SSL_set_SSL_CTX does not change); born of the keyed one, it would keep
 * the key alive.
 */
static int tls_keyless_idx = -1;
static pthread_once_t tls_keyless_once = PTHREAD_ONCE_INIT;

static void
tls_keyless_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	SSL_CTX_free(ptr);
}

static void
tls_keyless_init(void)
{
	tls_keyless_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
	    tls_keyless_free);
}

SSL_CTX *
tls_ctx_new(const struct tls_conf *c, bool server, char *err, size_t errlen)
{
	SSL_CTX *ctx, *twin;

	if ((ctx = tls_ctx_make(c, server, true, err, errlen)) == NULL ||
	    !server)
		return ctx;
	pthread_once(&tls_keyless_once, tls_keyless_init);
	if (tls_keyless_idx == -1 ||
	    (twin = tls_ctx_make(c, server, false, err, errlen)) == NULL) {
		if (tls_keyless_idx == -1)
			frame_errf(err, errlen, "tls: out of memory");
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_set_ex_data(ctx, tls_keyless_idx, twin) != 1) {
		frame_errf(err, errlen, "tls: out of memory");
		SSL_CTX_free(twin);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* A server context's twin without a key, or NULL (a client's). */
static SSL_CTX *
tls_keyless(SSL_CTX *ctx)
{
	if (tls_keyless_idx == -1)
		return NULL;
	return SSL_CTX_get_ex_data(ctx, tls_keyless_idx);
}

int
tls_drop_key(struct tls_conn *t, SSL_CTX *ctx, char *err, size_t errlen)
{
	SSL_CTX *twin = tls_keyless(ctx);

	/*
	 * The switch replaces the SSL's copy of the certificate set (its
	 * CERT), the one reference to the key besides the context's; the
	 * established TLS 1.3 connection needs no key again (no tickets,
	 * no renegotiation; a KeyUpdate derives from the traffic secret).
	 */
	if (twin == NULL || SSL_get_SSL_CTX(t->ssl) != ctx ||
	    !SSL_is_init_finished(t->ssl) ||
	    SSL_set_SSL_CTX(t->ssl, twin) != twin ||
	    SSL_get_privatekey(t->ssl) != NULL) {
		frame_errf(err, errlen, "tls: cannot let go of the private key");
		ERR_clear_error();
		return -1;
	}
	/* the last reference: OpenSSL clears the key as it frees it */
	SSL_CTX_free(ctx);
	return 0;
}

/*
 * Wait until the socket is ready; -1 with a message on timeout.  The
 * waits of a read (`wakeable`) also end, with -1, when t->wake_fd is
 * signalled: that is how tls_reader_stop reaches its thread.
 */
static int
tls_wait(struct tls_conn *t, bool for_write, bool wakeable, char *err,
    size_t errlen)
{
	struct pollfd p[2] = {
		{ t->fd, for_write ? POLLOUT : POLLIN, 0 },
		{ t->wake_fd, POLLIN, 0 },
	};
	nfds_t n = wakeable && t->wake_fd != -1 ? 2 : 1;
	int r;

	do
		r = poll(p, n, t->timeout_ms > 0 ? t->timeout_ms : -1);
	while (r == -1 && errno == EINTR);
	if (r == -1) {
		t->cls = ERR_TEMPORARY;
		frame_errf(err, errlen, "poll: %s", strerror(errno));
		return -1;
	}
	if (r == 0) {
		t->cls = ERR_TEMPORARY;
		t->timed_out = true;
		frame_errf(err, errlen, "peer %s for %d s (timeout)", for_write ?
		    "accepted no data" : "sent nothing", t->timeout_ms / 1000);
		return -1;
	}
	if (n == 2 && p[1].revents != 0) {
		t->cls = ERR_TEMPORARY;
		frame_errf(err, errlen, "reading stopped");
		return -1;
	}
	return 0;
}

static bool
tls_verify_is_ca(long v)
{
	return v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	    v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
	    v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
	    v == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
	    v == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE ||
	    v == X509_V_ERR_CERT_SIGNATURE_FAILURE;
}

/* Our own check of the peer's certificate failed: say why. */
static void
tls_explain_verify(struct tls_conn *t, char *err, size_t errlen)
{
	long v = SSL_get_verify_result(t->ssl);
	const char *who = SSL_is_server(t->ssl) ? "client" : "server";

	t->cls = ERR_PERMANENT;

	if (tls_verify_is_ca(v))
		frame_errf(err, errlen, "%s certificate is not signed by the "
		    "configured CA (%s)", who, X509_verify_cert_error_string(v));
	else if (v == X509_V_ERR_HOSTNAME_MISMATCH)
		frame_errf(err, errlen, "server certificate does not carry the "
		    "name '%s' (the target's 'name')", t->peer);
	else
		frame_errf(err, errlen, "%s certificate rejected: %s", who,
		    X509_verify_cert_error_string(v));
}

/*
 * OpenSSL's reasons that are about a certificate (a name, a CA, an
 * expiry): a retry meets the same certificate and fails the same way.
 */
static bool
tls_reason_is_cert(unsigned long code)
{
	static const int cert[] = {
		SSL_R_CERTIFICATE_VERIFY_FAILED, SSL_R_MISSING_RSA_CERTIFICATE,
		SSL_R_NO_CERTIFICATES_RETURNED, SSL_R_NO_CERTIFICATE_ASSIGNED,
		SSL_R_NO_CERTIFICATE_SET, SSL_R_DANE_TLSA_BAD_CERTIFICATE,
		SSL_R_DANE_TLSA_BAD_CERTIFICATE_USAGE,
		SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE,
		SSL_R_SIGNATURE_FOR_NON_SIGNING_CERTIFICATE,
		SSL_R_INVALID_CERTIFICATE_OR_ALG,
		SSL_R_UNKNOWN_CERTIFICATE_TYPE, SSL_R_NOT_REPLACING_CERTIFICATE,
		SSL_R_NO_GOST_CERTIFICATE_SENT_BY_PEER,
		SSL_R_WRONG_CERTIFICATE_TYPE, SSL_R_SSLV3_ALERT_NO_CERTIFICATE,
		SSL_R_SSLV3_ALERT_BAD_CERTIFICATE,
		SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE,
		SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED,
		SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED,
		SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN,
		SSL_R_TLSV1_CERTIFICATE_UNOBTAINABLE,
		SSL_R_TLSV1_BAD_CERTIFICATE_STATUS_RESPONSE,
		SSL_R_TLSV1_BAD_CERTIFICATE_HASH_VALUE,
		SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED,
		SSL_R_TLSV1_ALERT_UNKNOWN_CA, SSL_R_TLSV1_ALERT_ACCESS_DENIED,
	};
	size_t i;

	if (ERR_GET_LIB(code) == ERR_LIB_X509)
		return true;
	if (ERR_GET_LIB(code) != ERR_LIB_SSL)
		return false;
	for (i = 0; i < sizeof(cert) / sizeof(cert[0]); i++)
		if (ERR_GET_REASON(code) == cert[i])
			return true;
	return false;
}

/* The peer sent an alert: it refused us, most likely our certificate. */
static bool
tls_explain_alert(struct tls_conn *t, int reason, char *err, size_t errlen)
{
	const char *what, *host;

	switch (reason) {
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
		what = "our certificate is not signed by its CA";
		break;
	case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
	case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
		what = "it rejected our certificate (wrong name or CA?)";
		break;
	case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
		what = "it requires a client certificate";
		break;
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
		what = "it does not speak TLS 1.3";
		break;
	case SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL:
		/* the name we sent as SNI: the target's */
		host = SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
		frame_errf(err, errlen, "%s does not speak " WIRE_ALPN " (it "
		    "may run an older btrsend): upgrade it", host != NULL ?
		    host : "the peer");
		return true;
	default:
		return false;
	}
	frame_errf(err, errlen, "peer refused the connection: %s", what);
	return true;
}

static void tls_peer_addr(int fd, char *buf, size_t len);

/* A client that offered only WIRE_ALPN_V1: an older btrsend. */
static void
tls_explain_old(struct tls_conn *t, char *err, size_t errlen)
{
	char addr[NI_MAXHOST + NI_MAXSERV + 4];

	tls_peer_addr(t->fd, addr, sizeof(addr));
	frame_errf(err, errlen, "client %s runs an older btrsend (it offered "
	    "protocol " WIRE_ALPN_V1 "; this host speaks " WIRE_ALPN "): "
	    "upgrade it", addr);
}

/* A handshake or I/O call failed with SSL error e: one line in err. */
static void
tls_explain(struct tls_conn *t, int e, const char *op, char *err,
    size_t errlen)
{
	unsigned long code = ERR_peek_last_error();
	int reason = ERR_GET_REASON(code);
	char why[256];

	if (e == SSL_ERROR_SYSCALL && code == 0) {
		t->cls = ERR_CLOSED;
		frame_errf(err, errlen, "%s: connection closed by peer%s%s", op,
		    errno ? ": " : "", errno ? strerror(errno) : "");
		return;
	}
	t->cls = tls_reason_is_cert(code) ? ERR_PERMANENT : ERR_TEMPORARY;
	if (e == SSL_ERROR_ZERO_RETURN) {
		frame_errf(err, errlen, "%s: peer closed the connection", op);
		return;
	}
	if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED)
		tls_explain_verify(t, err, errlen);
	else if (reason == SSL_R_UNSUPPORTED_PROTOCOL)
		frame_errf(err, errlen, "client offered only TLS 1.2 or older; "
		    "TLS 1.3 is required");
	else if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
		frame_errf(err, errlen, "client presented no certificate");
	else if (reason == SSL_R_NO_APPLICATION_PROTOCOL &&
	    tls_old_idx != -1 && SSL_get_ex_data(t->ssl, tls_old_idx) != NULL)
		tls_explain_old(t, err, errlen);
	else if (reason == SSL_R_NO_APPLICATION_PROTOCOL ||
	    (reason == SSL_R_CALLBACK_FAILED && SSL_is_server(t->ssl)))
		/* our only server callback that fails is tls_client_hello */
		frame_errf(err, errlen, "client did not offer ALPN " WIRE_ALPN);
	else if (!tls_explain_alert(t, reason, err, errlen)) {
		tls_errstr(why, sizeof(why));
		frame_errf(err, errlen, "%s: %s", op, why);
	}
	ERR_clear_error();
}

/*
 * Both directions go through one buffer BIO over the socket.  Writes:
 * a frame's 16 KiB records leave in write(2)s of TLS_WRITE_BUF, not one
 * each; tls_write_all flushes, and OpenSSL flushes after handshake
 * messages and alerts.  Reads: one read(2) fills TLS_READ_BUF, and
 * OpenSSL takes each record's header and body from it, one copy.
 * OpenSSL's own read-ahead would also read in bulk, but OpenSSL 3.0
 * moves the unread rest of its buffer to the front before every record
 * (ssl3_read_n's clearold): with a large buffer that is several copies
 * of every byte, and was a third of the receiving thread's time.
 * tls_pending counts what waits in the buffer.
 */
static int
tls_set_bios(struct tls_conn *t)
{
	BIO *sock, *buf;

	if ((sock = BIO_new_socket(t->fd, BIO_NOCLOSE)) == NULL)
		return -1;
	if ((buf = BIO_new(BIO_f_buffer())) == NULL ||
	    BIO_set_read_buffer_size(buf, TLS_READ_BUF) != 1 ||
	    BIO_set_write_buffer_size(buf, TLS_WRITE_BUF) != 1) {
		BIO_free(buf);
		BIO_free(sock);
		return -1;
	}
	BIO_push(buf, sock);
	SSL_set_bio(t->ssl, buf, buf);          /* takes the chain */
	return 0;
}

/*
 * A server's handshake goes through the bare socket: a connection that
 * has not authenticated holds no 512 KiB of buffers, and OpenSSL's own
 * are released whenever it waits (SSL_MODE_RELEASE_BUFFERS).
 * tls_accepted puts tls_set_bios's chain in its place.
 */
static int
tls_set_bare_bio(struct tls_conn *t)
{
	BIO *sock;

	if ((sock = BIO_new_socket(t->fd, BIO_NOCLOSE)) == NULL)
		return -1;
	SSL_set_bio(t->ssl, sock, sock);        /* takes it */
	SSL_set_mode(t->ssl, SSL_MODE_RELEASE_BUFFERS);
	return 0;
}

static int
tls_setup(struct tls_conn *t, SSL_CTX *ctx, int fd, int timeout_ms,
    bool bare, char *err, size_t errlen)
{
	SSL_CTX *twin = tls_keyless(ctx);       /* a server's */
	int fl;

	memset(t, 0, sizeof(*t));
	t->fd = fd;
	t->wake_fd = -1;
	t->cls = ERR_TEMPORARY;
	t->timeout_ms = timeout_ms;
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		frame_errf(err, errlen, "fcntl: %s", strerror(errno));
		return -1;
	}
	if ((t->ssl = SSL_new(twin != NULL ? twin : ctx)) == NULL ||
	    (twin != NULL && SSL_set_SSL_CTX(t->ssl, ctx) != ctx) ||
	    (bare ? tls_set_bare_bio(t) : tls_set_bios(t)) == -1) {
		frame_errf(err, errlen, "tls: out of memory");
		return -1;
	}
	return 0;
}

/*
 * One SSL_do_handshake as far as the socket allows: 0 when done,
 * TLS_WANT_READ or TLS_WANT_WRITE, -1 with a message.
 */
static int
tls_handshake_step(struct tls_conn *t, char *err, size_t errlen)
{
	const unsigned char *alpn;
	unsigned int alpnlen;
	int r, e;

	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(t->ssl);
	if (r != 1) {
		e = SSL_get_error(t->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			return TLS_WANT_READ;
		if (e == SSL_ERROR_WANT_WRITE)
			return TLS_WANT_WRITE;
		tls_explain(t, e, "handshake", err, errlen);
		return -1;
	}
	SSL_get0_alpn_selected(t->ssl, &alpn, &alpnlen);
	if (alpnlen != strlen(WIRE_ALPN) || memcmp(alpn, WIRE_ALPN, alpnlen)) {
		frame_errf(err, errlen, "peer did not agree on ALPN " WIRE_ALPN);
		return -1;
	}
	return 0;
}

static int
tls_handshake(struct tls_conn *t, char *err, size_t errlen)
{
	int r;

	while ((r = tls_handshake_step(t, err, errlen)) > 0)
		if (tls_wait(t, r == TLS_WANT_WRITE, false, err, errlen) == -1)
			return -1;
	return r;
}

/*
 * Refuse a client that does not start with a TLS handshake record.
 * Without waiting: 0, TLS_WANT_READ while nothing came, or -1.
 */
static int
tls_check_plaintext(struct tls_conn *t, char *err, size_t errlen)
{
	unsigned char b[8];
	ssize_t n;

	do
		n = recv(t->fd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return TLS_WANT_READ;
	if (n == -1) {
		frame_errf(err, errlen, "recv: %s", strerror(errno));
		return -1;
	}
	if (n == 0) {
		frame_errf(err, errlen, "client closed before the handshake");
		return -1;
	}
	if (b[0] == 0x16)       /* TLS record type: handshake */
		return 0;
	frame_errf(err, errlen, "client is not speaking TLS (plaintext? first "
	    "byte 0x%02x); refused", b[0]);
	/* Best effort: tell the human at the other end too. */
	(void)!send(t->fd, tls_plaintext_reply, sizeof(tls_plaintext_reply) - 1,
	    MSG_NOSIGNAL | MSG_DONTWAIT);
	return -1;
}

/*
 * What a client certificate's names (every CN and DNS SAN) say about the
 * listed clients.  The name becomes the client's directory under the
 * receive root, so it is matched byte for byte, never ignoring case, and
 * a certificate that carries two listed names is nobody.
 */
struct tls_ident {
	char *const	*clients;
	size_t		 nclients;
	const char	*exact, *other;	/* listed names it carries exactly */
	const char	*folded;	/* a listed name it carries but for case */
	char		 names[512];	/* its names, quoted, for the log */
};

/* The name in quotes, its bytes outside printable ASCII as '?'. */
static void
tls_ident_note(struct tls_ident *id, const unsigned char *p, size_t len)
{
	char q[TLS_NAME_MAX + 3];
	size_t i, n = 0, used = strlen(id->names);

	q[n++] = '\'';
	for (i = 0; i < len && i < TLS_NAME_MAX; i++)
		q[n++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	q[n++] = '\'';
	q[n] = '\0';
	if (strstr(id->names, q) == NULL)
		frame_errf(id->names + used, sizeof(id->names) - used, "%s%s",
		    used > 0 ? ", " : "", q);
}

static void
tls_ident_name(struct tls_ident *id, const unsigned char *p, int len)
{
	const char *c;
	size_t i, n;

	if (len <= 0)
		return;
	n = (size_t)len;
	tls_ident_note(id, p, n);
	for (i = 0; i < id->nclients; i++) {
		c = id->clients[i];
		if (strlen(c) != n)
			continue;
		if (memcmp(c, p, n) == 0) {
			if (id->exact == NULL || strcmp(id->exact, c) == 0)
				id->exact = c;
			else if (id->other == NULL)
				id->other = c;
		} else if (memchr(p, '\0', n) == NULL &&
		    strncasecmp(c, (const char *)p, n) == 0)
			id->folded = c;
	}
}

static void
tls_ident_collect(struct tls_ident *id, X509 *cert)
{
	X509_NAME *subj = X509_get_subject_name(cert);
	GENERAL_NAMES *sans;
	const GENERAL_NAME *g;
	unsigned char *utf8;
	int i, len;

	i = -1;
	while ((i = X509_NAME_get_index_by_NID(subj, NID_commonName, i)) >= 0) {
		len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(subj, i)));
		if (len < 0)
			continue;
		tls_ident_name(id, utf8, len);
		OPENSSL_free(utf8);
	}
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
		g = sk_GENERAL_NAME_value(sans, i);
		if (g->type == GEN_DNS)
			tls_ident_name(id, ASN1_STRING_get0_data(g->d.dNSName),
			    ASN1_STRING_length(g->d.dNSName));
	}
	GENERAL_NAMES_free(sans);
}

/* The peer's address and port, for the log. */
static void
tls_peer_addr(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv,
	    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		frame_errf(buf, len, "(unknown address)");
	else if (ss.ss_family == AF_INET6)
		frame_errf(buf, len, "[%s]:%s", host, serv);
	else
		frame_errf(buf, len, "%s:%s", host, serv);
}

/* Admit the one listed client the certificate names, or say why not. */
static int
tls_admit(struct tls_conn *t, X509 *cert, char *const *clients,
    size_t nclients, char *err, size_t errlen)
{
	struct tls_ident id;
	char cn[TLS_NAME_MAX + 1] = "?", addr[NI_MAXHOST + NI_MAXSERV + 4];

	memset(&id, 0, sizeof(id));
	id.clients = clients;
	id.nclients = nclients;
	tls_ident_collect(&id, cert);
	if (id.exact != NULL && id.other == NULL) {
		frame_errf(t->peer, sizeof(t->peer), "%s", id.exact);
		t->cls = ERR_NONE;
		return 0;
	}
	tls_peer_addr(t->fd, addr, sizeof(addr));
	if (id.exact != NULL)
		frame_errf(err, errlen, "client %s: certificate carries two "
		    "listed client names, '%s' and '%s' (its names: %s), so "
		    "its identity is ambiguous; give each client a certificate "
		    "with its own name only", addr, id.exact, id.other,
		    id.names);
	else if (id.folded != NULL)
		frame_errf(err, errlen, "client %s: certificate names %s match "
		    "the listed client '%s' only if case is ignored; names are "
		    "matched exactly: list the name as the certificate spells "
		    "it, or reissue the certificate", addr, id.names,
		    id.folded);
	else {
		X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
		    NID_commonName, cn, sizeof(cn));
		frame_errf(err, errlen, "client certificate '%s' carries no "
		    "name listed as a 'client' of the receive block", cn);
	}
	return -2;
}

int
tls_accept_start(struct tls_conn *t, SSL_CTX *ctx, int fd, char *err,
    size_t errlen)
{
	if (tls_setup(t, ctx, fd, 0, true, err, errlen) == -1)
		return -1;
	SSL_set_accept_state(t->ssl);
	return 0;
}

int
tls_accept_step(struct tls_conn *t, char *const *clients, size_t nclients,
    char *err, size_t errlen)
{
	X509 *cert;
	int r;

	if (!t->hello_seen) {
		if ((r = tls_check_plaintext(t, err, errlen)) != 0)
			return r;
		t->hello_seen = true;
	}
	if ((r = tls_handshake_step(t, err, errlen)) != 0)
		return r;
	t->cls = ERR_PERMANENT;		/* what is left is about the certificate */
	if ((cert = SSL_get0_peer_certificate(t->ssl)) == NULL) {
		frame_errf(err, errlen, "client presented no certificate");
		return -1;
	}
	return tls_admit(t, cert, clients, nclients, err, errlen);
}

int
tls_accepted(struct tls_conn *t, int timeout_ms, char *err, size_t errlen)
{
	t->timeout_ms = timeout_ms;
	SSL_clear_mode(t->ssl, SSL_MODE_RELEASE_BUFFERS);
	if (tls_set_bios(t) == -1) {
		frame_errf(err, errlen, "tls: out of memory");
		return -1;
	}
	return 0;
}

int
tls_accept(struct tls_conn *t, SSL_CTX *ctx, int fd, int timeout_ms,
    char *const *clients, size_t nclients, char *err, size_t errlen)
{
	int r;

	if (tls_accept_start(t, ctx, fd, err, errlen) == -1)
		return -1;
	t->timeout_ms = timeout_ms;
	while ((r = tls_accept_step(t, clients, nclients, err, errlen)) > 0)
		if (tls_wait(t, r == TLS_WANT_WRITE, false, err, errlen) == -1)
			return -1;
	if (r != -1 && tls_accepted(t, timeout_ms, err, errlen) == -1)
		return -1;
	return r;
}

int
tls_write_step(struct tls_conn *t, const void *buf, size_t len, size_t *off,
    char *err, size_t errlen)
{
	const char *p = buf;
	size_t n;
	BIO *b;
	int e;

	while (*off < len) {
		ERR_clear_error();
		errno = 0;
		if (SSL_write_ex(t->ssl, p + *off, len - *off, &n) == 1) {
			*off += n;
			t->nwritten += n;
			continue;
		}
		e = SSL_get_error(t->ssl, 0);
		if (e == SSL_ERROR_WANT_READ)
			return TLS_WANT_READ;
		if (e == SSL_ERROR_WANT_WRITE)
			return TLS_WANT_WRITE;
		tls_explain(t, e, "write", err, errlen);
		return -1;
	}
	b = SSL_get_wbio(t->ssl);
	errno = 0;
	if (BIO_flush(b) == 1)
		return 0;
	if (BIO_should_retry(b))
		return TLS_WANT_WRITE;
	frame_errf(err, errlen, "write: %s", errno ? strerror(errno) :
	    "connection closed by peer");
	return -1;
}

void
tls_discard(struct tls_conn *t)
{
	if (t->ssl == NULL)
		return;
	SSL_free(t->ssl);
	ERR_clear_error();
	t->ssl = NULL;
}

void
tls_say_goodbye(struct tls_conn *t)
{
	if (t->ssl == NULL)
		return;
	ERR_clear_error();
	(void)SSL_shutdown(t->ssl);
	tls_discard(t);
}

int
tls_connect(struct tls_conn *t, SSL_CTX *ctx, int fd, const char *name,
    int timeout_ms, char *err, size_t errlen)
{
	if (tls_setup(t, ctx, fd, timeout_ms, false, err, errlen) == -1)
		return -1;
	frame_errf(t->peer, sizeof(t->peer), "%s", name);
	SSL_set_connect_state(t->ssl);
	SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_set1_host(t->ssl, name) != 1 ||
	    SSL_set_tlsext_host_name(t->ssl, name) != 1) {
		frame_errf(err, errlen, "tls: bad server name '%s'", name);
		return -1;
	}
	return tls_handshake(t, err, errlen);
}

static void
tls_lock(struct tls_conn *t)
{
	if (t->lock != NULL)
		pthread_mutex_lock(t->lock);
}

static void
tls_unlock(struct tls_conn *t)
{
	if (t->lock != NULL)
		pthread_mutex_unlock(t->lock);
}

/* One SSL_read_ex, under the lock: 1 and *n, or 0 and the SSL error. */
static int
tls_read_once(struct tls_conn *t, void *buf, size_t len, size_t *n, int *e,
    char *err, size_t errlen)
{
	int ok;

	tls_lock(t);
	ERR_clear_error();
	errno = 0;
	ok = SSL_read_ex(t->ssl, buf, len, n);
	*e = ok == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, 0);
	if (*e != SSL_ERROR_NONE && *e != SSL_ERROR_ZERO_RETURN &&
	    *e != SSL_ERROR_WANT_READ && *e != SSL_ERROR_WANT_WRITE)
		tls_explain(t, *e, "read", err, errlen);
	tls_unlock(t);
	return ok == 1;
}

static ssize_t
tls_read_socket(struct tls_conn *t, void *buf, size_t len, char *err,
    size_t errlen)
{
	size_t n;
	int e;

	for (;;) {
		if (tls_read_once(t, buf, len, &n, &e, err, errlen)) {
			t->nread += n;
			return (ssize_t)n;
		}
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return -1;
		if (tls_wait(t, e == SSL_ERROR_WANT_WRITE, true, err,
		    errlen) == -1)
			return -1;
	}
}

/*
 * The read-ahead thread.  It alone calls SSL_read once started, into the
 * free part of the ring; the owner takes from the filled part.  Only
 * the counters move under r->mu, never the bytes: each part belongs to
 * one side until the counters hand it over.  The first failure or the
 * peer's close ends the thread and is reported after the bytes before.
 */
struct tls_reader {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint8_t *ring;
	size_t head, len;               /* filled part, from head, wrapping */
	bool stop, done, failed, timed_out;
	enum err_class cls;
	bool thread_waits, owner_waits; /* on cv: for room, for bytes */
	size_t want;                    /* bytes the waiting owner needs */
	char err[256];
};

static void
tls_reader_free(struct tls_reader *r, struct tls_conn *t)
{
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r->ring);
	free(r);
	close(t->wake_fd);
	t->wake_fd = -1;
}

static void *
tls_reader_main(void *arg)
{
	struct tls_conn *t = arg;
	struct tls_reader *r = t->rd;
	size_t tail, span;
	char err[sizeof(r->err)];
	ssize_t n;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->stop && r->len == TLS_RING) {
			r->thread_waits = true;
			pthread_cond_wait(&r->cv, &r->mu);
			r->thread_waits = false;
		}
		if (r->stop)
			break;
		tail = (r->head + r->len) % TLS_RING;
		span = TLS_RING - r->len;
		if (span > TLS_RING - tail)
			span = TLS_RING - tail;
		if (span > TLS_READ_BUF)
			span = TLS_READ_BUF;
		pthread_mutex_unlock(&r->mu);
		n = tls_read_socket(t, r->ring + tail, span, err, sizeof(err));
		pthread_mutex_lock(&r->mu);
		if (n > 0) {
			r->len += (size_t)n;
		} else {
			r->done = true;
			r->failed = n < 0;
			r->timed_out = t->timed_out;
			r->cls = n < 0 ? t->cls : ERR_CLOSED;
			memcpy(r->err, err, sizeof(err));
		}
		if (r->owner_waits && (r->len >= r->want || n <= 0))
			pthread_cond_signal(&r->cv);
		if (n <= 0)
			break;
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

int
tls_reader_start(struct tls_conn *t)
{
	struct tls_reader *r;

	if (t->rd != NULL || t->lock == NULL)
		return -1;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->ring = malloc(TLS_RING)) == NULL ||
	    (t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		if (r != NULL)
			free(r->ring);
		free(r);
		return -1;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	t->rd = r;
	if (pthread_create(&r->th, NULL, tls_reader_main, t) != 0) {
		t->rd = NULL;
		tls_reader_free(r, t);
		return -1;
	}
	return 0;
}

void
tls_reader_stop(struct tls_conn *t)
{
	struct tls_reader *r = t->rd;
	uint64_t one = 1;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	if (write(t->wake_fd, &one, sizeof(one)) == -1)
		log_warn("waking the TLS reader");
	pthread_join(r->th, NULL);
	t->rd = NULL;
	tls_reader_free(r, t);
}

/* Wait until the ring holds want bytes or the thread ended.  Under r->mu. */
static void
tls_ring_wait(struct tls_reader *r, size_t want)
{
	while (r->len < want && !r->done) {
		r->owner_waits = true;
		r->want = want;
		pthread_cond_wait(&r->cv, &r->mu);
		r->owner_waits = false;
	}
}

/* Hand n bytes at the head back to the thread.  Under r->mu. */
static void
tls_ring_take(struct tls_reader *r, size_t n)
{
	r->head = (r->head + n) % TLS_RING;
	r->len -= n;
	/* a thread waiting for room gets it by the quarter, not by the read */
	if (r->thread_waits && r->len <= TLS_RING / 4 * 3)
		pthread_cond_signal(&r->cv);
}

/* From the ring: as tls_read, in the order the thread read. */
static ssize_t
tls_read_ring(struct tls_conn *t, void *buf, size_t len, char *err,
    size_t errlen)
{
	struct tls_reader *r = t->rd;
	size_t n;

	pthread_mutex_lock(&r->mu);
	tls_ring_wait(r, 1);
	if (r->len == 0) {
		pthread_mutex_unlock(&r->mu);
		t->timed_out = r->timed_out;
		t->cls = r->cls;
		if (!r->failed)
			return 0;
		frame_errf(err, errlen, "%s", r->err);
		return -1;
	}
	n = r->len < len ? r->len : len;
	if (n > TLS_RING - r->head)
		n = TLS_RING - r->head;
	pthread_mutex_unlock(&r->mu);
	memcpy(buf, r->ring + r->head, n);
	pthread_mutex_lock(&r->mu);
	tls_ring_take(r, n);
	pthread_mutex_unlock(&r->mu);
	return (ssize_t)n;
}

int
tls_view(struct tls_conn *t, size_t len, const uint8_t **p)
{
	struct tls_reader *r = t->rd;
	bool whole;

	/* only the owner moves head: no lock needed to read it */
	if (r == NULL || len == 0 || len > TLS_RING - r->head)
		return 0;
	pthread_mutex_lock(&r->mu);
	tls_ring_wait(r, len);
	whole = r->len >= len;
	pthread_mutex_unlock(&r->mu);
	if (!whole)
		return 0;
	*p = r->ring + r->head;
	return 1;
}

void
tls_view_done(struct tls_conn *t, size_t len)
{
	struct tls_reader *r = t->rd;

	if (r == NULL)          /* stopped: the ring is gone */
		return;
	pthread_mutex_lock(&r->mu);
	tls_ring_take(r, len);
	pthread_mutex_unlock(&r->mu);
}

ssize_t
tls_read(struct tls_conn *t, void *buf, size_t len, char *err, size_t errlen)
{
	if (t->rd != NULL)
		return tls_read_ring(t, buf, len, err, errlen);
	return tls_read_socket(t, buf, len, err, errlen);
}

/* Push out what the write buffer holds.  0 or -1 with a message. */
static int
tls_flush(struct tls_conn *t, char *err, size_t errlen)
{
	BIO *b;
	int ok, retry;

	for (;;) {
		tls_lock(t);
		b = SSL_get_wbio(t->ssl);
		errno = 0;
		ok = BIO_flush(b) == 1;
		retry = !ok && BIO_should_retry(b);
		tls_unlock(t);
		if (ok)
			return 0;
		if (!retry) {
			t->cls = errno ? ERR_TEMPORARY : ERR_CLOSED;
			frame_errf(err, errlen, "write: %s", errno ?
			    strerror(errno) : "connection closed by peer");
			return -1;
		}
		if (tls_wait(t, true, false, err, errlen) == -1)
			return -1;
	}
}

static int
tls_write_buf(struct tls_conn *t, const void *buf, size_t len, char *err,
    size_t errlen)
{
	const char *p = buf;
	size_t n;
	int e, ok;

	while (len > 0) {
		tls_lock(t);
		ERR_clear_error();
		errno = 0;
		ok = SSL_write_ex(t->ssl, p, len, &n);
		e = ok == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, 0);
		if (ok == 1)
			t->nwritten += n;
		if (ok != 1 && e != SSL_ERROR_WANT_READ &&
		    e != SSL_ERROR_WANT_WRITE)
			tls_explain(t, e, "write", err, errlen);
		tls_unlock(t);
		if (ok == 1) {
			p += n;
			len -= n;
			continue;
		}
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return -1;
		if (tls_wait(t, e == SSL_ERROR_WANT_WRITE, false, err,
		    errlen) == -1)
			return -1;
	}
	return 0;
}

int
tls_write_all(struct tls_conn *t, const void *buf, size_t len, char *err,
    size_t errlen)
{
	if (tls_write_buf(t, buf, len, err, errlen) == -1)
		return -1;
	return tls_flush(t, err, errlen);
}

int
tls_write2_all(struct tls_conn *t, const void *a, size_t alen, const void *b,
    size_t blen, char *err, size_t errlen)
{
	if (tls_write_buf(t, a, alen, err, errlen) == -1 ||
	    tls_write_buf(t, b, blen, err, errlen) == -1)
		return -1;
	return tls_flush(t, err, errlen);
}

bool
tls_pending(const struct tls_conn *t)
{
	bool r;

	if (t->ssl == NULL)
		return false;
	if (t->rd != NULL) {
		pthread_mutex_lock(&t->rd->mu);
		r = t->rd->len > 0 || t->rd->done;
		pthread_mutex_unlock(&t->rd->mu);
		return r;
	}
	if (t->lock != NULL)
		pthread_mutex_lock(t->lock);
	r = SSL_has_pending(t->ssl) == 1 ||
	    BIO_pending(SSL_get_rbio(t->ssl)) > 0;
	if (t->lock != NULL)
		pthread_mutex_unlock(t->lock);
	return r;
}

/*
 * Closing with unread input makes the kernel send a reset, which can
 * destroy our last words (an alert, an error message) before the peer
 * reads them.  So: end our direction, then read and drop until the peer
 * closes too, bounded in time.
 */
static void
tls_linger(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	struct timespec start, now;
	char buf[16384];
	ssize_t n;
	long ms;

	if (shutdown(fd, SHUT_WR) == -1)
		return;
	/*
	 * Bounded by time, not by reads: a sender in full flight may have
	 * megabytes on the way, and stopping early resets the connection.
	 */
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (now.tv_sec - start.tv_sec) * 1000 +
		    (now.tv_nsec - start.tv_nsec) / 1000000;
		if (ms >= 2000 || poll(&p, 1, (int)(2000 - ms)) != 1)
			return;
		n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			return;
	}
}

void
tls_close(struct tls_conn *t)
{
	if (t->ssl == NULL)
		return;
	tls_reader_stop(t);
	ERR_clear_error();
	/* One non-blocking attempt: never wait on a peer that is gone. */
	(void)SSL_shutdown(t->ssl);
	SSL_free(t->ssl);
	ERR_clear_error();
	t->ssl = NULL;
	tls_linger(t->fd);
}
