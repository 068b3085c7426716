/*
 * bench-queue-sink: the "recorder alone" of scripts/bench --queue, a
 * qmail-queue that keeps nothing: reads the message on descriptor 0 and
 * the envelope on descriptor 1, each to its end, and exits 0. Side by
 * side with it, qmvc-queue's added time is what is left.
 */
#include <unistd.h>

static int drain(int fd)
{
	static char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n == 0)
			return 0;
		if (n < 0)
			return 1;
	}
}

int main(void)
{
	if (drain(0) || drain(1))
		return 54;
	return 0;
}
