/*
 * TLS handshakes of the receive listener, in the parent's event loop:
 * nothing is forked for a connection until its client has proved a
 * listed name (daemon/listener.c then starts its worker).  Before that a
 * connection costs a descriptor and OpenSSL's state, and it is bounded
 * three ways (the receive block's keys):
 *
 *  - handshake-timeout: the WHOLE handshake, however the bytes trickle
 *    in (the smaller of it and the receive block's timeout);
 *  - max-handshakes-per-address: a connection beyond it from the same
 *    address (IPv6: the same /64) is closed at once;
 *  - max-handshakes: at the total, a new connection takes the place of
 *    the oldest one of the address holding the most, so that idle
 *    connections from a few addresses cannot keep a client out, and
 *    only a sustained flood from as many addresses can.
 *
 * Refusals are logged, at most HANDSHAKE_LOG_BURST lines a second (the
 * rest are counted and the count logged), naming the address.  A
 * refusal the client can be told about (an unlisted certificate, no
 * worker free) is written from here too, as an ERROR message, and the
 * connection drained for up to 2 s so that the words arrive.
 */
#ifndef BTRSEND_DAEMON_HANDSHAKE_H
#define BTRSEND_DAEMON_HANDSHAKE_H

#include <stdint.h>

#include <openssl/ssl.h>

#define HANDSHAKE_LOG_BURST	10	/* log lines a second */
#define HANDSHAKE_LINGER_MS	2000	/* last words, then drained this long */
#define HANDSHAKE_DEFER_MS	1000	/* handshake_defer, at most */
#define HANDSHAKE_DEFER_STEP_MS	100

struct conf;
struct event_base;
struct handshake;
struct tls_conn;

/*
 * A connection whose client is authenticated (its name in
 * handshake_tls(h)->peer): the callee must either start its worker and
 * handshake_release it, handshake_refuse it, or handshake_defer it.
 */
typedef void handshake_done_fn(struct handshake *h);

/* confp is read at each step: a reload's limits and clients apply. */
void	handshake_init(struct event_base *base, SSL_CTX *ctx,
	    struct conf *const *confp, handshake_done_fn *done);
/* A new connection, which is the module's from here on. */
void	handshake_add(int fd);
struct tls_conn *handshake_tls(struct handshake *h);
/* The peer's address and port, for the log. */
const char *handshake_addr(const struct handshake *h);
/*
 * Tell the client why not (ERROR code with the text), then close.  The
 * text is not logged here.
 */
void	handshake_refuse(struct handshake *h, uint32_t code, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));
/*
 * No worker for it now, but one may be ending (a client's connections
 * follow each other faster than the parent reaps): the done function is
 * called again in HANDSHAKE_DEFER_STEP_MS, the connection still counted
 * in the limits.  0, or -1 once it waited HANDSHAKE_DEFER_MS.
 */
int	handshake_defer(struct handshake *h);
/*
 * In the parent, once a worker forked with the connection: forget it
 * without a word to the peer (the worker speaks for it now).
 */
void	handshake_release(struct handshake *h);
/*
 * In that worker: free every other connection's TLS state (their
 * descriptors are the caller's to close), and this module's, but h's.
 */
void	handshake_forget_others(struct handshake *h);
/* Close every connection in handshake (the daemon stops). */
void	handshake_stop(void);
/* Connections in handshake or being refused now. */
unsigned handshake_count(void);

#endif
