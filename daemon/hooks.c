/*
 * A job's on-success and on-failure commands (see hooks.h), run as
 * children of the parent with the run's outcome in their environment.
 */
#include <sys/queue.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "daemon/children.h"
#include "daemon/daemon.h"
#include "daemon/hooks.h"
#include "proto/base/log.h"
#include "daemon/parent.h"
#include "daemon/worker/worker.h"

/*
 * The targets a hook's outcome concerns, space-separated: on success all
 * the run sent to; on failure those that failed, or all of them when the
 * run failed before reaching any (then the result lists none).
 */
static void
hook_targets(const struct child *c, int failed, char *buf, size_t len)
{
	const struct ipc_target_result *tr;
	size_t off = 0;
	uint32_t i;
	int n;

	buf[0] = '\0';
	for (i = 0; c->have_result && i < c->res.ntargets; i++) {
		tr = &c->res.targets[i];
		if (failed && tr->status == RUN_OK)
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off ? " " : "",
		    tr->name);
		if (n < 0 || (size_t)n >= len - off) {
			buf[off] = '\0';
			break;
		}
		off += (size_t)n;
	}
}

/* Start cmd with the four variables; the child, or NULL. */
static struct child *
hook_spawn(enum child_kind kind, const char *job, const char *which,
    const char *cmd, const char *targets, const char *snapshot,
    const char *error)
{
	struct child *c = NULL;
	char *env[5];
	pid_t pid;

	if (asprintf(&env[0], "JOB=%s", job) == -1 ||
	    asprintf(&env[1], "TARGET=%s", targets) == -1 ||
	    asprintf(&env[2], "SNAPSHOT=%s", snapshot) == -1 ||
	    asprintf(&env[3], "ERROR=%s", error) == -1)
		fatalx("out of memory");
	env[4] = NULL;
	pid = worker_spawn_command(cmd, env);
	if (pid == -1)
		log_warn("job %s: %s: fork", job, which);
	else
		c = child_new(kind, pid, job, which, P.hook_timeout);
	free(env[0]);
	free(env[1]);
	free(env[2]);
	free(env[3]);
	return c;
}

void
hook_run(const struct child *c, const char *which, const char *cmd,
    const char *snapshot, const char *error, int failed)
{
	char targets[1024];

	if (cmd == NULL || P.stopping)
		return;
	hook_targets(c, failed, targets, sizeof(targets));
	hook_spawn(CHILD_HOOK, c->job, which, cmd, targets, snapshot, error);
}

struct child *
hook_before(const char *job, const char *cmd, char *const *send_to,
    size_t nsend_to)
{
	char targets[1024];
	size_t i, off = 0;
	int n;

	targets[0] = '\0';
	for (i = 0; i < nsend_to; i++) {
		n = snprintf(targets + off, sizeof(targets) - off, "%s%s",
		    off ? " " : "", send_to[i]);
		if (n < 0 || (size_t)n >= sizeof(targets) - off) {
			targets[off] = '\0';
			break;
		}
		off += (size_t)n;
	}
	return hook_spawn(CHILD_BEFORE, job, "before-snapshot hook", cmd,
	    targets, "", "");
}

void
hook_run_env(const char *job, const char *which, const char *cmd,
    char *const env[])
{
	pid_t pid;

	if (cmd == NULL || P.stopping)
		return;
	if ((pid = worker_spawn_command(cmd, env)) == -1)
		log_warn("job %s: %s: fork", job, which);
	else
		child_new(CHILD_HOOK, pid, job, which, DAEMON_HOOK_TIMEOUT);
}

void
hook_done(struct child *c, int wstatus)
{
	char how[128];

	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
		log_info("job %s: %s done", c->job, c->what);
		return;
	}
	worker_status_str(wstatus, how, sizeof(how));
	log_warnx("job %s: %s failed: %s%s", c->job, c->what, how,
	    !c->killed ? "" : P.stopping ? " (daemon stopping)" :
	    " (timed out)");
}
