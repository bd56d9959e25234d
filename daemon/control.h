/*
 * The control socket in btrsendd's parent (docs/control.md): a unix
 * stream socket at conf->control_socket, mode 0660, group
 * conf->control_group.  Root may act; members of the group may read
 * (status, snapshots, history, monitor); anyone else is refused.
 */
#ifndef BTRSEND_DAEMON_CONTROL_H
#define BTRSEND_DAEMON_CONTROL_H

#include <event2/event.h>

#define CONTROL_PER_UID		16		/* connections per uid */
#define CONTROL_CLIENTS_MAX	256		/* connections in all */
#define CONTROL_OUT_MAX		(8u << 20)	/* unsent reply bytes */

/* Bind the socket of parent_conf() on base; -1 after logging why. */
int	control_start(struct event_base *base);
/* Close every connection and remove the socket. */
void	control_stop(void);

#endif
