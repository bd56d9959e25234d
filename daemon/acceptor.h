/*
 * Accepting on the parent's listening sockets (the control socket, the
 * receive addresses) with one rule for a full process or system: when
 * accept fails for want of descriptors or memory (EMFILE, ENFILE,
 * ENOBUFS, ENOMEM) every socket of the acceptor rests ACCEPTOR_BACKOFF
 * seconds instead of waking the loop at once for the same failure.
 */
#ifndef BTRSEND_DAEMON_ACCEPTOR_H
#define BTRSEND_DAEMON_ACCEPTOR_H

#include <stddef.h>

#define ACCEPTOR_BACKOFF	1	/* seconds */

struct event_base;
struct acceptor;

/* A new connection fd, made with the acceptor's accept4 flags. */
typedef void (*acceptor_cb)(int fd, void *arg);

/* what prefixes its log lines ("control"); flags go to accept4. */
struct acceptor *acceptor_new(struct event_base *base, const char *what,
	    int flags, acceptor_cb cb, void *arg);
/*
 * A non-blocking, close-on-exec TCP socket listening on host:port with
 * SO_REUSEADDR and the given backlog; -1 with what failed in err, which
 * what ("metrics", "receive") prefixes.
 */
int	acceptor_listen_tcp(const char *what, const char *host, unsigned port,
	    int backlog, char *err, size_t errlen);
/* Accept on the listening socket lfd, which the acceptor now owns. */
void	acceptor_add(struct acceptor *a, int lfd);
/* Stop accepting and close every listening socket. */
void	acceptor_free(struct acceptor *a);

#endif
