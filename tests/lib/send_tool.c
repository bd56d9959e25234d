/*
 * Test driver for the send engine and snapshots (used by
 * tests/integration/send_*.sh):
 *
 *   send_tool cancel N SNAPSHOT        cancel after N units while the
 *                                      kernel is blocked on the pipe; check
 *                                      that no fd and no thread is left
 *   send_tool skip N HEX OUT SNAP...   fast-forward N commands checking the
 *                                      digest (SEND_TOOL_PROTO=2: version 2),
 *                                      write the rest to OUT
 *   send_tool describe [-p P] [-c C]... SNAP...
 *                                      one line per ioctl: path, uuid,
 *                                      parent uuid or "-", clone uuids
 *   send_tool snapcreate SRC DIR JOB EPOCH
 *   send_tool snaplist DIR JOB
 *   send_tool snapdelete DIR NAME
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "proto/base/log.h"
#include "engine/send.h"
#include "engine/snapshot.h"

static int
count_dir(const char *path)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(path)) == NULL)
		fatal("%s", path);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - (strcmp(path, "/proc/self/fd") == 0);  /* opendir's own fd */
}

/* State letter and wchan of the first thread that is not the main one. */
static int
other_thread(char *state, char *wchan, size_t wlen)
{
	char path[300], buf[512], *p;
	struct dirent *de;
	pid_t self = getpid();
	DIR *d;
	FILE *f;
	int found = 0;

	if ((d = opendir("/proc/self/task")) == NULL)
		return 0;
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == self)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    (p = strrchr(buf, ')')) != NULL) {
			*state = p[2];
			found = 1;
		}
		fclose(f);
		snprintf(path, sizeof(path), "/proc/self/task/%s/wchan", de->d_name);
		wchan[0] = '\0';
		if ((f = fopen(path, "r")) != NULL) {
			if (fgets(wchan, (int)wlen, f) == NULL)
				wchan[0] = '\0';
			fclose(f);
		}
	}
	closedir(d);
	return found;
}

static int
tool_cancel(int argc, char **argv)
{
	const char *snaps[1];
	struct send_params p;
	struct send_error e;
	struct send_unit u;
	struct send *s;
	char state = '?', wchan[64] = "";
	long n, i;
	int fds0, blocked = 0;

	if (argc != 3)
		fatalx("usage: cancel N SNAPSHOT");
	n = atol(argv[1]);
	snaps[0] = argv[2];
	memset(&p, 0, sizeof(p));
	p.snapshots = snaps;
	p.nsnapshots = 1;
	p.proto = 1;
	p.pipe_size = 65536;
	fds0 = count_dir("/proc/self/fd");
	if (send_start(&s, &p, &e) == -1)
		fatalx("start: %s", e.msg);
	for (i = 0; i < n; i++)
		if (send_next(s, &u, &e) != 1)
			fatalx("stream ended after %ld units: %s", i, e.msg);
	/* The kernel fills the pipe, then sleeps in pipe_write. */
	for (i = 0; i < 500 && !blocked; i++) {
		usleep(10000);
		if (other_thread(&state, wchan, sizeof(wchan)) && state == 'S')
			blocked = 1;
	}
	if (!blocked)
		fatalx("the ioctl thread never blocked (state %c)", state);
	printf("ioctl thread blocked: state %c wchan %s\n", state,
	    wchan[0] ? wchan : "?");
	send_free(s);
	if (count_dir("/proc/self/task") != 1)
		fatalx("a thread is left after cancel");
	if (count_dir("/proc/self/fd") != fds0)
		fatalx("fds leaked: %d before, %d after", fds0,
		    count_dir("/proc/self/fd"));
	printf("cancelled after %ld units: no thread, no fd left\n", n);
	return 0;
}

static int
tool_skip(int argc, char **argv)
{
	struct stream_digest want;
	struct send_params p;
	struct send_error e;
	struct send_unit u;
	struct send *s;
	FILE *out;
	int rc;

	if (argc < 5)
		fatalx("usage: skip N HEX OUT SNAPSHOT...");
	if (stream_digest_parse(&want, argv[2]) == -1)
		fatalx("bad digest %s", argv[2]);
	memset(&p, 0, sizeof(p));
	p.snapshots = (const char *const *)&argv[4];
	p.nsnapshots = (size_t)(argc - 4);
	/* SEND_TOOL_PROTO=2: a full v2 send carries the flag pass */
	p.proto = getenv("SEND_TOOL_PROTO") != NULL ?
	    (uint32_t)atoi(getenv("SEND_TOOL_PROTO")) : 1;
	if (send_start(&s, &p, &e) == -1)
		fatalx("start: %s", e.msg);
	if (send_skip(s, strtoull(argv[1], NULL, 10), &want, &e) == -1) {
		fprintf(stderr, "send_tool: skip: %s [%s]\n", e.msg,
		    err_class_name(e.cls));
		send_free(s);
		return 1;
	}
	if ((out = fopen(argv[3], "w")) == NULL)
		fatal("%s", argv[3]);
	while ((rc = send_next(s, &u, &e)) == 1)
		if (fwrite(u.raw, 1, u.len, out) != u.len)
			fatal("write");
	send_free(s);
	if (fclose(out) != 0 || rc == -1)
		fatalx("send: %s", e.msg);
	return 0;
}

static int
tool_describe(int argc, char **argv)
{
	static const char *clones[64];
	struct send_item_desc d;
	struct send_params p;
	struct send_error e;
	struct send *s;
	char u[37];
	size_t i, j;
	int c;

	memset(&p, 0, sizeof(p));
	p.proto = 1;
	p.clones = clones;
	optind = 1;
	while ((c = getopt(argc, argv, "c:p:")) != -1) {
		if (c == 'p')
			p.parent = optarg;
		else if (c == 'c' && p.nclones < 64)
			clones[p.nclones++] = optarg;
		else
			fatalx("usage: describe [-p P] [-c C]... SNAP...");
	}
	p.snapshots = (const char *const *)&argv[optind];
	p.nsnapshots = (size_t)(argc - optind);
	if (send_start(&s, &p, &e) == -1)
		fatalx("start: %s", e.msg);
	for (i = 0; i < send_nitems(s); i++) {
		if (send_describe(s, i, &d) == -1)
			fatalx("describe %zu", i);
		uuid_unparse(d.uuid, u);
		printf("%s %s", d.path, u);
		if (d.has_parent)
			uuid_unparse(d.parent_uuid, u);
		printf(" %s", d.has_parent ? u : "-");
		for (j = 0; j < d.nclones; j++) {
			uuid_unparse(d.clone_uuids[j], u);
			printf(" %s", u);
		}
		printf("\n");
	}
	send_free(s);
	return 0;
}

static int
tool_snap(int argc, char **argv)
{
	char err[512], name[SNAP_NAME_MAX + 1], u[37], pu[37], ru[37];
	struct snap_info *v;
	size_t n, i;

	if (strcmp(argv[0], "snapcreate") == 0 && argc == 5) {
		if (snapshot_create(argv[1], argv[2], argv[3], atoll(argv[4]),
		    name, sizeof(name), err, sizeof(err)) == -1)
			fatalx("%s", err);
		printf("%s\n", name);
		return 0;
	}
	if (strcmp(argv[0], "snapdelete") == 0 && argc == 3) {
		if (snapshot_delete(argv[1], argv[2], 1, err, sizeof(err)) == -1)
			fatalx("%s", err);
		return 0;
	}
	if (strcmp(argv[0], "snaplist") == 0 && argc == 3) {
		if (snapshot_list(argv[1], argv[2], &v, &n, err, sizeof(err)) == -1)
			fatalx("%s", err);
		for (i = 0; i < n; i++) {
			uuid_unparse(v[i].uuid, u);
			uuid_unparse(v[i].parent_uuid, pu);
			uuid_unparse(v[i].received_uuid, ru);
			printf("%s %lld %u %s %s %s %llu %s\n", v[i].name,
			    (long long)v[i].time, v[i].seq, u, pu, ru,
			    (unsigned long long)v[i].ctransid,
			    v[i].read_only ? "ro" : "rw");
		}
		free(v);
		return 0;
	}
	fatalx("bad snapshot command");
}

int
main(int argc, char **argv)
{
	log_init("send_tool", 1);
	if (argc < 2)
		fatalx("usage: send_tool cancel|skip|snapcreate|snaplist|snapdelete ...");
	if (strcmp(argv[1], "cancel") == 0)
		return tool_cancel(argc - 1, argv + 1);
	if (strcmp(argv[1], "skip") == 0)
		return tool_skip(argc - 1, argv + 1);
	if (strcmp(argv[1], "describe") == 0)
		return tool_describe(argc - 1, argv + 1);
	return tool_snap(argc - 1, argv + 1);
}
