/*!
Every program keeps its documented exit codes when standard output or
standard error is closed or a broken pipe (SPEC section 9): no exit 101,
no panic message, no death by SIGPIPE. A closed standard output must not
let a file the program opens later (a log) receive what it prints.
*/

use std::os::unix::io::FromRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::mail::{Mail, Part};
use crate::util::{Dir, Layer, QMVC};

/// How standard output and standard error are spoiled.
#[derive(Clone, Copy, Debug)]
enum Spoiled {
    /// Both open and read: the reference run.
    Fine,
    /// Both a pipe whose reading end is closed.
    BrokenPipe,
    /// Both closed before exec.
    Closed,
}

/// Runs `program args` with `stdin` (a file) and the environment of
/// `dir`'s qmvc runs, its output spoiled as `how`; returns the exit code
/// (or 128 + signal).
fn exit_code(
    dir: &Dir,
    program: &Path,
    args: &[&str],
    stdin: &Path,
    how: Spoiled,
) -> i32 {
    let mut cmd = Command::new(program);
    cmd.args(args).env_clear().envs(dir.environment());
    cmd.current_dir(dir.home());
    cmd.stdin(std::fs::File::open(stdin).unwrap());
    match how {
        Spoiled::Fine => {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        Spoiled::BrokenPipe => {
            let mut fds = [0; 2];
            assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
            // The reading end goes at once: every write gets EPIPE.
            unsafe { libc::close(fds[0]) };
            let write = unsafe { std::fs::File::from_raw_fd(fds[1]) };
            cmd.stdout(write.try_clone().unwrap()).stderr(write);
        }
        Spoiled::Closed => unsafe {
            cmd.pre_exec(|| {
                libc::close(1);
                libc::close(2);
                Ok(())
            });
        },
    }
    let status = cmd.output().unwrap().status;
    use std::os::unix::process::ExitStatusExt;
    status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// The same code with output fine, broken and closed.
fn same_code(dir: &Dir, program: &Path, args: &[&str], stdin: &Path) -> i32 {
    let fine = exit_code(dir, program, args, stdin, Spoiled::Fine);
    for how in [Spoiled::BrokenPipe, Spoiled::Closed] {
        let code = exit_code(dir, program, args, stdin, how);
        assert_eq!(
            code,
            fine,
            "{} {args:?} with output {how:?}",
            program.display()
        );
    }
    fine
}

qmvctest!(qmvc_keeps_its_codes, |dir: Dir| {
    let qmvc = Path::new(QMVC);
    let clean = dir.message(&Mail::new().bytes());
    let bad = dir.message(
        &Mail::new()
            .mixed(vec![
                Part::text("See attachment.\n"),
                Part::attachment("a.exe", "application/octet-stream", b"x"),
            ])
            .bytes(),
    );
    assert_eq!(same_code(&dir, qmvc, &["-h"], &clean), 0);
    assert_eq!(same_code(&dir, qmvc, &["-V"], &clean), 0);
    assert_eq!(same_code(&dir, qmvc, &["-t"], &bad), 99);
    assert_eq!(same_code(&dir, qmvc, &["-t"], &clean), 0);
    assert_eq!(same_code(&dir, qmvc, &["-L"], &clean), 0);
    assert_eq!(same_code(&dir, qmvc, &["-x"], &clean), 111);
    dir.filters("badfilename ; bounce ; ; ;\n");
    assert_eq!(same_code(&dir, qmvc, &[], &bad), 100);
    assert_eq!(same_code(&dir, qmvc, &[], &clean), 0);
    // With standard output closed, the log opened later must not become
    // fd 1 and receive the bounce reason.
    for line in dir.log(Layer::System) {
        assert!(line.raw.split('\t').count() >= 11, "{:?}", line.raw);
        assert!(!line.raw.contains("rejected"), "{:?}", line.raw);
    }
});

qmvctest!(aux_programs_keep_their_codes, |dir: Dir| {
    let empty = dir.message(b"");
    let bin = Path::new(QMVC).parent().unwrap();
    for program in std::iter::once("plainmail").chain(crate::util::AUX) {
        let path = bin.join(program);
        let code = same_code(&dir, &path, &["-h"], &empty);
        assert!(code != 101, "{program} -h: {code}");
    }
});
