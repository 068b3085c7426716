/*
 * maxrss FILE /PATH/CMD [ARG...]
 *
 * Run CMD once with FILE on standard input and print "KILOBYTES EXITCODE":
 * the peak resident set size of CMD (ru_maxrss from wait4) and its exit
 * code. scripts/bench uses it for the peak RSS when GNU time (the Debian
 * package "time") is not installed.
 *
 * Why not python3 and getrusage(RUSAGE_CHILDREN)? Linux keeps the high-water
 * mark of the memory a process had before it called exec, so a child forked
 * from python3 never reports less than python's own ~10-15 MB. This small C
 * program has about 1 MB before exec, less than any of the measured tools.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rusage ru;
	int status, fd;
	pid_t pid;

	if (argc < 3) {
		fputs("usage: maxrss FILE /PATH/CMD [ARG...]\n", stderr);
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 2;
	}
	pid = vfork();
	if (pid < 0) {
		perror("vfork");
		return 2;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (fd != 0)
			dup2(fd, 0);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execv(argv[2], argv + 2);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("wait4");
		return 2;
	}
	printf("%ld %d\n", ru.ru_maxrss,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
