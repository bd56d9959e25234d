/*
 * The receiving side of btrsendd: listen on the receive block's
 * addresses, hand each connection to a receive worker process, reap them.
 */
#ifndef BTRSEND_DAEMON_LISTENER_H
#define BTRSEND_DAEMON_LISTENER_H

struct conf;

/* Runs until SIGTERM or SIGINT; the process exit status. */
int listener_run(const struct conf *conf);

#endif
