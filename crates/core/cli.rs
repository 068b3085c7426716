/*!
The command line, getopts style: `qmvc [-u] [-n] [-c DIR] [-v PREPEND] [-t]
[-L] [-C] [-z] [-s] [-h] [-V]`, options groupable (`-uv-`, `-nu`).
*/

use std::path::PathBuf;

/// What qmvc was asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Filter the message on stdin (the dot-qmail case).
    Deliver,
    /// `-t`: analyse, print, change nothing.
    Test,
    /// `-L`: check the profile.
    Lint,
    /// `-C`: show the effective profile and where each file comes from.
    Config,
    /// `-z`: remove stale files from tmp/.
    Cleanup,
    /// `-s`: scanner status.
    Status,
    /// `-h`.
    Help,
    /// `-V`.
    Version,
}

/// The parsed command line.
#[derive(Clone, Debug)]
pub struct Options {
    pub mode: Mode,
    pub user: bool,
    pub noscan: bool,
    pub domain: Option<PathBuf>,
    pub prepend: Option<String>,
}

pub const USAGE: &str = "usage: qmvc [-u] [-n] [-c DIR] [-v PREPEND] \
[-t] [-L] [-C] [-z] [-s] [-h] [-V]";

fn spec() -> getopts::Options {
    let mut o = getopts::Options::new();
    o.parsing_style(getopts::ParsingStyle::StopAtFirstFree);
    o.optflag("u", "", "user mode: use the layer $HOME/qmvc");
    o.optflag("n", "", "honour noscantypes");
    o.optopt("c", "", "domain layer directory", "DIR");
    o.optopt("v", "", "virtual domain prefix of the local part", "PREPEND");
    o.optflag("t", "", "test: analyse and print, change nothing");
    o.optflag("L", "", "lint the profile");
    o.optflag("C", "", "show the effective profile");
    o.optflag("z", "", "remove stale files from tmp/");
    o.optflag("s", "", "scanner status");
    o.optflag("h", "", "help");
    o.optflag("V", "", "version");
    o
}

/// Parses `args` (without the program name). `Err` holds the reason;
/// the caller prints usage and exits 111 so a typo defers mail.
pub fn parse(args: &[String]) -> Result<Options, String> {
    if let Some(options) = quick(args) {
        return Ok(options);
    }
    let m = spec().parse(args).map_err(|e| e.to_string())?;
    if let Some(extra) = m.free.first() {
        return Err(format!("unexpected argument {extra:?}"));
    }
    let modes = [
        (m.opt_present("h"), Mode::Help),
        (m.opt_present("V"), Mode::Version),
        (m.opt_present("L"), Mode::Lint),
        (m.opt_present("C"), Mode::Config),
        (m.opt_present("z"), Mode::Cleanup),
        (m.opt_present("s"), Mode::Status),
        (m.opt_present("t"), Mode::Test),
    ];
    let chosen: Vec<Mode> =
        modes.iter().filter(|(on, _)| *on).map(|(_, mode)| *mode).collect();
    let mode = match chosen.as_slice() {
        [] => Mode::Deliver,
        [one] => *one,
        [Mode::Help, ..] => Mode::Help,
        _ => {
            return Err(
                "options -t, -L, -C, -z, -s, -h, -V exclude each other".into(),
            )
        }
    };
    let domain = m.opt_str("c").map(PathBuf::from);
    if let Some(dir) = &domain {
        if dir.as_os_str().is_empty() {
            return Err("option -c needs a directory".into());
        }
    }
    Ok(Options {
        mode,
        user: m.opt_present("u"),
        noscan: m.opt_present("n"),
        domain,
        prepend: m.opt_str("v"),
    })
}

/// The command lines of a delivery, `-u`, `-n`, both or none (each flag
/// at most once, alone or grouped), parsed without building getopts'
/// table, which costs an allocation per option in every run; `None` for
/// anything else, which [`parse`] gives to getopts.
fn quick(args: &[String]) -> Option<Options> {
    let (mut user, mut noscan) = (false, false);
    for arg in args {
        let flags = arg.strip_prefix('-').filter(|f| !f.is_empty())?;
        for flag in flags.chars() {
            let seen = match flag {
                'u' => &mut user,
                'n' => &mut noscan,
                _ => return None,
            };
            if *seen {
                return None;
            }
            *seen = true;
        }
    }
    Some(Options {
        mode: Mode::Deliver,
        user,
        noscan,
        domain: None,
        prepend: None,
    })
}

/// The help text for `-h`.
pub fn help() -> String {
    spec().usage(USAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn grouped_options() {
        let o = parse(&args(&["-uv-"])).unwrap();
        assert!(o.user);
        assert_eq!(o.prepend.as_deref(), Some("-"));
        let o = parse(&args(&["-nu", "-c", "/d", "-v", "x-"])).unwrap();
        assert!(o.user && o.noscan);
        assert_eq!(o.domain, Some(PathBuf::from("/d")));
        assert_eq!(o.prepend.as_deref(), Some("x-"));
        let o = parse(&args(&["-nuc/d"])).unwrap();
        assert_eq!(o.domain, Some(PathBuf::from("/d")));
    }

    #[test]
    fn modes() {
        assert_eq!(parse(&args(&["-t"])).unwrap().mode, Mode::Test);
        assert_eq!(parse(&args(&["-uL"])).unwrap().mode, Mode::Lint);
        assert_eq!(parse(&[]).unwrap().mode, Mode::Deliver);
        assert!(parse(&args(&["-tL"])).is_err());
    }

    /// The quick path gives what getopts gives, and leaves everything
    /// else (repeated flags included) to it.
    #[test]
    fn quick_path_agrees_with_getopts() {
        for list in
            [&[][..], &["-u"], &["-n"], &["-un"], &["-nu"], &["-u", "-n"]]
        {
            let quick = quick(&args(list)).unwrap();
            let full = spec().parse(args(list)).unwrap();
            assert_eq!(quick.user, full.opt_present("u"), "{list:?}");
            assert_eq!(quick.noscan, full.opt_present("n"), "{list:?}");
            assert_eq!(quick.mode, Mode::Deliver);
            assert!(quick.domain.is_none() && quick.prepend.is_none());
            assert!(full.free.is_empty() && !full.opt_present("t"));
        }
        for list in [
            &["-uu"][..],
            &["-u", "-u"],
            &["-"],
            &["--"],
            &["-ut"],
            &["u"],
            &["-c", "/d"],
        ] {
            assert!(quick(&args(list)).is_none(), "{list:?}");
        }
        assert!(parse(&args(&["-uu"])).is_err());
    }

    #[test]
    fn unknown_options_are_errors() {
        assert!(parse(&args(&["-x"])).is_err());
        assert!(parse(&args(&["-v"])).is_err());
        assert!(parse(&args(&["extra"])).is_err());
    }
}
