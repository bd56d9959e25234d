#include <inttypes.h>
#include <stdio.h>

#include "proto/base/fmt.h"

void
fmt_size(char *buf, size_t len, uint64_t bytes, int flags)
{
	static const char units[] = "BKMGTPE";
	int sh = flags & FMT_SIZE_SHORT;
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u < sizeof(units) - 2) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 "%s", bytes, sh ? "B" : " B");
	else
		snprintf(buf, len, "%.1f%s%c%s", v, sh ? "" : " ", units[u],
		    sh ? "" : "iB");
}
