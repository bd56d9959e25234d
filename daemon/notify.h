#ifndef BTRSEND_DAEMON_NOTIFY_H
#define BTRSEND_DAEMON_NOTIFY_H

#include <stdint.h>

#include "proto/base/log.h"

void	 notify_ready(void);
void	 notify_reloading(void);
void	 notify_stopping(void);
void	 notify_status(const char *fmt, ...) LOG_PRINTF(1, 2);
void	 notify_watchdog(void);
/* WatchdogSec in microseconds, 0 when no watchdog is asked for us. */
uint64_t notify_watchdog_usec(void);

#endif
