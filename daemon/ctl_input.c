/*
 * Helpers shared by btrsendctl subcommands.  They live in the library,
 * not in btrsendctl.c, so that fuzz targets and tests linking every
 * library source (ctl_*.c included) resolve them.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "daemon/ctl.h"
#include "daemon/log.h"

int
ctl_open_input(const char *path)
{
	int fd;

	if (path == NULL || strcmp(path, "-") == 0)
		return STDIN_FILENO;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		log_warn("%s", path);
	return fd;
}
