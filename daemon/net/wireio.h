/*
 * Network messages over one TLS connection: encode and write, read and
 * decode, with the order machine checked in both directions.  A protocol
 * violation by the peer is answered with an ERROR message (best effort)
 * before the caller closes; an ERROR from the peer ends the exchange.
 */
#ifndef BTRSEND_DAEMON_NET_WIREIO_H
#define BTRSEND_DAEMON_NET_WIREIO_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "daemon/net/tls.h"
#include "proto/msg/wire.h"

#define WIREIO_READ_CHUNK (256u << 10)
/* A payload missing at least this much is read straight into place. */
#define WIREIO_DIRECT_MIN (16u << 10)

struct wireio {
	struct tls_conn *tls;
	struct frame_decoder dec;
	struct wire_fsm fsm;
	struct msgbuf out;
	uint8_t *in;
	size_t inlen, inoff;
	size_t view;            /* bytes of the ring the last payload is */
	uint32_t peer_error;    /* code of an ERROR received, else 0 */
	char err[512];
	/*
	 * The class of the failure in err: wire_error_class of an ERROR
	 * received, ERR_CLOSED when the peer closed the connection without
	 * one, else ERR_TEMPORARY.
	 */
	enum err_class cls;
	/* keepalive thread (wireio_keepalive_start); fields under ka_lock */
	bool ka_running, ka_stop, ka_writing;
	int ka_waiters;         /* threads waiting for ka_writing to clear */
	int ka_ms;              /* interval */
	struct timespec ka_last;        /* when we last sent anything */
	unsigned long ka_sent;  /* keepalives sent, for logs and tests */
	pthread_mutex_t ka_lock;        /* also the TLS lock (tls_conn.lock) */
	pthread_cond_t ka_cond;
	pthread_t ka_thread;
};

void wireio_init(struct wireio *w, struct tls_conn *t, enum wire_role role);
void wireio_free(struct wireio *w);
/* 0, or -1 with w->err. */
int  wireio_send(struct wireio *w, const struct wire_msg *m);
/*
 * The next message other than a keepalive; wire_msg_free it.  -1 with
 * w->err on a closed connection, timeout, protocol violation (the peer
 * is told), or an ERROR from the peer (w->peer_error set).
 */
int  wireio_recv(struct wireio *w, struct wire_msg *m);
/*
 * Without waiting for one: 1 and the next message other than a
 * keepalive when input is at hand (the rest of a started frame is
 * waited for), 0 when there is none, -1 as wireio_recv.
 */
int  wireio_poll(struct wireio *w, struct wire_msg *m);
/* Tell the peer why we stop (best effort); the text goes to w->err. */
void wireio_fail(struct wireio *w, uint32_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Exchange hellos (the client speaks first).  Our capabilities go out,
 * the peer's hello comes back.  0 or -1.
 */
int  wireio_hello(struct wireio *w, uint32_t caps, uint32_t stream_max,
    struct wire_hello *peer);
/*
 * After the hellos: a thread sends KEEPALIVE whenever this end has sent
 * nothing for interval_ms, so a peer waiting on us while we are busy
 * (the kernel's send, a fast-forward, a syncfs, a long apply) does not
 * take us for dead.  It never cuts into a message, and stops at the
 * first ERROR either way.  wireio_free stops it.  0 or -1.
 */
int  wireio_keepalive_start(struct wireio *w, int interval_ms);
/*
 * Whether the last failure was a timeout of ours (the peer sent nothing,
 * or accepted nothing, for the connection's timeout).
 */
bool wireio_timed_out(const struct wireio *w);

#endif
