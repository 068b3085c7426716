/*
 * bench-loop FILE ROUNDS LOOP NAME CMD [ARG...] [-- NAME CMD [ARG...]]...
 *
 * Times loops of LOOP whole-process deliveries of the message FILE, the
 * way qmail-local runs a |command: for each delivery FILE is opened on
 * standard input (a regular, seekable file), CMD (a path, no PATH search,
 * no shell) is started with posix_spawn, standard output and error go to
 * /dev/null, and the loop waits for it. The environment is this
 * program's (scripts/bench runs it under env -i with the qmail
 * variables).
 *
 * The candidates alternate: each of ROUNDS + 1 rounds times one loop of
 * each candidate, the order rotated by one every round, so that a drift
 * of the machine's load touches every candidate alike. Round 0 is a
 * warm-up (page cache, binaries) and is not printed. For every other
 * loop one line goes to standard output:
 *
 *     NAME<TAB>ROUND<TAB>SECONDS<TAB>EXITCODES<TAB>CPUSECONDS
 *
 * where SECONDS is the wall time of the whole loop, EXITCODES the
 * distinct exit codes seen (comma-separated) and CPUSECONDS the user and
 * system time of the loop's children (getrusage RUSAGE_CHILDREN), which
 * a busy machine disturbs less than the wall time. Exit status 0, or 2 on a
 * usage error or when a command cannot be started.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct cand {
	const char *name;
	char **argv;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double children_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int usage(void)
{
	fprintf(stderr, "usage: bench-loop FILE ROUNDS LOOP NAME CMD [ARG...]"
			" [-- NAME CMD [ARG...]]...\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 6)
		return usage();
	const char *file = argv[1];
	int rounds = atoi(argv[2]);
	int loop = atoi(argv[3]);
	if (rounds < 1 || loop < 1)
		return usage();
	struct cand cands[16];
	int n = 0;
	for (int i = 4; i < argc;) {
		if (n == 16 || i + 1 >= argc)
			return usage();
		cands[n].name = argv[i];
		cands[n].argv = &argv[i + 1];
		int j = i + 1;
		while (j < argc && strcmp(argv[j], "--") != 0)
			j++;
		if (j < argc)
			argv[j] = NULL;
		n++;
		i = j + 1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, file, O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	for (int r = 0; r <= rounds; r++) {
		for (int k = 0; k < n; k++) {
			struct cand *c = &cands[(k + r) % n];
			int seen[256] = {0};
			double c0 = children_cpu();
			double t0 = now();
			for (int i = 0; i < loop; i++) {
				pid_t pid;
				int e = posix_spawn(&pid, c->argv[0], &fa, NULL,
						    c->argv, environ);
				if (e != 0) {
					fprintf(stderr, "bench-loop: %s: %s\n",
						c->argv[0], strerror(e));
					return 2;
				}
				int status;
				if (waitpid(pid, &status, 0) != pid) {
					perror("bench-loop: waitpid");
					return 2;
				}
				seen[WIFEXITED(status) ? WEXITSTATUS(status)
						       : 255] = 1;
			}
			double t = now() - t0;
			double cpu = children_cpu() - c0;
			if (r == 0)
				continue;
			printf("%s\t%d\t%.6f\t", c->name, r, t);
			const char *sep = "";
			for (int code = 0; code < 256; code++)
				if (seen[code]) {
					printf("%s%d", sep, code);
					sep = ",";
				}
			printf("\t%.6f\n", cpu);
			fflush(stdout);
		}
	}
	return 0;
}
