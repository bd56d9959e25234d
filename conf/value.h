/*
 * Values of btrsend.conf, parsed from one token's text.  Each returns 0,
 * or -1 with *why set to a static phrase saying what is wrong (the caller
 * adds the location and the offending text).
 */
#ifndef BTRSEND_CONF_VALUE_H
#define BTRSEND_CONF_VALUE_H

#include <stdint.h>

#include "conf/conf.h"
#include "proto/base/types.h"

#define CONF_MAX_DURATION (3650ULL * 86400)	/* ten years, in seconds */
#define CONF_HOST_MAX     253

int	conf_parse_number(const char *, uint64_t max, uint64_t *,
	    const char **why);
int	conf_parse_duration(const char *, uint64_t *, const char **why);
int	conf_parse_size(const char *, uint64_t *, const char **why);
int	conf_parse_bool(const char *, int *, const char **why);
int	conf_parse_addr(const char *, struct conf_addr *, const char **why);
int	conf_parse_time(const char *, int *hour, int *minute,
	    const char **why);
int	conf_check_name(const char *, const char **why);
int	conf_check_host(const char *, const char **why);
int	conf_check_group(const char *, const char **why);
int	conf_check_path(const char *, const char **why);
int	conf_check_command(const char *, const char **why);
int	conf_check_timezone(const char *, const char **why);

/* Canonical text of a duration or size, into buf (>= 32 bytes). */
const char *conf_fmt_duration(uint64_t, char *buf, size_t len);
const char *conf_fmt_size(uint64_t, char *buf, size_t len);

#endif
