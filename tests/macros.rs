/*!
`qmvctest!`: one end-to-end test with its own hermetic
[`crate::util::Dir`]; `dotqmailtest!`: a delivery test run twice, through
the qmail-local emulator and through the real qmail-local.
*/

/// `qmvctest!(name, |dir: Dir| { ... })` defines the `#[test]` `name`,
/// which runs the closure with a fresh temporary directory named after
/// the test.
#[macro_export]
macro_rules! qmvctest {
    ($name:ident, $fun:expr) => {
        #[test]
        fn $name() {
            let dir = $crate::util::Dir::new(stringify!($name));
            let fun: fn($crate::util::Dir) = $fun;
            fun(dir);
        }
    };
}

/// `dotqmailtest!(name, |dir: Dir| { ... })` defines the `#[test]` `name`
/// as [`qmvctest!`] does, where [`crate::util::Dir::deliver`] is the
/// qmail-local emulator, and the `#[test]` `name::via_qmail_local`, the
/// same closure with a directory whose `deliver` runs the real
/// qmail-local (built once from `../shared/qmail`, see
/// [`crate::qmail_local`]), with the same assertions. The test's
/// dot-qmail programs must be `qmvc` lines: the real run sees them
/// through a recording `qmvc` first in `PATH`.
#[macro_export]
macro_rules! dotqmailtest {
    ($name:ident, $fun:expr) => {
        #[test]
        fn $name() {
            let dir = $crate::util::Dir::new(stringify!($name));
            let fun: fn($crate::util::Dir) = $fun;
            fun(dir);
        }

        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn via_qmail_local() {
                let dir =
                    $crate::util::Dir::new(concat!(stringify!($name), "-ql"));
                let fun: fn($crate::util::Dir) = $fun;
                if dir.use_real_qmail_local() {
                    fun(dir);
                }
            }
        }
    };
}
