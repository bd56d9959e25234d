/*
 * The receiving side of btrsendd: listen on the receive block's
 * addresses inside the parent's event loop, authenticate each client
 * there (daemon/handshake.h: the TLS handshake never waits, and is
 * bounded in time and number), and only then hand the connection to a
 * receive worker process forked for it, at most max-transfers-per-client
 * of them for one client.  Parsing and file system work happen in the
 * worker, so a slow or hostile client never stalls the parent or other
 * clients.
 */
#ifndef BTRSEND_DAEMON_LISTENER_H
#define BTRSEND_DAEMON_LISTENER_H

#include <stdbool.h>
#include <sys/types.h>

struct conf;
struct event_base;

/*
 * Bind every listen address of (*confp)->receive and start accepting.
 * confp is read at each accept, so a reload's new client list applies to
 * new connections.  0, or -1 after logging why.
 */
int  listener_start(struct event_base *base, struct conf *const *confp);
/* A reaped pid: true (and logged) when it was a receive worker. */
bool listener_reaped(pid_t pid, int wstatus);
/* Stop accepting and ask running receive workers to checkpoint and exit. */
void listener_stop(void);
/* Receive workers still running. */
unsigned listener_nworkers(void);

#endif
