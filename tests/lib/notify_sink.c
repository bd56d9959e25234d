/*
 * notify_sink SOCKET OUT: stand in for systemd's notification socket.
 * Binds a unix datagram socket at SOCKET and appends every datagram
 * received to OUT, one line per assignment (NAME=value), with a line
 * "--" after each datagram, until killed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto/base/log.h"

int
main(int argc, char **argv)
{
	struct sockaddr_un sun;
	char buf[4096];
	ssize_t n;
	FILE *out;
	int fd;

	log_init("notify_sink", 0);
	if (argc != 3) {
		fprintf(stderr, "usage: notify_sink SOCKET OUT\n");
		return 2;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof(sun.sun_path))
		fatalx("%s: path too long", argv[1]);
	strcpy(sun.sun_path, argv[1]);
	if ((out = fopen(argv[2], "a")) == NULL)
		fatal("%s", argv[2]);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1)
		fatal("socket");
	unlink(argv[1]);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("bind %s", argv[1]);
	for (;;) {
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			fatal("recv");
		buf[n] = '\0';
		fprintf(out, "%s%s--\n", buf,
		    n > 0 && buf[n - 1] == '\n' ? "" : "\n");
		fflush(out);
	}
}
