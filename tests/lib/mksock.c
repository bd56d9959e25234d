/*
 * mksock PATH...: create unix domain socket inodes (bound, then the
 * socket is closed; the inode stays), since mknod(1) cannot and python3
 * may be absent.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto/base/log.h"

static int
mksock_one(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("%s: path longer than %zu bytes (cd there first)",
		    path, sizeof(sun.sun_path) - 1);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1) {
		log_warn("socket");
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("bind %s", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	int i, rc = 0;

	log_init("mksock", 0);
	if (argc < 2) {
		fprintf(stderr, "usage: mksock PATH...\n");
		return 2;
	}
	for (i = 1; i < argc; i++)
		if (mksock_one(argv[i]) == -1)
			rc = 1;
	return rc;
}
