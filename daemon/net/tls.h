/*
 * TLS 1.3 with mutual authentication (OpenSSL), ALPN "btrsend/2".
 *
 * Connections are single-transfer and live in worker processes (or in
 * btrsendctl), so the model is a blocking one with deadlines: the socket
 * is non-blocking underneath and every wait goes through poll(2) with the
 * connection's timeout; a peer silent for longer is dropped.  A receiver
 * may move its reads to a thread of their own (tls_reader_start).  The
 * exception is the server's handshake in the daemon's parent, before any
 * process is spent on a client: tls_accept_step never waits, and the
 * parent's event loop calls it again when the socket is ready.
 *
 * Failures come back as one clear line in err, naming the likely cause
 * (plaintext client, old TLS, other CA, name mismatch, ...), for the
 * caller to log, and as a class in t->cls for the caller to act on; the
 * peer learns what it can through TLS alerts.
 */
#ifndef BTRSEND_DAEMON_NET_TLS_H
#define BTRSEND_DAEMON_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <pthread.h>

#include <openssl/ssl.h>

#include "proto/base/types.h"

#define TLS_NAME_MAX 255

struct tls_conf {
	const char *certificate;
	const char *key;
	const char *ca;
};

struct tls_conn {
	SSL *ssl;
	int fd;
	/* atomic: a read-ahead thread waits with it, the owner may change
	 * it (last words) or set timed_out on a write meanwhile */
	_Atomic int timeout_ms; /* for each wait; 0: forever */
	char peer[TLS_NAME_MAX + 1];    /* admitted client / server name */
	bool hello_seen;        /* server: the first byte was a TLS record */
	unsigned long long nread, nwritten;     /* application bytes */
	_Atomic bool timed_out; /* the last failure was a timeout */
	/*
	 * The last failure's class: ERR_PERMANENT for a certificate either
	 * side refused, ERR_CLOSED when the peer closed the connection (EOF
	 * or reset), else ERR_TEMPORARY.
	 */
	_Atomic enum err_class cls;
	/*
	 * When set, held around every SSL call (never across a wait), so
	 * that a keepalive thread may write while the owner waits to read.
	 */
	pthread_mutex_t *lock;
	struct tls_reader *rd;  /* tls_reader_start's thread, or NULL */
	int wake_fd;            /* ends the reader's waits; -1 without one */
};

/*
 * Before any other OpenSSL call of the process: from here on, whatever
 * OpenSSL frees is zeroed first, so that no freed buffer keeps a copy
 * of a key (one loaded by tls_ctx_new, for one).  0, or -1 when OpenSSL
 * allocated already.
 */
int  tls_init(void);

/* A context for one role; NULL with a message (which file, why). */
SSL_CTX *tls_ctx_new(const struct tls_conf *c, bool server, char *err,
    size_t errlen);

/*
 * Server side of a handshake on a connected socket.  The client's
 * certificate must chain to the CA and carry exactly one of clients[],
 * byte for byte, as a CN or a DNS SAN; that name goes to t->peer.  A
 * plaintext client gets a one-line plaintext explanation before the
 * close, one without ALPN btrsend/2 (an older btrsend: btrsend/1) the
 * no_application_protocol alert.
 * 0; -1 on a failed handshake; -2 when the handshake succeeded but the
 * certificate names no listed client, two of them, or one only if case
 * is ignored (the connection is usable, to tell the client why before
 * closing; the message names the peer's address and the certificate's
 * names in the last two cases).
 *
 * Writes to a peer that is gone raise SIGPIPE: callers ignore it.
 */
int  tls_accept(struct tls_conn *t, SSL_CTX *ctx, int fd, int timeout_ms,
    char *const *clients, size_t nclients, char *err, size_t errlen);
/*
 * The same handshake in steps, never waiting, for an event loop.
 * tls_accept_start: 0 or -1.  tls_accept_step: 0, -1 and -2 as
 * tls_accept, or TLS_WANT_READ / TLS_WANT_WRITE: call again when the
 * socket is ready for that.  Until tls_accepted the connection has no
 * buffers of its own (OpenSSL's are released while it waits) and no
 * timeout: the caller bounds the whole handshake.  tls_accepted, after
 * 0 or -2: ready for tls_read and tls_write_all, each wait bounded by
 * timeout_ms.  0 or -1.
 */
#define TLS_WANT_READ	1
#define TLS_WANT_WRITE	2
int  tls_accept_start(struct tls_conn *t, SSL_CTX *ctx, int fd, char *err,
    size_t errlen);
int  tls_accept_step(struct tls_conn *t, char *const *clients,
    size_t nclients, char *err, size_t errlen);
int  tls_accepted(struct tls_conn *t, int timeout_ms, char *err,
    size_t errlen);
/*
 * In a receive worker, after tls_accepted and before it reads a byte of
 * the client's: let go of the private key.  The connection goes on in a
 * context without certificate or key, and ctx, the server context it
 * was accepted with, is freed: the caller's must be its last reference
 * (other connections' are gone), and OpenSSL clears the key as it frees
 * it.  0, or -1 with a message (the caller must not go on).
 */
int  tls_drop_key(struct tls_conn *t, SSL_CTX *ctx, char *err,
    size_t errlen);
/*
 * Without waiting: write buf from *off (advanced) to len.  0 when all of
 * it is out, TLS_WANT_READ or TLS_WANT_WRITE, or -1 with a message.
 */
int  tls_write_step(struct tls_conn *t, const void *buf, size_t len,
    size_t *off, char *err, size_t errlen);
/*
 * Free the TLS state and send nothing: the connection carries on in
 * another process that holds the same state (a forked worker), or is
 * dropped.  The fd stays open.
 */
void tls_discard(struct tls_conn *t);
/* One close_notify, without waiting, then tls_discard. */
void tls_say_goodbye(struct tls_conn *t);

/* Client side: the server's certificate must carry `name`.  0 or -1. */
int  tls_connect(struct tls_conn *t, SSL_CTX *ctx, int fd, const char *name,
    int timeout_ms, char *err, size_t errlen);

/* Bytes read (> 0), 0 on a clean close by the peer, -1 with a message. */
ssize_t tls_read(struct tls_conn *t, void *buf, size_t len, char *err,
    size_t errlen);
int  tls_write_all(struct tls_conn *t, const void *buf, size_t len,
    char *err, size_t errlen);
/* a then b, as one write: no copy of b to join them. */
int  tls_write2_all(struct tls_conn *t, const void *a, size_t alen,
    const void *b, size_t blen, char *err, size_t errlen);
/*
 * Read ahead in a thread of its own: from here on a thread receives and
 * decrypts into a ring of 4 MiB while the caller works, and
 * tls_read takes from the ring (its timeout and errors are the thread's,
 * passed on in order).  Needs t->lock (a keepalive thread's).  0, or -1
 * and reads stay in the caller.  Stopped by tls_reader_stop or
 * tls_close.
 */
int  tls_reader_start(struct tls_conn *t);
void tls_reader_stop(struct tls_conn *t);
/*
 * With the read-ahead thread: wait for the next len bytes and point *p at
 * them in the ring, without a copy.  1: they lie there in one piece and
 * stay the caller's until tls_view_done(t, len); 0: they do not (they
 * wrap, the stream ends first, or no thread runs) and nothing was taken:
 * read them with tls_read, which also reports the end.
 */
int  tls_view(struct tls_conn *t, size_t len, const uint8_t **p);
void tls_view_done(struct tls_conn *t, size_t len);
/*
 * Bytes already taken off the socket (in the ring, in OpenSSL, or in the
 * read buffer below it): read them before polling the fd.
 */
bool tls_pending(const struct tls_conn *t);
/*
 * Send close_notify (best effort), free, then linger up to 2 s for the
 * peer's close so that our last message is not lost to a reset.  The fd
 * stays open.
 */
void tls_close(struct tls_conn *t);

#endif
