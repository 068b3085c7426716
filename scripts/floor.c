/*
 * floor: reads standard input to its end and exits 0.
 *
 * The floor of a process per message for scripts/bench: what any filter
 * started by qmail-local for every message pays at least (fork, exec of a
 * static binary, reading the message), with nothing else. Built static
 * (cc -O2 -static), as scripts/build builds qmvc.
 */
#include <unistd.h>

int main(void)
{
	static char buf[65536];
	for (;;) {
		ssize_t n = read(0, buf, sizeof buf);
		if (n == 0)
			return 0;
		if (n < 0)
			return 111;
	}
}
