/*
 * stdin-from FILE /ABS/PATH/CMD [ARG...]
 *
 * Open FILE on standard input and exec CMD (no fork, no shell), the way
 * qmail-local hands a message to a |command. scripts/bench uses it with
 * `hyperfine -N` when hyperfine is older than 1.16 and has no --input.
 *
 * Built with -DNOLIBC on x86_64 Linux (cc -O2 -static -nostdlib
 * -fno-stack-protector -DNOLIBC): then it is a few hundred bytes of code
 * that makes four system calls and its own start-up cost is lost in the
 * noise. Otherwise it is an ordinary C program (the PATH is not searched
 * in either case: CMD must be a path).
 */

#if defined(NOLIBC) && defined(__x86_64__) && defined(__linux__)

static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}

enum { SYS_close = 3, SYS_open = 2, SYS_dup2 = 33, SYS_execve = 59, SYS_exit = 60 };

static void say(const char *s)
{
	long n = 0;
	while (s[n])
		n++;
	sys3(1, 2, (long)s, n); /* write(2, ...) */
}

__attribute__((used)) void stdin_from_main(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;
	long fd;

	if (argc < 3) {
		say("usage: stdin-from FILE /PATH/CMD [ARG...]\n");
		sys3(SYS_exit, 127, 0, 0);
	}
	fd = sys3(SYS_open, (long)argv[1], 0 /* O_RDONLY */, 0);
	if (fd < 0) {
		say("stdin-from: cannot open FILE\n");
		sys3(SYS_exit, 127, 0, 0);
	}
	if (fd != 0) {
		sys3(SYS_dup2, fd, 0, 0);
		sys3(SYS_close, fd, 0, 0);
	}
	sys3(SYS_execve, (long)argv[2], (long)(argv + 2), (long)envp);
	say("stdin-from: cannot exec CMD\n");
	sys3(SYS_exit, 127, 0, 0);
}

__asm__(".globl _start\n"
	"_start:\n"
	"  mov %rsp, %rdi\n"
	"  and $-16, %rsp\n"
	"  call stdin_from_main\n"
	"  hlt\n");

#else

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int fd;

	if (argc < 3) {
		fputs("usage: stdin-from FILE /PATH/CMD [ARG...]\n", stderr);
		return 127;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 127;
	}
	if (fd != 0) {
		if (dup2(fd, 0) < 0) {
			perror("dup2");
			return 127;
		}
		close(fd);
	}
	execv(argv[2], argv + 2);
	perror(argv[2]);
	return 127;
}

#endif
