/*
 * A btrsendd to talk to, as `send --to`, `ls --from` and `restore --from`
 * name it (ctl.h): a target of the configuration, whose address,
 * certificate name, compression, bandwidth and timeout it gives, or
 * HOST[:PORT] itself; and the configuration's tls block either way.
 */
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "daemon/ctl/ctl.h"
#include "proto/base/log.h"
#include "proto/msg/wire.h"

int
ctl_net_resolve(const char *conf_path, const char *to, const char *what,
    struct ctl_net *out)
{
	struct conf_errors errs;
	const struct conf_target *tg;
	struct conf *conf;
	char *colon;

	memset(out, 0, sizeof(*out));
	if ((conf = conf_load(conf_path, &errs)) == NULL) {
		conf_errors_print(stderr, &errs);
		conf_errors_free(&errs);
		return -1;
	}
	if (!conf->tls_set) {
		log_warnx("%s: %s has no tls block", what, conf_path);
		conf_free(conf);
		return -1;
	}
	out->tls.certificate = xstrdup(conf->tls_certificate);
	out->tls.key = xstrdup(conf->tls_key);
	out->tls.ca = xstrdup(conf->tls_ca);
	if ((tg = conf_target_find(conf, to)) != NULL) {
		snprintf(out->host, sizeof(out->host), "%s", tg->address.host);
		snprintf(out->port, sizeof(out->port), "%u", tg->address.port);
		snprintf(out->name, sizeof(out->name), "%s", tg->cert_name ?
		    tg->cert_name : tg->address.host);
		out->zstd = tg->compress == CONF_COMPRESS_ZSTD;
		out->limit = tg->bandwidth;
		out->timeout = tg->timeout;
	} else {
		snprintf(out->host, sizeof(out->host), "%s", to);
		snprintf(out->port, sizeof(out->port), "%d", WIRE_DEFAULT_PORT);
		if ((colon = strrchr(out->host, ':')) != NULL) {
			snprintf(out->port, sizeof(out->port), "%s", colon + 1);
			*colon = '\0';
		}
		snprintf(out->name, sizeof(out->name), "%s", out->host);
	}
	conf_free(conf);
	return 0;
}
